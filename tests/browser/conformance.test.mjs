// The conformance page in a real browser, as the demo's admin: the Pluto TV check of the demo
// channel fails with its rules named (the demo's 2 s segments), the demo partner fastplus is
// checked against its own profile (Wurl) with a section for the channel it carries, the
// forms are driven from the keyboard, the pages have no serious accessibility violation, and a
// check runs and reports with JavaScript turned off.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { chromium } from 'playwright-core';
import { LoginPage, chromiumOptions, prepareDemo, screenshot, serve } from './onair.mjs';

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

let browser;
let server;

before(async () => {
  prepareDemo();
  server = await serve();
  browser = await chromium.launch(chromiumOptions);
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

/** The conformance page and the report pages its forms lead to, as a page object. */
class ConformancePage {
  constructor(page, baseUrl) {
    this.page = page;
    this.baseUrl = baseUrl;
  }

  async open() {
    await this.page.goto(`${this.baseUrl}/conformance`);
    await this.page.getByRole('heading', { name: 'Conformance checks' }).waitFor();
  }

  /** The check form of `kind` (`channel` or `partner`) `name`. */
  form(kind, name) {
    return this.page.getByTestId(`check-${kind}-${name}`);
  }

  /**
   * Runs the check of `kind` `name` against `profile` ('' for a partner's own) over `hours`,
   * from the keyboard (Enter in the hours field); resolves once the report page is there.
   */
  async run(kind, name, profile, hours) {
    const form = this.form(kind, name);
    await form.getByLabel(/^Profile/).selectOption(profile);
    const field = form.getByLabel(/^Hours/);
    await field.fill(String(hours));
    // The report page may be the page the form is on: wait for the new one to load.
    await Promise.all([
      this.page.waitForEvent('load', { timeout: 60_000 }),
      field.press('Enter'),
    ]);
    assert.equal(new URL(this.page.url()).pathname, `/conformance/${kind}s/${name}`);
  }

  verdict() {
    return this.page.getByTestId('verdict');
  }

  /** The rules the findings tables list. */
  async findingRules() {
    return this.page.locator('[data-testid="findings"] tbody tr').evaluateAll((rows) => rows.map((row) => row.dataset.rule));
  }

  /** `rule`'s outcome in the list of rules checked. */
  async outcome(rule) {
    return (await this.page.locator(`[data-testid="checked"] li[data-rule="${rule}"] .badge`).first().textContent()).trim();
  }
}

test('the demo fails Pluto TV by rule, and the demo partner is checked against its own profile', { timeout: 180_000 }, async () => {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (error) => errors.push(error.message));
  page.on('console', (message) => {
    if (/Content Security Policy/i.test(message.text())) errors.push(`${page.url()}: ${message.text()}`);
  });
  try {
    await new LoginPage(page, server.url).logIn();
    const conformance = new ConformancePage(page, server.url);
    await page.getByRole('link', { name: 'Conformance' }).click();
    await page.getByRole('heading', { name: 'Conformance checks' }).waitFor();
    assert.equal(await page.getByRole('link', { name: 'Conformance' }).getAttribute('aria-current'), 'page');

    await conformance.run('channel', 'demo', 'pluto', 1);
    assert.match(await conformance.verdict().textContent(), /^Failed: channel demo against Pluto TV v2\.2/);
    const found = await conformance.findingRules();
    for (const rule of ['pluto.segment-duration-constant', 'pluto.video-codec', 'pluto.frame-rate']) {
      assert.ok(found.includes(rule), `${rule} is a finding: ${found}`);
      assert.equal(await conformance.outcome(rule), 'failed', rule);
    }
    assert.equal(await conformance.outcome('pluto.break-duration-fixed'), 'passed');
    const row = page.locator('[data-testid="findings"] tr[data-rule="pluto.segment-duration-constant"]').first();
    assert.match(await row.textContent(), /every segment should be 5 s/);
    // The form to run it again holds what was asked.
    assert.equal(await conformance.form('channel', 'demo').getByLabel(/^Profile/).inputValue(), 'pluto');

    await conformance.open();
    const partner = conformance.form('partner', 'fastplus');
    assert.equal(await partner.getByLabel(/^Profile/).inputValue(), '', 'its own profile by default');
    assert.match(await partner.getByLabel(/^Profile/).locator('option:checked').textContent(), /its own \(wurl\)/);
    await conformance.run('partner', 'fastplus', '', 1);
    assert.match(await conformance.verdict().textContent(), /partner fastplus against Wurl: 1 channel\(s\) checked/);
    const report = page.locator('[data-testid="report"][data-channel="demo"]');
    assert.match(await report.getByRole('heading', { level: 2 }).textContent(), /channel demo as the partner gets it against Wurl/);
    assert.ok((await report.locator('[data-testid="checked"] li').count()) > 0, 'rules were checked');
    assert.deepEqual(errors, [], 'no page error, nothing against the pages\' policy');
  } catch (error) {
    await screenshot(page, 'conformance');
    throw error;
  } finally {
    await context.close();
  }
});

test('the conformance pages have no serious accessibility violation', { timeout: 120_000 }, async () => {
  // axe is injected as an inline script: tooling, let past the pages' policy.
  const context = await browser.newContext({ bypassCSP: true });
  const page = await context.newPage();
  const found = [];
  const audit = async (what) => {
    await page.addScriptTag({ content: axeSource });
    const result = await page.evaluate(async () => window.axe.run(document, { resultTypes: ['violations'] }));
    for (const violation of result.violations) {
      if (violation.impact === 'serious' || violation.impact === 'critical') {
        found.push(`${what}: ${violation.id} (${violation.impact}): ${violation.help} at ${violation.nodes.map((node) => node.target.join(' ')).slice(0, 3).join('; ')}`);
      }
    }
  };
  try {
    await new LoginPage(page, server.url).logIn();
    const conformance = new ConformancePage(page, server.url);
    await conformance.open();
    await audit('/conformance');
    await conformance.run('channel', 'demo', 'roku', 1);
    await audit('the report page');
    // A refused field: its message at the field, announced with it.
    await conformance.form('channel', 'demo').getByLabel(/^Hours/).evaluate((input) => { input.removeAttribute('max'); });
    await conformance.run('channel', 'demo', 'hls', 72);
    const hours = conformance.form('channel', 'demo').getByLabel(/^Hours/);
    assert.equal(await hours.getAttribute('aria-invalid'), 'true');
    assert.match(await page.getByTestId('hours-problem').textContent(), /a check observes 1 to 48 hours/);
    await audit('the report page with a refused field');
    assert.deepEqual(found, []);
  } catch (error) {
    await screenshot(page, 'conformance-a11y');
    throw error;
  } finally {
    await context.close();
  }
});

test('a check runs and reports with JavaScript turned off', { timeout: 120_000 }, async () => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  try {
    await new LoginPage(page, server.url).logIn();
    const conformance = new ConformancePage(page, server.url);
    await conformance.open();
    await conformance.run('channel', 'demo', 'hls', 1);
    assert.match(await conformance.verdict().textContent(), /^Passed: channel demo against the HLS baseline/);
    assert.equal(await conformance.outcome('hls.target-duration'), 'passed');
  } catch (error) {
    await screenshot(page, 'conformance-no-javascript');
    throw error;
  } finally {
    await context.close();
  }
});

// The operator pages for keyboard and screen-reader users: axe-core (the accessibility engine
// browsers' dev tools use) finds no serious or critical violation on any of them, every form
// control has a label, and the pages that only read work with JavaScript turned off.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { chromium } from 'playwright-core';
import { LoginPage, chromiumOptions, prepareDemo, screenshot, serve } from './onair.mjs';

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

// Every operator page, by path.
const PAGES = ['/', '/account', '/users', '/guide/demo', '/ads/demo', '/grid/demo', '/grid/demo?view=week', '/library', '/desk/demo'];

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

test('every operator page works under its Content-Security-Policy, which an injected script cannot pass', { timeout: 120_000 }, async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const violations = [];
  page.on('console', (message) => {
    if (/Content Security Policy/i.test(message.text())) violations.push(`${page.url()}: ${message.text()}`);
  });
  page.on('pageerror', (error) => violations.push(`${page.url()}: ${error.message}`));
  await new LoginPage(page, server.url).logIn();
  for (const path of PAGES) {
    const response = await page.goto(`${server.url}${path}`);
    assert.equal(response.status(), 200, path);
    assert.match(response.headers()['content-security-policy'], /script-src 'self';/, path);
    await page.waitForLoadState('networkidle').catch(() => {});
  }
  if (violations.length > 0) await screenshot(page, 'csp');
  assert.deepEqual(violations, [], 'no page broke its own policy');
  // The policy holds: a script injected as markup (the XSS it is there for) does not run.
  await page.goto(`${server.url}/account`);
  const ran = await page.evaluate(() => new Promise((resolve) => {
    document.addEventListener('securitypolicyviolation', () => resolve(false), { once: true });
    const script = document.createElement('script');
    script.textContent = 'window.injected = true';
    document.body.append(script);
    setTimeout(() => resolve(window.injected === true), 500);
  }));
  assert.equal(ran, false, 'an inline script ran');
  assert.ok(violations.length >= 1, 'the browser reported the blocked script');
  await context.close();
});

test('no operator page has a serious accessibility violation', { timeout: 120_000 }, async () => {
  // axe is injected as an inline script: tooling, let past the pages' policy.
  const context = await browser.newContext({ bypassCSP: true });
  const page = await context.newPage();
  await new LoginPage(page, server.url).logIn();
  const found = [];
  for (const path of PAGES) {
    const response = await page.goto(`${server.url}${path}`);
    assert.equal(response.status(), 200, path);
    await page.addScriptTag({ content: axeSource });
    const result = await page.evaluate(async () => window.axe.run(document, {
      resultTypes: ['violations'],
      // The channel's video is a live preview without captions by nature.
      rules: { 'video-caption': { enabled: false } },
    }));
    for (const violation of result.violations) {
      if (violation.impact === 'serious' || violation.impact === 'critical') {
        found.push(`${path}: ${violation.id} (${violation.impact}): ${violation.help} at ${violation.nodes.map((node) => node.target.join(' ')).slice(0, 3).join('; ')}`);
      }
    }
    if (found.length > 0) await screenshot(page, `a11y${path.replaceAll('/', '_')}`);
  }
  await context.close();
  assert.deepEqual(found, []);
});

test('the pages that only read work without JavaScript', { timeout: 60_000 }, async () => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  try {
    await new LoginPage(page, server.url).logIn();
    await page.goto(`${server.url}/guide/demo`);
    assert.ok(await page.getByRole('table').first().isVisible(), 'the guide is a table');
    assert.match(await page.locator('[data-testid="guide"]').textContent(), /Morning Headlines/);
    await page.goto(`${server.url}/ads/demo`);
    assert.ok(await page.locator('[data-testid="totals"]').isVisible());
  } catch (error) {
    await screenshot(page, 'no-javascript');
    throw error;
  } finally {
    await context.close();
  }
});

// The channels page and the on-air desk in Chromium. The channels page shows a card per channel
// with now and next, and its cards follow the server's event stream (`/events/channels`): on a
// clock that starts a few seconds before a demo programme ends, the demo card's "now" moves on
// to the next programme without a reload. The desk plays the channel's preview, and on a copy of
// the demo data an operator takes the demo channel live from the `studio` source through the
// desk's button and its confirmation dialog, sees the live state change (on the desk's live
// panel and in its status, over the event stream), and returns it to the schedule; then puts it
// on its slate now through the "Slate now" dialog, sees the desk show the slate on air (live
// panel and status), and returns it to the schedule again.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';
import {
  LoginPage, chromiumOptions, copyDemo, demoBreakAfter, demoBreakLength, prepareDemo, screenshot,
  serveData, serveOnClock,
} from './onair.mjs';

let browser;

before(async () => {
  prepareDemo();
  browser = await chromium.launch(chromiumOptions);
});

after(async () => {
  await browser?.close();
});

/** Runs `body` with a fresh page; saves a full-page screenshot as `name` if it fails. */
async function withPage(name, body) {
  const page = await browser.newPage();
  const errors = [];
  page.on('pageerror', (error) => errors.push(String(error)));
  try {
    await body(page);
    assert.deepEqual(errors, [], 'no page error');
  } catch (error) {
    await screenshot(page, name);
    throw error;
  } finally {
    await page.close();
  }
}

/** The channels page (`/`), as a page object. */
class ChannelsPage {
  constructor(page, baseUrl) {
    this.page = page;
    this.baseUrl = baseUrl;
  }

  async open() {
    await this.page.goto(`${this.baseUrl}/`);
  }

  card(slug) {
    return this.page.getByTestId(`card-${slug}`);
  }

  /** The text of a card's now (or next) slot: title and times. */
  async slot(slug, which) {
    return (await this.card(slug).getByTestId(which).innerText()).replace(/\s+/g, ' ').trim();
  }

  async state(slug) {
    return this.card(slug).getByTestId('state').innerText();
  }

  /** Resolves once the page's EventSource has swapped in `count` status events. */
  async waitForStatusEvents(count, timeout) {
    await this.page.waitForFunction((n) => window.onairStatusEvents >= n, count, { timeout });
  }
}

/** The on-air desk (`/desk/{slug}`), as a page object. */
class DeskPage {
  constructor(page, baseUrl, slug) {
    this.page = page;
    this.baseUrl = baseUrl;
    this.slug = slug;
  }

  async open() {
    await this.page.goto(`${this.baseUrl}/desk/${this.slug}`);
  }

  /** The preview's currentTime, once hls.js plays it. */
  async previewTime() {
    return this.page.evaluate(() => document.getElementById('player').currentTime);
  }

  /** The live panel's take state: `schedule`, `next`, `on_air` or `returning`. */
  async takeState() {
    return this.page.getByTestId('take-state').getAttribute('data-state');
  }

  async waitForTakeState(states, timeout = 20_000) {
    await this.page.waitForFunction((wanted) => {
      const state = document.querySelector('[data-testid="take-state"]')?.dataset.state;
      return wanted.includes(state);
    }, states, { timeout, polling: 200 });
  }

  async waitForStatusState(state, timeout = 20_000) {
    await this.page.waitForFunction(
      ([slug, wanted]) => document.getElementById(`status-${slug}`)?.dataset.state === wanted,
      [this.slug, state], { timeout, polling: 200 },
    );
  }

  answer() {
    return this.page.getByTestId('desk-answer');
  }

  /** Opens the take dialog, picks `source`, checks what the dialog says, confirms. */
  async takeLive(source) {
    await this.page.getByRole('button', { name: 'Take live…' }).click();
    const dialog = this.page.getByRole('dialog', { name: /Take .* live/ });
    await dialog.waitFor();
    await dialog.getByLabel('Live source').selectOption(source);
    const says = await dialog.innerText();
    assert.match(says, new RegExp(`will air the live source ${source}`));
    assert.match(says, /first segment boundary at least 1\.5 s after you confirm/);
    const answered = this.page.waitForResponse((response) => response.url().endsWith(`/api/channels/${this.slug}/live/take`));
    await dialog.getByRole('button', { name: 'Take live now' }).click();
    return answered;
  }

  /** Opens the slate now dialog, checks what it says, confirms. */
  async slateNow() {
    await this.page.getByRole('button', { name: 'Slate now…' }).click();
    const dialog = this.page.getByRole('dialog', { name: /on its slate now/ });
    await dialog.waitFor();
    const says = await dialog.innerText();
    assert.match(says, /will air its slate instead of its schedule/);
    assert.match(says, /first segment boundary at least 1\.5 s after you confirm: within about \d/);
    const answered = this.page.waitForResponse((response) => response.url().endsWith(`/api/channels/${this.slug}/slate`));
    await dialog.getByRole('button', { name: 'Slate now', exact: true }).click();
    return answered;
  }

  async returnToSchedule() {
    await this.page.getByRole('button', { name: 'Return to schedule…' }).click();
    const dialog = this.page.getByRole('dialog', { name: /Return .* to its schedule/ });
    await dialog.waitFor();
    assert.match(await dialog.innerText(), /joining it in progress/);
    const answered = this.page.waitForResponse((response) => response.url().endsWith(`/api/channels/${this.slug}/live/return`));
    await dialog.getByRole('button', { name: 'Return to schedule now' }).click();
    return answered;
  }
}

test('the channels page shows now and next and follows the event stream across a programme boundary', { timeout: 150_000 }, async () => {
  // The demo's programmes end with their ad break: start 8 s before a break ends.
  const breakEnd = demoBreakAfter(Date.now()) + demoBreakLength;
  const server = await serveOnClock(new Date(breakEnd - 8_000), 1);
  try {
    await withPage('desk-channels', async (page) => {
      const events = page.waitForResponse((response) => response.url().endsWith('/events/channels'));
      await new LoginPage(page, server.url).logIn();
      const channels = new ChannelsPage(page, server.url);
      assert.equal((await events).headers()['content-type'], 'text/event-stream');

      await assert.doesNotReject(channels.card('demo').waitFor());
      assert.equal(await channels.state('demo'), 'on air');
      const before = await channels.slot('demo', 'now');
      assert.match(before, /\d\d:\d\d:\d\d–\d\d:\d\d:\d\d/, `now has its local times: ${before}`);
      const next = await channels.slot('demo', 'next');
      assert.match(next, /\d\d:\d\d:\d\d/, `next has its start: ${next}`);

      // The first events come as the stream opens (one per channel), then the boundary's.
      await channels.waitForStatusEvents(1, 15_000);
      const seen = await page.evaluate(() => window.onairStatusEvents);
      await page.waitForFunction(
        ([n, old]) => window.onairStatusEvents > n
          && document.querySelector('[data-testid="card-demo"] [data-testid="now"]').innerText.replace(/\s+/g, ' ').trim() !== old,
        [seen, before], { timeout: 60_000, polling: 250 },
      );
      const after = await channels.slot('demo', 'now');
      assert.ok(next.startsWith(after.split(' ')[0]), `what was next airs now: ${next} → ${after}`);

      // The first channel's preview plays (hls.test.mjs relies on it too).
      await page.waitForFunction(() => window.onairHls !== undefined && document.getElementById('player').currentTime > 1, null, { timeout: 30_000 });
    });
  } finally {
    await server.stop();
  }
});

test('the desk plays the preview, takes the demo channel live from the studio, puts it on its slate now and returns it to the schedule each time', { timeout: 150_000 }, async () => {
  const data = copyDemo();
  const server = await serveData(data);
  try {
    await withPage('desk-take', async (page) => {
      await new LoginPage(page, server.url).logIn(undefined, '/desk/demo');
      const desk = new DeskPage(page, server.url, 'demo');
      await page.getByRole('heading', { name: /on-air desk/ }).waitFor();
      assert.equal(await page.getByTestId('as-run').or(page.getByText('Nothing recorded')).count() > 0, true);

      // The preview plays: its currentTime advances.
      await page.waitForFunction(() => document.getElementById('player').currentTime > 0.5, null, { timeout: 30_000 });
      const t = await desk.previewTime();
      await page.waitForFunction((t0) => document.getElementById('player').currentTime > t0 + 1, t, { timeout: 20_000 });

      assert.equal(await desk.takeState(), 'schedule');
      const taken = await desk.takeLive('studio');
      assert.equal(taken.status(), 201, await taken.text());
      assert.equal(taken.request().headers()['x-csrf-token']?.length > 0, true, 'the CSRF token is sent');
      assert.match(taken.request().headers()['if-match'] ?? '', /^"\d+"$/, 'the version is named');
      await assert.doesNotReject(desk.answer().filter({ hasText: /Taken: studio airs from \d\d:\d\d:\d\d/ }).waitFor());
      await desk.waitForTakeState(['next', 'on_air']);
      assert.equal(await page.getByTestId('take-source').innerText(), 'studio');
      // It lands within two segments; the status (over the event stream) says live from studio.
      await desk.waitForTakeState(['on_air']);
      await desk.waitForStatusState('live');
      assert.equal(await page.locator('#status-demo [data-testid="live-source"]').innerText(), 'studio');

      const returned = await desk.returnToSchedule();
      assert.equal(returned.status(), 200, await returned.text());
      await assert.doesNotReject(desk.answer().filter({ hasText: /Returned: the schedule resumes at/ }).waitFor());
      await desk.waitForTakeState(['schedule'], 30_000);
      await desk.waitForStatusState('on-air');

      // A second return is refused, and the refusal is shown.
      const again = await desk.returnToSchedule();
      assert.equal(again.status(), 404);
      await assert.doesNotReject(desk.answer().filter({ hasText: /Refused \(404\): .*not taken/ }).waitFor());

      // Slate now: the sentence that said there was none is gone; the dialog says when it lands.
      assert.equal(await page.getByText('There is no "slate now" action').count(), 0);
      const slated = await desk.slateNow();
      assert.equal(slated.status(), 201, await slated.text());
      assert.equal(slated.request().headers()['x-csrf-token']?.length > 0, true, 'the CSRF token is sent');
      assert.match(slated.request().headers()['if-match'] ?? '', /^"\d+"$/, 'the version is named');
      assert.equal((await slated.json()).kind, 'slate');
      await assert.doesNotReject(desk.answer().filter({ hasText: /On slate: the slate airs from \d\d:\d\d:\d\d/ }).waitFor());
      await desk.waitForTakeState(['next', 'on_air']);
      assert.equal(await page.getByTestId('take-state').getAttribute('data-kind'), 'slate');
      assert.equal(await page.getByTestId('take-source').innerText(), 'The slate');
      await desk.waitForTakeState(['on_air']);
      assert.equal(await page.getByTestId('take-state').innerText(), 'On slate');
      await desk.waitForStatusState('slate');

      const back = await desk.returnToSchedule();
      assert.equal(back.status(), 200, await back.text());
      await assert.doesNotReject(desk.answer().filter({ hasText: /Returned: the schedule resumes at/ }).waitFor());
      await desk.waitForTakeState(['schedule'], 30_000);
      await desk.waitForStatusState('on-air');
    });
  } finally {
    await server.stop();
    data.remove();
  }
});

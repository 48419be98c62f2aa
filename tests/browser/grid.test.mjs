// The grid planner in a real browser, on a copy of the demo data: a scheduler drags a clip
// from the library onto tomorrow's grid and the schedule API has it; a move inside the lock
// horizon is refused with the reason and the item goes back; an earlier version is restored
// from the version list; an item is moved from the keyboard; of two pages that load the same day and both drop a clip, one
// publishes and the other says who changed the schedule meanwhile, with a reload; an item is
// resized by its bottom edge and by its Length field, a resize past its asset rolling back with
// the reason; and a channel in Europe/Berlin draws its 23- and 25-hour days with the true local hours.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';
import { LoginPage, apiFetch, chromiumOptions, copyDemoWithOwnDays, operator, prepareDemo, screenshot, serveData } from './onair.mjs';

let browser;
let server;
let data;

const DAY = 86_400_000;
/** The demo channel is in UTC: its local days are UTC days. */
const utcDate = (ms) => new Date(ms).toISOString().slice(0, 10);
const today = utcDate(Date.now());
const tomorrow = utcDate(Date.now() + DAY);

before(async () => {
  prepareDemo();
  data = copyDemoWithOwnDays();
  server = await serveData(data);
  browser = await chromium.launch(chromiumOptions);
});

after(async () => {
  await browser?.close();
  await server?.stop();
  data?.remove();
});

/** The grid page, as a page object. */
class GridPage {
  constructor(page, baseUrl) {
    this.page = page;
    this.baseUrl = baseUrl;
  }

  async open(slug, date, view = 'day') {
    await this.page.goto(`${this.baseUrl}/grid/${slug}?view=${view}&date=${date}`);
    await this.page.locator(`[data-testid="day-${date}"] .fc-timegrid-slots`).first().waitFor();
  }

  day(date) {
    return this.page.locator(`[data-testid="day-${date}"]`);
  }

  /** The grid's items on `date` whose start is `startIso`. */
  itemsAt(date, startIso) {
    return this.day(date).locator(`[data-testid="grid-item"][data-start="${startIso}"]`);
  }

  status() {
    return this.page.getByTestId('grid-status');
  }

  /** The hour labels drawn on `date`'s column (the blank ones past a short day left out). */
  async hourLabels(date) {
    const texts = await this.day(date).locator('.hour-label').allTextContents();
    return texts.filter((text) => text.trim() !== '');
  }

  async setScale(value) {
    await this.page.getByLabel('Rows of').selectOption(value);
  }

  /** Drags from the middle of `source` to a point `dy` pixels into the slot row of `time`. */
  async dragTo(source, date, time, dy = 3) {
    const lane = this.day(date).locator(`td.fc-timegrid-slot-lane[data-time="${time}"]`);
    await lane.scrollIntoViewIfNeeded();
    await source.scrollIntoViewIfNeeded();
    const from = await source.boundingBox();
    const to = await lane.boundingBox();
    await this.page.mouse.move(from.x + from.width / 2, from.y + from.height / 2);
    await this.page.mouse.down();
    await this.page.mouse.move(from.x + from.width / 2 + 5, from.y + from.height / 2 + 5, { steps: 5 });
    await this.page.mouse.move(to.x + to.width / 2, to.y + dy, { steps: 20 });
    await this.page.mouse.up();
  }

  /** Searches the library for `title` and drags the clip onto `date` at `time`; the PUT's answer. */
  async dropClip(title, date, time) {
    await this.page.getByLabel('Search ready assets').fill(title);
    // The search's answer replaces the list: wait for it before dragging one of its entries.
    await this.page.waitForFunction((text) => {
      const all = [...document.querySelectorAll('#library-list .library-asset')];
      return all.length > 0 && all.every((el) => el.textContent.includes(text));
    }, title);
    const clip = this.page.getByTestId('library').locator('.library-asset', { hasText: title }).first();
    await clip.waitFor();
    const answer = this.page.waitForResponse((response) => response.url().includes('/schedule') && response.request().method() === 'PUT');
    await this.dragTo(clip, date, time);
    return answer;
  }
}

async function loggedIn(next) {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const page = await context.newPage();
  await new LoginPage(page, server.url).logIn(operator, next);
  return { context, page, grid: new GridPage(page, server.url) };
}

async function schedule(slug, from, to) {
  const response = await apiFetch(`${server.url}/api/channels/${slug}/schedule?from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`);
  assert.equal(response.status, 200);
  return response.json();
}

const at = (date, time) => `${date}T${time}.000Z`;

test('a clip dropped from the library is published, and a move inside the lock horizon is refused and undone', async () => {
  const { context, page, grid } = await loggedIn('/grid/demo');
  try {
    await grid.open('demo', tomorrow);
    assert.equal(await grid.hourLabels(tomorrow).then((labels) => labels.length), 24);

    const answer = await grid.dropClip('Kitchen Basics', tomorrow, '10:00:00');
    assert.equal(answer.status(), 200, await answer.text());
    await grid.itemsAt(tomorrow, at(tomorrow, '10:00:00')).filter({ hasText: 'Kitchen Basics' }).waitFor();
    await page.getByText(/Published as version \d+/).waitFor();
    const published = await schedule('demo', at(tomorrow, '00:00:00'), at(utcDate(Date.now() + 2 * DAY), '00:00:00'));
    assert.deepEqual(
      published.items.map((item) => [item.title, item.start, item.hard_start]),
      [['Kitchen Basics', at(tomorrow, '10:00:00'), true]],
    );
    // The plan preview lists the days' gaps around the lone clip.
    await page.getByTestId('plan-problems').locator('li[data-kind^="gap"]').first().waitFor();
    // The guide partners fetch lists it at 10:00, once the plan is reloaded (a refresh or
    // two). A clip this short is listed within a medley entry, named in its description.
    const ten = `${tomorrow.replaceAll('-', '')}100000`;
    const airsAtTen = (xml) => [...xml.matchAll(/<programme start="(\d{14}) \+0000" stop="(\d{14}) \+0000"[^>]*>([\s\S]*?)<\/programme>/g)]
      .some(([, start, stop, inner]) => start <= ten && ten < stop && inner.includes('Kitchen Basics'));
    let guide = '';
    for (let tries = 0; tries < 60 && !airsAtTen(guide); tries += 1) {
      if (tries > 0) await new Promise((done) => { setTimeout(done, 500); });
      guide = await (await fetch(`${server.url}/channels/demo/epg.xml`)).text();
    }
    assert.ok(airsAtTen(guide), 'the XMLTV guide lists the clip at 10:00');

    // Today: the item airing now is inside the lock horizon.
    await grid.open('demo', today);
    await grid.setScale('00:05:00');
    const before = await schedule('demo', at(today, '00:00:00'), at(tomorrow, '00:00:00'));
    const soon = Date.now() + 20_000;
    const airing = await page.evaluate((instant) => {
      const all = [...document.querySelectorAll('[data-testid="grid-item"]')];
      const found = all.find((el) => Date.parse(el.dataset.start) <= instant && instant < Date.parse(el.dataset.end));
      return found ? found.dataset.start : null;
    }, soon);
    assert.ok(airing, 'an item airs now');
    const item = grid.itemsAt(today, airing).first();
    await item.scrollIntoViewIfNeeded();
    const dayBox = await grid.day(today).boundingBox();
    const boxBefore = await item.boundingBox();
    const refused = page.waitForResponse((response) => response.url().includes('/schedule') && response.request().method() === 'PUT');
    await page.mouse.move(boxBefore.x + boxBefore.width / 2, boxBefore.y + boxBefore.height / 2);
    await page.mouse.down();
    await page.mouse.move(boxBefore.x + boxBefore.width / 2, boxBefore.y + boxBefore.height / 2 + 10, { steps: 5 });
    await page.mouse.move(boxBefore.x + boxBefore.width / 2, boxBefore.y + boxBefore.height / 2 + 90, { steps: 15 });
    await page.mouse.up();
    const answerLocked = await refused;
    assert.equal(answerLocked.status(), 409);
    await grid.status().getByText(/inside the lock horizon/).waitFor();
    const back = grid.itemsAt(today, airing).first();
    await back.waitFor();
    const dayBoxAfter = await grid.day(today).boundingBox();
    const boxAfter = await back.boundingBox();
    assert.ok(Math.abs((boxAfter.y - dayBoxAfter.y) - (boxBefore.y - dayBox.y)) < 1, 'the item is back where it was');
    const after = await schedule('demo', at(today, '00:00:00'), at(tomorrow, '00:00:00'));
    assert.equal(after.version, before.version, 'nothing was published');
  } catch (error) {
    await screenshot(page, 'grid-drop-and-lock');
    throw error;
  } finally {
    await context.close();
  }
});

test('a scheduler without a mouse opens an item from the keyboard and moves it later', async () => {
  const { context, page, grid } = await loggedIn('/grid/demo');
  try {
    await grid.open('demo', tomorrow);
    // The clip the test before dropped at 10:00, reached with Tab like any link.
    const item = grid.itemsAt(tomorrow, at(tomorrow, '10:00:00')).filter({ hasText: 'Kitchen Basics' });
    await item.waitFor();
    await item.focus();
    await page.keyboard.press('Enter');
    const editor = page.locator('#item-editor');
    await editor.waitFor();
    await page.getByLabel('Move by (minutes)').fill('30');
    await page.getByLabel('Move by (minutes)').press('Tab');
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Later');
    const answer = page.waitForResponse((response) => response.url().includes('/schedule') && response.request().method() === 'PUT');
    await page.keyboard.press('Enter');
    assert.equal((await answer).status(), 200);
    await page.getByText(/Kitchen Basics moved to/).waitFor();
    await grid.itemsAt(tomorrow, at(tomorrow, '10:30:00')).filter({ hasText: 'Kitchen Basics' }).waitFor();
    const published = await schedule('demo', at(tomorrow, '00:00:00'), at(utcDate(Date.now() + 2 * DAY), '00:00:00'));
    assert.deepEqual(published.items.map((entry) => [entry.title, entry.start]), [['Kitchen Basics', at(tomorrow, '10:30:00')]]);
  } catch (error) {
    await screenshot(page, 'grid-keyboard-move');
    throw error;
  } finally {
    await context.close();
  }
});

test('an earlier version restored from the version list changes the grid', async () => {
  const { context, page, grid } = await loggedIn('/grid/demo');
  try {
    await grid.open('demo', tomorrow);
    const first = await schedule('demo', at(tomorrow, '00:00:00'), at(tomorrow, '23:59:59'));
    const answer = await grid.dropClip('Night Sky', tomorrow, '12:00:00');
    assert.equal(answer.status(), 200, await answer.text());
    await grid.itemsAt(tomorrow, at(tomorrow, '12:00:00')).waitFor();

    const versions = page.getByTestId('versions');
    await versions.getByRole('button', { name: `Restore version ${first.version}` }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByText(`Restore version ${first.version}?`).waitFor();
    const restored = page.waitForResponse((response) => response.url().endsWith(`/versions/${first.version}/restore`));
    await Promise.all([
      page.waitForEvent('load'),
      dialog.getByRole('button', { name: 'Restore' }).click(),
    ]);
    assert.equal((await restored).status(), 200);
    await grid.day(tomorrow).locator('.fc-timegrid-slots').waitFor();
    await grid.itemsAt(tomorrow, at(tomorrow, '10:30:00')).waitFor();
    assert.equal(await grid.itemsAt(tomorrow, at(tomorrow, '12:00:00')).count(), 0, 'the restored version has no 12:00 item');
    const now = await schedule('demo', at(tomorrow, '00:00:00'), at(tomorrow, '23:59:59'));
    assert.deepEqual(now.items.map((item) => item.start), [at(tomorrow, '10:30:00')]);
  } catch (error) {
    await screenshot(page, 'grid-restore');
    throw error;
  } finally {
    await context.close();
  }
});

test('of two pages that drop a clip on the same day, the second is told who changed it and reloads', async () => {
  const a = await loggedIn('/grid/demo');
  const b = await loggedIn('/grid/demo');
  try {
    await a.grid.open('demo', tomorrow);
    await b.grid.open('demo', tomorrow);
    const first = await a.grid.dropClip('Wild Coasts', tomorrow, '14:00:00');
    assert.equal(first.status(), 200, await first.text());
    const second = await b.grid.dropClip('Street Food', tomorrow, '15:00:00');
    assert.equal(second.status(), 409);
    await b.grid.status().getByText(/Changed by browser-admin .* meanwhile/).waitFor();
    assert.equal(await b.grid.itemsAt(tomorrow, at(tomorrow, '15:00:00')).count(), 0, 'the refused drop is rolled back');
    await Promise.all([
      b.page.waitForEvent('load'),
      b.grid.status().getByRole('button', { name: 'Reload' }).click(),
    ]);
    await b.grid.itemsAt(tomorrow, at(tomorrow, '14:00:00')).filter({ hasText: 'Wild Coasts' }).waitFor();
    const published = await schedule('demo', at(tomorrow, '00:00:00'), at(tomorrow, '23:59:59'));
    assert.deepEqual(published.items.map((item) => item.title), ['Kitchen Basics', 'Wild Coasts']);
  } catch (error) {
    await screenshot(a.page, 'grid-conflict-a');
    await screenshot(b.page, 'grid-conflict-b');
    throw error;
  } finally {
    await a.context.close();
    await b.context.close();
  }
});

test('an item resized by its bottom edge airs to the new end, and a resize past its asset rolls back with the reason', async () => {
  const { context, page, grid } = await loggedIn('/grid/demo');
  try {
    await grid.open('demo', tomorrow);
    await grid.setScale('00:01:00');
    // Kitchen Basics, two minutes, at 10:30 since the keyboard test moved it there.
    const start = at(tomorrow, '10:30:00');
    const item = () => grid.itemsAt(tomorrow, start).filter({ hasText: 'Kitchen Basics' }).first();
    await item().waitFor();
    assert.equal(await item().getAttribute('data-end'), at(tomorrow, '10:32:00'));
    const row = (await grid.day(tomorrow).locator('td.fc-timegrid-slot-lane[data-time="10:31:00"]').boundingBox()).height;

    /** Drags the item's bottom edge by `rows` rows of the grid; the PUT's answer. */
    const dragEnd = async (rows) => {
      await item().scrollIntoViewIfNeeded();
      await item().hover();
      const handle = item().locator('.fc-event-resizer-end');
      const box = await handle.boundingBox();
      const answer = page.waitForResponse((response) => response.url().includes('/schedule') && response.request().method() === 'PUT');
      await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
      await page.mouse.down();
      await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2 + Math.sign(rows) * 4, { steps: 3 });
      await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2 + rows * row, { steps: 15 });
      await page.mouse.up();
      return answer;
    };

    const shortened = await dragEnd(-1);
    assert.equal(shortened.status(), 200, await shortened.text());
    await page.getByText(/Kitchen Basics resized to 1:00/).waitFor();
    await page.waitForFunction((end) => [...document.querySelectorAll('[data-testid="grid-item"]')].some((el) => el.dataset.end === end), at(tomorrow, '10:31:00'));
    const published = await schedule('demo', at(tomorrow, '00:00:00'), at(tomorrow, '23:59:59'));
    assert.deepEqual(
      published.items.map((entry) => [entry.title, entry.start, entry.length_ms ?? null]),
      [['Kitchen Basics', start, 60_000], ['Wild Coasts', at(tomorrow, '14:00:00'), null]],
    );

    const tooLong = await dragEnd(2);
    assert.equal(tooLong.status(), 422);
    await grid.status().getByText(/longer than asset/).waitFor();
    assert.equal(await item().getAttribute('data-end'), at(tomorrow, '10:31:00'), 'the resize rolled back');
    const unchanged = await schedule('demo', at(tomorrow, '00:00:00'), at(tomorrow, '23:59:59'));
    assert.equal(unchanged.version, published.version, 'nothing was published');

    // From the keyboard: the editor's Length field, then cleared for the whole asset. 1:31 is
    // half-way between two 2 s segment boundaries: the server cuts it at the later, and the page
    // shows the end the server answers, not its own estimate.
    await item().focus();
    await page.keyboard.press('Enter');
    const length = page.getByLabel(/^Length/);
    await length.fill('1:31');
    const keyed = page.waitForResponse((response) => response.url().includes('/schedule') && response.request().method() === 'PUT');
    await length.press('Enter');
    assert.equal((await keyed).status(), 200);
    await page.locator('#editor-end').getByText('10:31:32').waitFor();
    assert.equal(await item().getAttribute('data-end'), at(tomorrow, '10:31:32'));
    await length.fill('');
    const whole = page.waitForResponse((response) => response.url().includes('/schedule') && response.request().method() === 'PUT');
    await length.press('Enter');
    assert.equal((await whole).status(), 200);
    await page.locator('#editor-end').getByText('10:32:00').waitFor();
  } catch (error) {
    await screenshot(page, 'grid-resize');
    throw error;
  } finally {
    await context.close();
  }
});

test('a channel in Europe/Berlin draws 23 hours on its spring day and 25 on its autumn day', async () => {
  const created = await apiFetch(`${server.url}/api/channels`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ slug: 'berlin', name: 'Berlin', time_zone: 'Europe/Berlin' }),
  });
  assert.equal(created.status, 201, await created.text());
  const { context, page, grid } = await loggedIn('/grid/berlin');
  try {
    await grid.open('berlin', '2027-03-28');
    const spring = await grid.hourLabels('2027-03-28');
    assert.equal(spring.length, 23, spring.join(' '));
    assert.deepEqual(spring.slice(0, 4), ['00:00', '01:00', '03:00', '04:00']);

    await grid.open('berlin', '2027-10-31');
    const autumn = await grid.hourLabels('2027-10-31');
    assert.equal(autumn.length, 25, autumn.join(' '));
    assert.deepEqual(autumn.slice(0, 5), ['00:00', '01:00', '02:00', '02:00', '03:00']);

    // The week: every column on the 25-hour scale, the 24-hour days' last hour blank.
    await grid.open('berlin', '2027-10-31', 'week');
    assert.equal((await grid.hourLabels('2027-10-30')).length, 24);
    assert.equal((await grid.hourLabels('2027-10-31')).length, 25);
    assert.equal(await grid.day('2027-10-30').locator('.beyond-day').count() > 0, true);
  } catch (error) {
    await screenshot(page, 'grid-dst');
    throw error;
  } finally {
    await context.close();
  }
});

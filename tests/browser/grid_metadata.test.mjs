// Programme metadata in the grid planner, in a real browser, on a copy of the demo data: a
// scheduler gives tomorrow's clip its episode in the item editor's Programme form (which axe
// finds no serious violation in); the schedule API answers it and the XMLTV guide lists the
// episode title and number; a keyboard move keeps it at the new start; an artwork URL the
// server refuses is shown inline with the server's message and nothing changes; emptying the
// form clears it. Without JavaScript, the table lists each item's length and episode, and the
// add form takes a length (a bad one named, as typed).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { chromium } from 'playwright-core';
import { LoginPage, apiFetch, chromiumOptions, copyDemoWithOwnDays, operator, prepareDemo, screenshot, serveData } from './onair.mjs';

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

let browser;
let server;
let data;

const DAY = 86_400_000;
/** The demo channel is in UTC: its local days are UTC days. */
const utcDate = (ms) => new Date(ms).toISOString().slice(0, 10);
const tomorrow = utcDate(Date.now() + DAY);
const at = (date, time) => `${date}T${time}.000Z`;

const EPISODE = {
  title: 'Kitchen Basics',
  episode_title: 'Where the river meets the sea',
  season: 2,
  episode: 4,
  description: 'Two cooks follow a river down to the coast.',
  genres: ['Cooking', 'Travel'],
};

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

/** The grid page and its item editor, as a page object. */
class GridPage {
  constructor(page, baseUrl) {
    this.page = page;
    this.baseUrl = baseUrl;
  }

  async open(slug, date) {
    await this.page.goto(`${this.baseUrl}/grid/${slug}?view=day&date=${date}`);
    await this.page.locator(`[data-testid="day-${date}"] .fc-timegrid-slots`).first().waitFor();
  }

  itemAt(date, startIso, title) {
    return this.page.locator(`[data-testid="day-${date}"] [data-testid="grid-item"][data-start="${startIso}"]`).filter({ hasText: title }).first();
  }

  status() {
    return this.page.getByTestId('grid-status');
  }

  editor() {
    return this.page.locator('#item-editor');
  }

  /** What the editor says the EPG lists for the item beyond its title. */
  listed() {
    return this.page.getByTestId('editor-listed');
  }

  field(label) {
    return this.editor().getByLabel(label, { exact: true });
  }

  /** The next schedule PUT's answer. */
  nextPut() {
    return this.page.waitForResponse((response) => response.url().includes('/schedule') && response.request().method() === 'PUT');
  }

  /** Opens the item from the keyboard, as a scheduler without a mouse does. */
  async select(date, startIso, title) {
    const item = this.itemAt(date, startIso, title);
    await item.waitFor();
    await item.focus();
    await this.page.keyboard.press('Enter');
    await this.editor().waitFor();
  }

  /** The add-item form (served without JavaScript, used with it too). */
  addForm() {
    return this.page.locator(`form[action="/grid/demo/items"]`);
  }

  /** Fills the add-item form with an asset (by its label), a local start and a length, and submits it. */
  async add(assetLabel, time, length = '') {
    const form = this.addForm();
    await form.getByLabel('Asset', { exact: true }).selectOption({ label: assetLabel });
    await form.getByLabel(/^Local start/).fill(time);
    await form.getByLabel(/^Item length/).fill(length);
    await form.getByRole('button', { name: 'Add' }).click();
  }

  /** Fills the Programme form's fields by label (a missing one left as it is) and submits it; the PUT's answer. */
  async publishProgramme(fields) {
    for (const [label, value] of Object.entries(fields)) await this.field(label).fill(value);
    const answer = this.nextPut();
    await this.editor().getByRole('button', { name: 'Publish the programme details' }).click();
    return answer;
  }
}

/** Runs `body` as the operator on a grid page of its own (`options`: the browser context's); a screenshot named `name` when it fails. */
async function asScheduler(name, options, body) {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 }, ...options });
  const page = await context.newPage();
  try {
    await new LoginPage(page, server.url).logIn(operator, '/grid/demo');
    await body({ page, grid: new GridPage(page, server.url) });
  } catch (error) {
    await screenshot(page, name);
    throw error;
  } finally {
    await context.close();
  }
}

/** Tomorrow's schedule, from the API. */
async function tomorrowsSchedule() {
  const from = at(tomorrow, '00:00:00');
  const to = at(utcDate(Date.now() + 2 * DAY), '00:00:00');
  const response = await apiFetch(`${server.url}/api/channels/demo/schedule?from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`);
  assert.equal(response.status, 200);
  return response.json();
}

/** The XMLTV programme starting at `startIso`, once the plan is reloaded and it is there (else ''). */
async function xmltvProgrammeAt(startIso, has) {
  const start = `${startIso.slice(0, 19).replace(/[-T:]/g, '')} +0000`;
  for (let tries = 0; tries < 60; tries += 1) {
    if (tries > 0) await new Promise((done) => { setTimeout(done, 500); });
    const guide = await (await fetch(`${server.url}/channels/demo/epg.xml`)).text();
    const found = [...guide.matchAll(/<programme start="([^"]+)"[^>]*>([\s\S]*?)<\/programme>/g)]
      .find(([, programmeStart, inner]) => programmeStart === start && has(inner));
    if (found) return found[2];
  }
  return '';
}

test('a programme given its episode in the item editor is in the schedule API and the XMLTV, and a keyboard move keeps it', async () => {
  // axe is injected as an inline script: tooling, let past the page's policy.
  await asScheduler('grid-metadata-publish', { bypassCSP: true }, async ({ page, grid }) => {
    await grid.open('demo', tomorrow);
    await Promise.all([
      page.waitForURL((url) => url.searchParams.get('added') === '1'),
      grid.add('Kitchen Basics (2:00)', '10:00:00'),
    ]);
    await grid.open('demo', tomorrow);
    const ten = at(tomorrow, '10:00:00');
    await grid.select(tomorrow, ten, 'Kitchen Basics');
    assert.equal(await grid.listed().textContent(), 'its title only');

    // A minute's break after its two minutes makes it a three-minute programme, which the EPG
    // lists on its own (a shorter one would be folded into a medley, without its episode).
    await grid.field('At (seconds into it)').fill('120');
    await grid.field('Lasting (seconds)').fill('60');
    const withBreak = grid.nextPut();
    await grid.editor().getByRole('button', { name: 'Add break' }).click();
    assert.equal((await withBreak).status(), 200);
    await page.getByText(/break added to Kitchen Basics/).waitFor();

    const published = await grid.publishProgramme({
      'Episode title': EPISODE.episode_title,
      Season: String(EPISODE.season),
      Episode: String(EPISODE.episode),
      Description: EPISODE.description,
      'Genres (comma-separated)': ' Cooking,  Travel, ',
    });
    assert.equal(published.status(), 200, await published.text());
    await grid.status().getByText(/Published as version \d+: programme details of Kitchen Basics set/).waitFor();
    await grid.listed().getByText('S2 E4 · Where the river meets the sea; Cooking, Travel; a description').waitFor();
    assert.equal(await grid.field('Genres (comma-separated)').inputValue(), 'Cooking, Travel');
    // The open editor, its Programme form included, has no serious accessibility violation.
    await page.addScriptTag({ content: axeSource });
    const axe = await page.evaluate(async () => window.axe.run('#item-editor', { resultTypes: ['violations'] }));
    assert.deepEqual(
      axe.violations.filter((violation) => ['serious', 'critical'].includes(violation.impact)).map((violation) => `${violation.id}: ${violation.help}`),
      [],
    );

    const afterEdit = await tomorrowsSchedule();
    assert.deepEqual(afterEdit.items.map((item) => [item.title, item.start, item.info]), [['Kitchen Basics', ten, EPISODE]]);

    // The guide lists the episode title and its number, once the plan is reloaded.
    const programme = await xmltvProgrammeAt(ten, (inner) => inner.includes('<sub-title>'));
    assert.ok(programme, 'the XMLTV guide lists a programme at 10:00 with a sub-title');
    assert.match(programme, /<title>Kitchen Basics<\/title>/);
    assert.match(programme, /<sub-title>Where the river meets the sea<\/sub-title>/);
    assert.match(programme, /<episode-num system="xmltv_ns">1\.3\.<\/episode-num>/);
    assert.match(programme, /<episode-num system="onscreen">S02E04<\/episode-num>/);
    assert.match(programme, /<desc>Two cooks follow a river down to the coast\.<\/desc>/);

    // Moved 30 minutes later from the keyboard: the info goes with it.
    await grid.field('Move by (minutes)').fill('30');
    await grid.field('Move by (minutes)').press('Tab');
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Later');
    const moved = grid.nextPut();
    await page.keyboard.press('Enter');
    assert.equal((await moved).status(), 200);
    await page.getByText(/Kitchen Basics moved to/).waitFor();
    const afterMove = await tomorrowsSchedule();
    assert.deepEqual(afterMove.items.map((item) => [item.title, item.start, item.info]), [['Kitchen Basics', at(tomorrow, '10:30:00'), EPISODE]]);
    await grid.listed().getByText(/^S2 E4 · Where the river meets the sea/).waitFor();
  });
});

test('programme details the server refuses are shown with its message and nothing changes; an empty form clears them', async () => {
  await asScheduler('grid-metadata-refused', {}, async ({ page, grid }) => {
    await grid.open('demo', tomorrow);
    const start = at(tomorrow, '10:30:00');
    await grid.select(tomorrow, start, 'Kitchen Basics');
    // The form shows what is stored.
    assert.equal(await grid.field('Episode title').inputValue(), EPISODE.episode_title);
    assert.equal(await grid.field('Season').inputValue(), '2');
    assert.equal(await grid.field('Episode').inputValue(), '4');
    assert.equal(await grid.field('Description').inputValue(), EPISODE.description);
    // A season of 0 does not leave the browser: the field counts from 1, as the server does.
    await grid.field('Season').fill('0');
    assert.equal(await grid.field('Season').evaluate((input) => input.validity.rangeUnderflow), true);
    await grid.field('Season').fill('2');

    const before = await tomorrowsSchedule();
    const refused = await grid.publishProgramme({ 'Artwork URL (http or https)': 'javascript:x' });
    assert.equal(refused.status(), 422);
    const body = await refused.json();
    assert.deepEqual(body.errors.map((problem) => problem.message), ['info.artwork_url: "javascript:x" is not an http(s) URL']);
    await grid.status().getByText('Kitchen Basics at 10:30:00: info.artwork_url: "javascript:x" is not an http(s) URL').waitFor();
    await grid.status().getByText(/Refused, the grid shows what is published/).waitFor();
    // Rolled back: the page lists what is published (no artwork), and nothing was.
    assert.equal(await grid.listed().textContent(), 'S2 E4 · Where the river meets the sea; Cooking, Travel; a description');
    const unchanged = await tomorrowsSchedule();
    assert.equal(unchanged.version, before.version, 'nothing was published');
    assert.deepEqual(unchanged.items.map((item) => item.info), [EPISODE]);

    // What was typed is kept, to be fixed.
    assert.equal(await grid.field('Artwork URL (http or https)').inputValue(), 'javascript:x');
    const fixed = await grid.publishProgramme({ 'Artwork URL (http or https)': 'https://images.example/kitchen-basics.jpg', 'Rating value (e.g. TV-PG)': 'TV-G' });
    assert.equal(fixed.status(), 200, await fixed.text());
    await grid.listed().getByText(/rated TV-G; a description; artwork$/).waitFor();
    const withArtwork = await tomorrowsSchedule();
    assert.deepEqual(withArtwork.items.map((item) => item.info), [{ ...EPISODE, rating: { value: 'TV-G' }, artwork_url: 'https://images.example/kitchen-basics.jpg' }]);

    const cleared = await grid.publishProgramme({
      'Episode title': '',
      Season: '',
      Episode: '',
      Description: '',
      'Genres (comma-separated)': '',
      'Rating value (e.g. TV-PG)': '',
      'Artwork URL (http or https)': '',
    });
    assert.equal(cleared.status(), 200, await cleared.text());
    await grid.status().getByText(/programme details of Kitchen Basics cleared/).waitFor();
    assert.equal(await grid.listed().textContent(), 'its title only');
    const bare = await tomorrowsSchedule();
    assert.deepEqual(bare.items.map((item) => [item.start, item.info]), [[start, undefined]]);

    // Given back for the table test below.
    const again = await grid.publishProgramme({ 'Episode title': EPISODE.episode_title, Season: '2', Episode: '4' });
    assert.equal(again.status(), 200, await again.text());
  });
});

test('without JavaScript the table lists each item\'s length and episode, and the add form takes a length', async () => {
  await asScheduler('grid-metadata-table', { javaScriptEnabled: false }, async ({ page, grid }) => {
    await page.goto(`${server.url}/grid/demo?view=day&date=${tomorrow}`);
    const row = (title) => page.getByTestId(`table-${tomorrow}`).locator('tbody tr', { hasText: title });
    const cells = async (title) => (await row(title).locator('td').allInnerTexts()).map((text) => text.trim().replace(/\s+/g, ' '));
    assert.deepEqual(await page.getByTestId(`table-${tomorrow}`).locator('thead th').allTextContents(), ['Start', 'End', 'Length', 'Title', 'Hard start', 'Ad breaks']);
    assert.deepEqual(
      await cells('Kitchen Basics'),
      ['10:30:00 +00:00', '10:33:00 +00:00', 'whole asset', 'Kitchen Basics S2 E4 · Where the river meets the sea', 'yes', '1:00 at 2:00'],
    );

    // A length that is not minutes:seconds is refused, naming the field, with what was typed kept.
    await grid.add('Night Sky (2:00)', '12:00:00', '1:75');
    await page.getByTestId('add-errors').getByText('length: "1:75" is not a length: give it as minutes:seconds (25:00) or seconds (90), or leave it empty for the whole asset').waitFor();
    assert.equal(await grid.addForm().getByLabel(/^Item length/).inputValue(), '1:75');
    assert.equal((await tomorrowsSchedule()).items.length, 1, 'nothing was added');

    await Promise.all([
      page.waitForURL((url) => url.searchParams.get('added') === '1'),
      grid.add('Night Sky (2:00)', '12:00:00', '1:30'),
    ]);
    assert.deepEqual(await cells('Night Sky'), ['12:00:00 +00:00', '12:01:30 +00:00', '1:30', 'Night Sky', 'yes', 'none']);
    const added = (await tomorrowsSchedule()).items.find((item) => item.title === 'Night Sky');
    assert.equal(added.length_ms, 90_000);
  });
});

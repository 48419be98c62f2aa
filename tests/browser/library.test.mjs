// The asset library in a real browser, as the operator, on a copy of the demo data with a media
// folder of its own (the demo's assets linked in) and uploads limited to 1 MiB: a 4 s clip made
// here with ffmpeg is uploaded in 32 KiB chunks with the second chunk dropped once, resumes from
// the offset the server reports, and its transcode is followed until the asset is ready in the
// list; a text file is refused as not media and nothing of it stays; a file over the limit and
// a URL the farm refuses show their messages; the list is searched by title; the asset's page
// renames it, refuses to delete an asset the demo airs (naming where) and deletes the new one.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, linkSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { chromium } from 'playwright-core';
import { LoginPage, apiFetch, chromiumOptions, copyDemo, demoDataDir, prepareDemo, screenshot, serveData } from './onair.mjs';

let browser;
let server;
let data;
let work;
let clip;
let page;
// The clip's title, unique to this run, and its asset once uploaded.
const title = `Library clip ${process.pid}`;
let assetId = null;

/**
 * A media folder of the copy's own, so new assets land here: its folders new and each demo file
 * a hard link (a copy where linking fails). Deleting an asset removes its files one by one, and
 * through a linked folder that would take them from the demo every other test airs.
 */
function privateMedia(shared, dir) {
  mkdirSync(dir, { recursive: true });
  for (const entry of readdirSync(shared, { withFileTypes: true })) {
    const from = join(shared, entry.name);
    const to = join(dir, entry.name);
    if (entry.isDirectory()) {
      privateMedia(from, to);
    } else {
      try { linkSync(from, to); } catch { copyFileSync(from, to); }
    }
  }
}

before(async () => {
  prepareDemo();
  data = copyDemo();
  // Beside the shared demo, on its file system, so its media can be hard links.
  work = mkdtempSync(join(dirname(demoDataDir), 'onair-library-'));
  const media = join(work, 'media');
  privateMedia(data.mediaDir, media);
  data.mediaDir = media;
  data.env = { ...data.env, ONAIR_MEDIA_DIR: media };
  const config = join(work, 'onair.toml');
  writeFileSync(config, '[transcode]\nmax_upload_size = "1MiB"\n');
  clip = join(work, 'clip.mp4');
  const made = spawnSync('ffmpeg', [
    '-hide_banner', '-loglevel', 'error', '-y',
    '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25',
    '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
    '-t', '4', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-shortest', clip,
  ], { encoding: 'utf8' });
  assert.equal(made.status, 0, `ffmpeg: ${made.stderr}`);
  server = await serveData(data, { config });
  browser = await chromium.launch(chromiumOptions);
  page = await browser.newPage();
  await new LoginPage(page, server.url).logIn(undefined, '/library');
});

after(async () => {
  await browser?.close();
  await server?.stop();
  data?.remove();
  if (work) rmSync(work, { recursive: true, force: true });
});

/** The library page, as a page object. */
class LibraryPage {
  constructor(page, baseUrl) {
    this.page = page;
    this.baseUrl = baseUrl;
  }

  async open(query = '') {
    await this.page.goto(`${this.baseUrl}/library${query}`);
  }

  uploadStatus() { return this.page.getByTestId('upload-status'); }
  uploadError() { return this.page.getByTestId('upload-error'); }

  /** Picks `file` (a path or { name, mimeType, buffer }), fills the form and starts the upload. */
  async upload(file, { title = '', ladder = 'demo' } = {}) {
    const form = this.page.getByTestId('upload-form');
    await form.getByLabel('Media file').setInputFiles(file);
    await form.getByLabel('Title', { exact: true }).fill(title);
    await form.getByLabel('Ladder').selectOption(ladder);
    await form.getByRole('button', { name: 'Upload', exact: true }).click();
  }

  /** The list's row of the asset titled `text`. */
  row(text) {
    return this.page.getByTestId('assets').locator('tbody tr').filter({ has: this.page.getByRole('link', { name: text, exact: true }) });
  }

  async search(text) {
    await Promise.all([
      this.page.waitForResponse((response) => response.url().includes('/library?') && response.request().headers()['hx-request'] === 'true'),
      this.page.getByLabel('Title contains').fill(text),
    ]);
  }
}

async function assetCount() {
  const answer = await apiFetch(`${server.url}/api/assets?limit=500`);
  return (await answer.json()).assets.length;
}

async function step(name, body) {
  try {
    await body();
  } catch (error) {
    await screenshot(page, `library-${name}`);
    throw error;
  }
}

test('a clip is uploaded in chunks, resumes after a dropped chunk, and shows its transcode until it is ready', { timeout: 300_000 }, () => step('upload', async () => {
  const library = new LibraryPage(page, server.url);
  const requests = [];
  let patches = 0;
  await page.route('**/api/uploads/*', async (route) => {
    const request = route.request();
    requests.push(`${request.method()} ${request.headers()['upload-offset'] ?? ''}`.trim());
    if (request.method() === 'PATCH') {
      patches += 1;
      if (patches === 2) {
        requests.push('dropped');
        await route.abort('connectionreset');
        return;
      }
    }
    await route.continue();
  });
  await library.open('?chunk=32768');
  assert.equal(await page.getByTestId('upload-form').getAttribute('data-chunk-bytes'), '32768');
  const completed = page.waitForResponse((response) => /\/api\/uploads\/[0-9a-f]{32}\/complete$/.test(response.url()));
  await library.upload(clip, { title });
  const answer = await completed;
  assert.equal(answer.status(), 202);
  const queued = await answer.json();
  assetId = queued.asset_id;
  await page.unroute('**/api/uploads/*');

  // The second chunk was dropped; the page asked the server where to resume and sent it again.
  const dropped = requests.indexOf('dropped');
  assert.ok(dropped > 0, requests.join(', '));
  assert.equal(requests[dropped + 1], 'GET', `asked for the offset after the drop: ${requests.join(', ')}`);
  assert.equal(requests[dropped + 2], requests[dropped - 1], `the same chunk again: ${requests.join(', ')}`);
  await assert.doesNotReject(page.getByTestId('upload-status').filter({ hasText: 'is uploaded; its transcode is queued' }).waitFor());
  assert.equal(await library.uploadStatus().getAttribute('role'), 'status');

  // The job's line, then the list's row, follow the transcode until the asset is ready.
  const job = page.getByTestId('jobs').locator(`[data-job-id="${queued.job_id}"]`);
  await job.waitFor();
  assert.match(await job.textContent(), new RegExp(title));
  await job.getByText('ready', { exact: true }).waitFor({ timeout: 240_000 });
  const row = library.row(title);
  await row.getByTestId('state').getByText('ready', { exact: true }).waitFor({ timeout: 30_000 });
  assert.match(await row.textContent(), /0:04/);
  assert.match(await row.textContent(), /demo/);
  const asset = await (await apiFetch(`${server.url}/api/assets/${assetId}`)).json();
  assert.equal(asset.state, 'ready');
  if (asset.poster_url !== null) {
    assert.equal(await row.locator('img.poster').getAttribute('src'), asset.poster_url);
  }
}));

test('a file that is not media is refused with the farm\'s message and nothing of it is kept', () => step('not-media', async () => {
  const library = new LibraryPage(page, server.url);
  await library.open('?chunk=32768');
  const before = await assetCount();
  const declared = page.waitForResponse((response) => response.url().endsWith('/api/uploads') && response.request().method() === 'POST');
  await library.upload({ name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('these are notes, not a video\n'.repeat(4000)) }, { title: 'Not media' });
  const { id } = await (await declared).json();
  const error = library.uploadError();
  await error.filter({ hasText: 'not a media file' }).waitFor();
  assert.equal(await error.getAttribute('role'), 'alert');
  assert.match(await error.textContent(), /notes\.txt/);
  assert.equal((await apiFetch(`${server.url}/api/uploads/${id}`)).status, 404, 'the upload is gone');
  assert.equal(await assetCount(), before, 'no asset was made');
  assert.equal(await page.evaluate(() => Object.keys(localStorage).filter((key) => key.startsWith('onair-upload:notes.txt')).length), 0);
}));

test('a file over the upload limit is refused before any byte is sent, naming the limit', () => step('too-large', async () => {
  const library = new LibraryPage(page, server.url);
  await library.open();
  const sent = [];
  page.on('request', (request) => { if (request.method() === 'PATCH') sent.push(request.url()); });
  await library.upload({ name: 'big.mp4', mimeType: 'video/mp4', buffer: Buffer.alloc(2 * 1024 * 1024) });
  await library.uploadError().filter({ hasText: 'larger than the 1 MiB' }).waitFor();
  assert.match(await library.uploadError().textContent(), /big\.mp4/);
  assert.deepEqual(sent, []);
}));

test('a URL the farm refuses shows its message', () => step('bad-url', async () => {
  const library = new LibraryPage(page, server.url);
  await library.open();
  await page.getByLabel('URL (http or https)').fill('http://127.0.0.1:1/clip.mp4');
  await page.getByRole('button', { name: 'Import' }).click();
  const error = page.getByTestId('import-error');
  await error.filter({ hasText: 'The import was refused' }).waitFor();
  assert.equal(await error.getAttribute('role'), 'alert');
  assert.match(await error.textContent(), /private|loopback|address/i);
}));

test('the list is searched by title and filtered by state in place, and reads the same without JavaScript', () => step('search', async () => {
  assert.ok(assetId, 'the upload test made the asset');
  const library = new LibraryPage(page, server.url);
  await library.open();
  await library.search(title);
  await page.waitForURL((url) => url.searchParams.get('title') === title);
  const rows = page.getByTestId('assets').locator('tbody tr');
  await rows.first().waitFor();
  assert.equal(await rows.count(), 1);
  assert.ok(await library.row(title).isVisible());
  await Promise.all([
    page.waitForResponse((response) => response.url().includes('state=failed')),
    page.getByLabel('State').selectOption('failed'),
  ]);
  await page.getByTestId('no-assets').waitFor();

  // The server renders the same search as a whole page.
  const plain = await page.request.get(`${server.url}/library?title=${encodeURIComponent(title)}`);
  const html = await plain.text();
  assert.ok(html.includes(`href="/library/${assetId}"`), html);
  assert.ok(html.includes('<h1>Asset library</h1>'));
}));

test('the asset\'s page renames it, refuses to delete an asset the demo airs, and deletes the new one', () => step('detail', async () => {
  assert.ok(assetId, 'the upload test made the asset');
  await page.goto(`${server.url}/library/${assetId}`);
  assert.ok((await page.getByTestId('renditions').locator('tbody tr').count()) > 0);
  await page.getByLabel('Title in the library').fill(`${title} (renamed)`);
  await page.getByRole('button', { name: 'Rename' }).click();
  await page.getByTestId('notice').filter({ hasText: 'renamed' }).waitFor();
  assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), `${title} (renamed)`);

  // An empty title is refused on the field.
  await page.getByLabel('Title in the library').fill('  ');
  await page.getByLabel('Title in the library').evaluate((input) => input.removeAttribute('required'));
  await page.getByRole('button', { name: 'Rename' }).click();
  await page.getByTestId('error').waitFor();
  assert.match(await page.locator('#asset-title-problem').textContent(), /empty/);

  // A demo programme airs: deleting it is refused, naming where.
  const listed = await (await apiFetch(`${server.url}/api/assets?q=Morning%20Headlines`)).json();
  const airing = listed.assets.find((asset) => asset.title === 'Morning Headlines').id;
  await page.goto(`${server.url}/library/${airing}`);
  await page.getByLabel(/Yes, delete/).check();
  await page.getByRole('button', { name: 'Delete asset' }).click();
  const refusal = page.getByTestId('error');
  await refusal.waitFor();
  assert.match(await refusal.textContent(), /in use and was not deleted/);
  assert.match(await refusal.textContent(), /demo/);
  assert.equal((await apiFetch(`${server.url}/api/assets/${airing}`)).status, 200);

  await page.goto(`${server.url}/library/${assetId}`);
  await page.getByLabel(/Yes, delete/).check();
  await Promise.all([
    page.waitForURL((url) => url.pathname === '/library'),
    page.getByRole('button', { name: 'Delete asset' }).click(),
  ]);
  await page.getByTestId('notice').filter({ hasText: `deleted asset ${assetId}` }).waitFor();
  assert.equal((await apiFetch(`${server.url}/api/assets/${assetId}`)).status, 404);
}));

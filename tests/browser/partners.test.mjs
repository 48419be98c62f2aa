// hls.js in headless Chromium plays a partner's signed URL, from a page on another origin (as a
// partner's player would): the multivariant playlist, the media playlist and every segment come
// from under the signed prefix, and the video plays on. The same URLs without the token, or with
// a damaged one, are refused with 403.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chromium } from 'playwright-core';
import { apiFetch, chromiumOptions, copyDemo, onairBin, prepareDemo, serveData, servePlayerPage } from './onair.mjs';

let browser;
let playerPage;
let data;
let server;

before(async () => {
  prepareDemo();
  data = copyDemo();
  const added = spawnSync(onairBin, ['partner', 'add', 'fastco', '--channel', 'demo', '--signed', '--cue-dialect', 'cue-out'], { env: data.env, encoding: 'utf8' });
  if (added.status !== 0) throw new Error(`onair partner add failed: ${added.stderr}`);
  server = await serveData(data);
  browser = await chromium.launch(chromiumOptions);
  playerPage = await servePlayerPage();
});

after(async () => {
  await browser?.close();
  await playerPage?.stop();
  await server?.stop();
  data?.remove();
});

test('hls.js plays a partner\'s signed URL, every request under its prefix, and the unsigned one is refused', { timeout: 90_000 }, async () => {
  const signed = await apiFetch(`${server.url}/api/partners/fastco/sign`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ channel: 'demo', hours: 1 }),
  });
  assert.equal(signed.status, 200, await signed.clone().text());
  const { prefix } = await signed.json();
  assert.match(prefix, /^\/p\/fastco\/t\/\d+\.[0-9a-f]{64}\/demo\/$/);
  const base = `${server.url}${prefix}`;

  // Unsigned and damaged: 403, with the reason.
  const unsigned = await fetch(`${server.url}/p/fastco/demo/master.m3u8`);
  assert.equal(unsigned.status, 403);
  assert.match(await unsigned.text(), /needs signed URLs/);
  const damaged = await fetch(`${base.replace(/[0-9a-f]\/demo\/$/, (tail) => `${tail[0] === '0' ? '1' : '0'}/demo/`)}master.m3u8`);
  assert.equal(damaged.status, 403);
  assert.match(await damaged.text(), /does not match/);

  const page = await browser.newPage();
  const pageErrors = [];
  page.on('pageerror', (error) => pageErrors.push(String(error)));
  await page.goto(playerPage.url);
  await page.addScriptTag({ url: `${server.url}/static/hls.min.js` });
  await page.evaluate((src) => {
    window.onairLog = { loaded: [], fatal: [] };
    const video = document.getElementById('player');
    const hls = new window.Hls();
    hls.on(window.Hls.Events.FRAG_LOADED, (_event, data) => window.onairLog.loaded.push(data.frag.url));
    hls.on(window.Hls.Events.LEVEL_LOADED, (_event, data) => window.onairLog.loaded.push(data.details.url));
    hls.on(window.Hls.Events.ERROR, (_event, data) => {
      if (data.fatal) window.onairLog.fatal.push(`${data.type}: ${data.details}`);
    });
    hls.loadSource(src);
    hls.attachMedia(video);
  }, `${base}master.m3u8`);

  // Playing, then 4 s further on (a live player starts its currentTime inside the window).
  await page.waitForFunction(() => window.onairLog.fatal.length > 0 || document.getElementById('player').currentTime > 0, null, { timeout: 30_000, polling: 250 });
  const started = await page.evaluate(() => document.getElementById('player').currentTime);
  await page.waitForFunction((t) => window.onairLog.fatal.length > 0 || document.getElementById('player').currentTime > t + 4, started, { timeout: 30_000, polling: 250 });
  const log = await page.evaluate(() => window.onairLog);
  assert.deepEqual(log.fatal, [], 'no fatal hls.js error');
  assert.deepEqual(pageErrors, [], 'no page error');
  assert.ok(log.loaded.length >= 3, `playlists and segments loaded: ${log.loaded}`);
  for (const url of log.loaded) assert.ok(url.startsWith(base), `${url} is under the signed prefix`);
  const video = await page.evaluate(() => {
    const v = document.getElementById('player');
    return { error: v.error && v.error.message, width: v.videoWidth };
  });
  assert.equal(video.error, null);
  assert.ok(video.width > 0, 'video frames decoded');

  // Every one of those requests was counted: each URL at least once (a live playlist reloaded
  // within its max-age is the browser cache's, which hls.js still reports as loaded).
  const shown = await (await apiFetch(`${server.url}/api/partners/fastco`)).json();
  const distinct = new Set(log.loaded).size;
  assert.ok(shown.requests.requests >= distinct + 2, `${JSON.stringify(shown.requests)} for ${distinct} URLs`);
  assert.equal(shown.requests.refused, 2, JSON.stringify(shown.requests));
});

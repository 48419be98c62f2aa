// hls.js in headless Chromium plays the demo's stitched partner (`fastplus-ads`, made by
// `onair demo`) from a page on another origin, as the partner's player would: its master starts
// a session whose ads the demo's built-in ad server decides from the partner's tag, and the
// player plays from content into the break's first ad. Every playlist, segment and ad tracking
// URL it loads is under the partner's prefix, and the ad's impression reaches the ad server.
// The server's clock starts 20 s before one of the demo's breaks, so the test lasts about 40 s.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';
import { chromiumOptions, prepareDemo, serveBeforeDemoBreak, servePlayerPage } from './onair.mjs';

const partnerPrefix = '/p/fastplus-ads/demo/';

let browser;
let playerPage;

before(async () => {
  prepareDemo();
  browser = await chromium.launch(chromiumOptions);
  playerPage = await servePlayerPage();
});

after(async () => {
  await browser?.close();
  await playerPage?.stop();
});

const sleep = (ms) => new Promise((done) => setTimeout(done, ms));

test('hls.js plays a stitched partner URL from content into the partner session\'s ad', { timeout: 60_000 }, async () => {
  const server = await serveBeforeDemoBreak(20);
  const page = await browser.newPage();
  try {
    const refused = [];
    const pageErrors = [];
    page.on('pageerror', (error) => pageErrors.push(String(error)));
    page.on('response', (response) => {
      if (response.url().startsWith(server.url) && response.status() >= 400) refused.push(`${response.status()} ${response.url()}`);
    });
    await page.goto(playerPage.url);
    await page.addScriptTag({ url: `${server.url}/static/hls.min.js` });
    await page.evaluate((src) => {
      window.onairLog = { loaded: [], fatal: [] };
      const hls = new window.Hls();
      window.onairPlayhead = () => hls.playingDate?.getTime() ?? null;
      hls.on(window.Hls.Events.FRAG_LOADED, (_event, data) => window.onairLog.loaded.push(data.frag.url));
      hls.on(window.Hls.Events.LEVEL_LOADED, (_event, data) => window.onairLog.loaded.push(data.details.url));
      hls.on(window.Hls.Events.ERROR, (_event, data) => {
        if (data.fatal) window.onairLog.fatal.push(`${data.type}: ${data.details}`);
      });
      hls.loadSource(src);
      hls.attachMedia(document.getElementById('player'));
    }, `${server.url}${partnerPrefix}master.m3u8?aid=7`);

    // Play until the playhead is 3 s into the break (the first ad lasts 12 or 16 s).
    await page.waitForFunction((breakStart) => window.onairLog.fatal.length > 0
      || (window.onairPlayhead() ?? 0) > breakStart + 3_000, server.breakStart, { timeout: 45_000, polling: 250 });
    const log = await page.evaluate(() => window.onairLog);
    const video = await page.evaluate(() => {
      const v = document.getElementById('player');
      return { error: v.error && v.error.message, width: v.videoWidth };
    });
    assert.deepEqual(log.fatal, [], 'no fatal hls.js error');
    assert.deepEqual(pageErrors, [], 'no page error');
    assert.deepEqual(refused, [], 'onair refused nothing');
    assert.equal(video.error, null);
    assert.ok(video.width > 0, 'video frames decoded');

    // Every URL under the partner's prefix, the session's ads fetched through its tracking URLs.
    for (const url of log.loaded) assert.ok(new URL(url).pathname.startsWith(partnerPrefix), `${url} is under ${partnerPrefix}`);
    const sessions = new Set(log.loaded.map((url) => /\/sessions\/([0-9a-f]{32})\//.exec(url)?.[1]).filter(Boolean));
    assert.equal(sessions.size, 1, `one session: ${[...sessions]}`);
    const [session] = sessions;
    const adFragments = log.loaded.filter((url) => url.includes(`${partnerPrefix}sessions/${session}/ads/`));
    assert.ok(adFragments.length > 0, `an ad segment played: ${log.loaded.join('\n')}`);

    // The partner tag's impression of the first ad reached the demo's ad server.
    let impression = null;
    for (let tries = 0; tries < 20 && impression === null; tries += 1) {
      const hits = await (await fetch(`${server.url}/demo-ads/beacons`)).json();
      impression = hits.find((hit) => hit.query.sid === session && hit.query.event === 'impression') ?? null;
      if (impression === null) await sleep(250);
    }
    assert.ok(impression !== null, `the ad's impression fired for session ${session}`);
  } finally {
    await page.close();
    await server.stop();
  }
});

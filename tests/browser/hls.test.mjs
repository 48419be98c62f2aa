// hls.js in headless Chromium plays the demo channel from the page at `/`, across a clip boundary.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';
import { chromiumOptions, prepareDemo, serve } from './onair.mjs';

let server;
let browser;

before(async () => {
  prepareDemo();
  server = await serve();
  browser = await chromium.launch(chromiumOptions);
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test('hls.js plays the demo channel and currentTime advances across a clip boundary', { timeout: 120_000 }, async () => {
  const page = await browser.newPage();
  const pageErrors = [];
  page.on('pageerror', (error) => pageErrors.push(String(error)));
  await page.goto(`${server.url}/`);
  await page.waitForFunction(() => window.onairHls !== undefined, null, { timeout: 10_000 });

  // Record the discontinuity counter (cc) of each fragment as it starts to play, and fatal errors.
  await page.evaluate(() => {
    window.onairLog = { playing: [], fatal: [] };
    const hls = window.onairHls;
    hls.on(window.Hls.Events.FRAG_CHANGED, (_event, data) => {
      const video = document.getElementById('player');
      window.onairLog.playing.push({ cc: data.frag.cc, sn: data.frag.sn, time: video.currentTime });
    });
    hls.on(window.Hls.Events.ERROR, (_event, data) => {
      if (data.fatal) window.onairLog.fatal.push(`${data.type}: ${data.details}`);
    });
  });

  // Wait until a fragment from a later discontinuity (the next clip) is playing...
  await page.waitForFunction(() => {
    const played = window.onairLog.playing;
    return played.length > 1 && played.at(-1).cc > played[0].cc;
  }, null, { timeout: 90_000, polling: 250 });
  const atBoundary = await page.evaluate(() => document.getElementById('player').currentTime);

  // ...and playback keeps going after it.
  await page.waitForFunction((t) => document.getElementById('player').currentTime > t + 2, atBoundary, { timeout: 20_000 });

  const log = await page.evaluate(() => window.onairLog);
  assert.deepEqual(log.fatal, [], 'no fatal hls.js error');
  assert.deepEqual(pageErrors, [], 'no page error');
  const video = await page.evaluate(() => {
    const v = document.getElementById('player');
    return { paused: v.paused, error: v.error && v.error.message, width: v.videoWidth };
  });
  assert.equal(video.error, null);
  assert.ok(video.width > 0, 'video frames decoded');
});

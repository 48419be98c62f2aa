// hls.js in headless Chromium plays the demo channel's HLS-TS across an ad break's edges, where
// the playlist lists the segment at its cued URL (`scte35/…`: the shared file with the break's
// SCTE-35 cue on a PID of its own, registered in the PMT). Each test's server runs on a clock at
// normal speed that starts a few seconds before the break's start, or before its end.
import { after, afterEach, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';
import { chromiumOptions, demoBreakAfter, demoBreakLength, prepareDemo, serveOnClock } from './onair.mjs';

let server;
let browser;

before(async () => {
  prepareDemo();
  browser = await chromium.launch(chromiumOptions);
});

afterEach(async () => {
  await server?.stop();
  server = undefined;
});

after(async () => {
  await browser?.close();
});

/** Plays the channel's HLS-TS until a cued fragment has played and 2 s more. */
async function playsAcrossACuedSegment(cue) {
  const page = await browser.newPage();
  const pageErrors = [];
  page.on('pageerror', (error) => pageErrors.push(String(error)));
  await page.route(`${server.url}/scte35-test.html`, (route) => route.fulfill({
    contentType: 'text/html',
    body: '<!doctype html><meta charset="utf-8"><video id="player" muted autoplay playsinline></video>',
  }));
  await page.goto(`${server.url}/scte35-test.html`);
  await page.addScriptTag({ url: `${server.url}/static/hls.min.js` });
  await page.evaluate((src) => {
    window.onairLog = { playing: [], fatal: [] };
    const video = document.getElementById('player');
    const hls = new window.Hls();
    hls.on(window.Hls.Events.FRAG_CHANGED, (_event, data) => {
      window.onairLog.playing.push({ url: data.frag.url, time: video.currentTime });
    });
    hls.on(window.Hls.Events.ERROR, (_event, data) => {
      if (data.fatal) window.onairLog.fatal.push(`${data.type}: ${data.details}`);
    });
    hls.loadSource(src);
    hls.attachMedia(video);
  }, `${server.url}/channels/demo/master.m3u8`);

  await page.waitForFunction((cue) => window.onairLog.fatal.length > 0
    || window.onairLog.playing.some((frag) => frag.url.includes(`/scte35/`) && frag.url.includes(`/${cue}/`)),
  cue, { timeout: 60_000, polling: 250 });
  const atCue = await page.evaluate(() => document.getElementById('player').currentTime);
  await page.waitForFunction((t) => window.onairLog.fatal.length > 0 || document.getElementById('player').currentTime > t + 2, atCue, { timeout: 20_000 });

  const log = await page.evaluate(() => window.onairLog);
  assert.deepEqual(log.fatal, [], 'no fatal hls.js error');
  assert.deepEqual(pageErrors, [], 'no page error');
  const cued = log.playing.filter((frag) => frag.url.includes('/scte35/'));
  assert.equal(cued.length, 1, `one cued fragment played: ${JSON.stringify(log.playing)}`);
  assert.match(cued[0].url, new RegExp(`/channels/demo/\\d+p/scte35/\\d+/${cue}/\\d+/\\d+/assets/`));
  const video = await page.evaluate(() => {
    const v = document.getElementById('player');
    return { error: v.error && v.error.message, width: v.videoWidth };
  });
  assert.equal(video.error, null);
  assert.ok(video.width > 0, 'video frames decoded');
}

test('hls.js plays into an ad break through the segment that carries its SCTE-35 out cue', { timeout: 120_000 }, async () => {
  const breakStart = demoBreakAfter(Date.now());
  server = await serveOnClock(new Date(breakStart - 4_000), 1);
  await playsAcrossACuedSegment('out');
});

test('hls.js plays out of an ad break through the segment that carries its SCTE-35 in cue', { timeout: 120_000 }, async () => {
  const breakEnd = demoBreakAfter(Date.now()) + demoBreakLength;
  server = await serveOnClock(new Date(breakEnd - 4_000), 1);
  await playsAcrossACuedSegment('in');
});

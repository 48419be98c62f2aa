// hls.js in headless Chromium plays the demo channel from the page at `/`, across a clip boundary.
// Each test's server runs on a clock (at normal speed) that starts 3 s after a clip boundary in
// the ad break before a programme (`serveAfterBoundary`): hls.js starts three segments (6 s)
// behind the live edge, so it meets that boundary at once and more soon after, where the wall
// clock could take minutes.
import { after, afterEach, before, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';
import { LoginPage, chromiumOptions, prepareDemo, serveAfterBoundary } from './onair.mjs';

let server;
let browser;

before(async () => {
  prepareDemo();
  browser = await chromium.launch(chromiumOptions);
});

// A server of its own for each test, so that each starts just after a boundary.
beforeEach(async () => {
  server = await serveAfterBoundary();
});

afterEach(async () => {
  await server?.stop();
  server = undefined;
});

after(async () => {
  await browser?.close();
});

test('hls.js plays the demo channel and currentTime advances across a clip boundary', { timeout: 120_000 }, async () => {
  const page = await browser.newPage();
  const pageErrors = [];
  page.on('pageerror', (error) => pageErrors.push(String(error)));
  // The channel list, with its player, is the operator's first page.
  await new LoginPage(page, server.url).logIn();
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

test('hls.js plays the HLS-fMP4 channel, video and its audio rendition, across a clip boundary', { timeout: 120_000 }, async () => {
  const page = await browser.newPage();
  const pageErrors = [];
  page.on('pageerror', (error) => pageErrors.push(String(error)));
  // A blank page on the server's origin with the hls.js the home page vendors.
  await page.route(`${server.url}/hls-fmp4-test.html`, (route) => route.fulfill({
    contentType: 'text/html',
    body: '<!doctype html><meta charset="utf-8"><video id="player" muted autoplay playsinline></video>',
  }));
  await page.goto(`${server.url}/hls-fmp4-test.html`);
  await page.addScriptTag({ url: `${server.url}/static/hls.min.js` });
  await page.evaluate((src) => {
    window.onairLog = { playing: [], fatal: [], audioTracks: [] };
    const video = document.getElementById('player');
    const hls = new window.Hls();
    hls.on(window.Hls.Events.FRAG_CHANGED, (_event, data) => {
      window.onairLog.playing.push({ cc: data.frag.cc, sn: data.frag.sn, time: video.currentTime });
    });
    hls.on(window.Hls.Events.AUDIO_TRACKS_UPDATED, (_event, data) => {
      window.onairLog.audioTracks = data.audioTracks.map((track) => `${track.groupId}/${track.name}`);
    });
    hls.on(window.Hls.Events.ERROR, (_event, data) => {
      if (data.fatal) window.onairLog.fatal.push(`${data.type}: ${data.details}`);
    });
    hls.loadSource(src);
    hls.attachMedia(video);
  }, `${server.url}/channels/demo/master-fmp4.m3u8`);

  await page.waitForFunction(() => {
    const played = window.onairLog.playing;
    return window.onairLog.fatal.length > 0 || (played.length > 1 && played.at(-1).cc > played[0].cc);
  }, null, { timeout: 90_000, polling: 250 });
  const atBoundary = await page.evaluate(() => document.getElementById('player').currentTime);
  await page.waitForFunction((t) => window.onairLog.fatal.length > 0 || document.getElementById('player').currentTime > t + 2, atBoundary, { timeout: 20_000 });

  const log = await page.evaluate(() => window.onairLog);
  assert.deepEqual(log.fatal, [], 'no fatal hls.js error');
  assert.deepEqual(pageErrors, [], 'no page error');
  assert.ok(log.audioTracks.length > 0 && log.audioTracks.every((track) => track.startsWith('audio-')), `the audio renditions: ${log.audioTracks}`);
  const video = await page.evaluate(() => {
    const v = document.getElementById('player');
    return { error: v.error && v.error.message, width: v.videoWidth, audioBytes: v.webkitAudioDecodedByteCount };
  });
  assert.equal(video.error, null);
  assert.ok(video.width > 0, 'video frames decoded');
  assert.ok(video.audioBytes > 0, `audio decoded from the audio rendition (${video.audioBytes} bytes)`);
});

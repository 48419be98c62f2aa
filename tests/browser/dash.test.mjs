// DASH in headless Chromium: shaka-player and dash.js each play the demo channel's MPD and
// currentTime advances across two Period boundaries (clip changes). The MPD has a video and an
// audio AdaptationSet over strict CMAF tracks (dash.js refuses muxed representations).
//
// Each test's server runs on a virtual clock at normal speed that starts 3 s after a clip
// boundary found first (`serveAfterBoundary`: one in the ad break before the programme airing
// now, whose slate runs last a few seconds). A player that starts a presentation delay (6 s)
// behind the live edge then meets that boundary at once and the next ones (more slate runs, then
// the programme) soon after.
import { after, afterEach, before, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { chromiumOptions, prepareDemo, serveAfterBoundary } from './onair.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const players = {
  shaka: join(here, 'node_modules', 'shaka-player', 'dist', 'shaka-player.compiled.js'),
  dashjs: join(here, 'node_modules', 'dashjs', 'dist', 'modern', 'umd', 'dash.all.min.js'),
};

let server;
let browser;

/** Period starts (seconds since availabilityStartTime) listed by the MPD now. */
async function periodStarts(mpdUrl) {
  const text = await (await fetch(mpdUrl)).text();
  return [...text.matchAll(/<Period\b[^>]*\bstart="PT([0-9.]+)S"/g)].map((m) => Number(m[1]));
}

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

/**
 * Loads `player` into a blank page on the server's origin and plays the MPD. Resolves to what
 * happened: the Period boundaries currentTime crossed, errors, and the video element's state.
 */
async function playDash(player) {
  const mpdUrl = `${server.url}/channels/demo/manifest.mpd`;
  const response = await fetch(mpdUrl);
  assert.equal(response.status, 200, `${mpdUrl} is served`);

  assert.ok(existsSync(players[player]), `${players[player]} is missing: run \`npm ci\` in tests/browser`);
  const page = await browser.newPage();
  const console_ = [];
  const pageErrors = [];
  page.on('console', (message) => console_.push(`[${message.type()}] ${message.text()}`));
  page.on('pageerror', (error) => pageErrors.push(String(error)));
  await page.route(`${server.url}/dash-test.html`, (route) => route.fulfill({
    contentType: 'text/html',
    body: '<!doctype html><meta charset="utf-8"><video id="player" muted autoplay playsinline></video>',
  }));
  await page.goto(`${server.url}/dash-test.html`);
  await page.addScriptTag({ content: readFileSync(players[player], 'utf8') });
  await page.evaluate(({ mpd, player }) => {
    const video = document.getElementById('player');
    window.dashLog = { errors: [] };
    if (player === 'shaka') {
      shaka.polyfill.installAll();
      const shakaPlayer = new shaka.Player();
      shakaPlayer.addEventListener('error', (event) => {
        window.dashLog.errors.push(`shaka error ${event.detail.code} (severity ${event.detail.severity}): ${JSON.stringify(event.detail.data).slice(0, 300)}`);
      });
      shakaPlayer.attach(video)
        .then(() => shakaPlayer.load(mpd))
        .catch((error) => window.dashLog.errors.push(`shaka load failed: ${error.code} ${JSON.stringify(error.data).slice(0, 300)}`));
    } else {
      const dashPlayer = dashjs.MediaPlayer().create();
      dashPlayer.updateSettings({ debug: { logLevel: dashjs.Debug.LOG_LEVEL_WARNING } });
      dashPlayer.on(dashjs.MediaPlayer.events.ERROR, (event) => {
        const error = event.error ?? {};
        window.dashLog.errors.push(`dash.js error ${error.code}: ${error.message}`);
      });
      dashPlayer.initialize(video, mpd, true);
    }
  }, { mpd: mpdUrl, player });

  // Sample currentTime and the MPD's Period starts until currentTime has passed two Period
  // boundaries that came after playback began (by 2 s), an error, or the time limit.
  const starts = new Set();
  let firstTime = null;
  let state = null;
  const crossed = () => [...starts].filter((s) => firstTime !== null && s > firstTime && state.time > s + 2).sort((a, b) => a - b);
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline) {
    for (const start of await periodStarts(mpdUrl)) starts.add(start);
    state = await page.evaluate(() => {
      const video = document.getElementById('player');
      return {
        time: video.currentTime,
        paused: video.paused,
        width: video.videoWidth,
        // Chromium's count of audio bytes decoded: the audio AdaptationSet plays too.
        audioBytes: video.webkitAudioDecodedByteCount,
        error: video.error && `${video.error.code} ${video.error.message}`,
        errors: window.dashLog.errors,
      };
    });
    if (firstTime === null && state.time > 0) firstTime = state.time;
    if (state.errors.length > 0 || state.error || crossed().length >= 2) break;
    await new Promise((done) => setTimeout(done, 500));
  }
  await page.close();
  return { ...state, firstTime, crossed: crossed(), console: console_, pageErrors };
}

function assertPlayedAcrossTwoPeriods(result) {
  assert.deepEqual(result.errors, [], 'no player error');
  assert.equal(result.error, null, 'no media element error');
  assert.deepEqual(result.pageErrors, [], 'no page error');
  assert.ok(result.width > 0, 'video frames decoded');
  assert.ok(result.audioBytes > 0, `audio decoded from the audio AdaptationSet (${result.audioBytes} bytes)`);
  assert.ok(
    result.crossed.length >= 2,
    `currentTime went from ${result.firstTime} to ${result.time} and crossed Period starts ${result.crossed}; console:\n${result.console.slice(-20).join('\n')}`,
  );
}

test('shaka-player plays the DASH MPD and currentTime advances across two Period boundaries', { timeout: 150_000 }, async () => {
  const result = await playDash('shaka');
  console.log(`shaka: currentTime ${result.firstTime} -> ${result.time}, crossed Period starts ${result.crossed}`);
  assertPlayedAcrossTwoPeriods(result);
});

test('dash.js plays the DASH MPD and currentTime advances across two Period boundaries', { timeout: 150_000 }, async () => {
  const result = await playDash('dashjs');
  console.log(`dash.js: currentTime ${result.firstTime} -> ${result.time}, crossed Period starts ${result.crossed}`);
  assertPlayedAcrossTwoPeriods(result);
});

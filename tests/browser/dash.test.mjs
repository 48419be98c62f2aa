// DASH in headless Chromium: shaka-player and dash.js each play the demo channel's MPD and
// currentTime advances across two Period boundaries (clip changes). The MPD has a video and an
// audio AdaptationSet over strict CMAF tracks (dash.js refuses muxed representations).
//
// The server runs on a virtual clock at normal speed that starts 3 s after a clip boundary found
// first (a server all but frozen at the wall clock's instant, its clock at a thousandth of real
// time since the configuration refuses zero, lists the last 20 s; the last segment after
// an EXT-X-DISCONTINUITY starts a run). A player that starts a presentation delay (6 s) behind
// the live edge then meets that boundary at once and the next one (runs last 8 to 20 s) soon
// after.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { chromiumOptions, demoDataDir, onairBin, prepareDemo } from './onair.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const players = {
  shaka: join(here, 'node_modules', 'shaka-player', 'dist', 'shaka-player.compiled.js'),
  dashjs: join(here, 'node_modules', 'dashjs', 'dist', 'modern', 'umd', 'dash.all.min.js'),
};

let server;
let browser;

/** Serves the demo data on 127.0.0.1:0 with a virtual clock from `start` (a Date) at `speed`. */
function serveOnClock(start, speed) {
  const configDir = mkdtempSync(join(tmpdir(), 'onair-dash-'));
  const config = join(configDir, 'onair.toml');
  writeFileSync(config, `[playout]\nvirtual_clock = { start = "${start.toISOString()}", speed = ${speed.toFixed(3)} }\n`);
  return new Promise((resolvePromise, reject) => {
    const child = spawn(onairBin, ['--config', config, 'serve'], {
      env: { ...process.env, ONAIR_DATA_DIR: demoDataDir, ONAIR_HTTP_ADDR: '127.0.0.1:0', ONAIR_LOG: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk) => { stderr += chunk; });
    const timer = setTimeout(() => reject(new Error(`onair did not start: ${stderr}`)), 30_000);
    child.stdout.on('data', (chunk) => {
      const match = /onair listening on (http:\/\/\S+)/.exec(String(chunk));
      if (match) {
        clearTimeout(timer);
        resolvePromise({
          url: match[1],
          stop: () => new Promise((done) => {
            child.once('exit', () => { rmSync(configDir, { recursive: true, force: true }); done(); });
            child.kill('SIGTERM');
          }),
        });
      }
    });
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`onair exited with ${code}: ${stderr}`)); });
  });
}

/**
 * A run start (ms) inside the window a server frozen at `at` lists: the last but one when there
 * are two or more (so the next boundary follows within the window), else the last.
 */
async function boundaryInWindowAt(at) {
  const probe = await serveOnClock(at, 0.001);
  try {
    const text = await (await fetch(`${probe.url}/channels/demo/360p/ts.m3u8`)).text();
    let next = null;
    let discontinuity = false;
    const boundaries = [];
    for (const line of text.split('\n')) {
      if (line === '#EXT-X-DISCONTINUITY') discontinuity = true;
      const pdt = /^#EXT-X-PROGRAM-DATE-TIME:(.+)$/.exec(line);
      if (pdt) next = Date.parse(pdt[1]);
      const extinf = /^#EXTINF:([0-9.]+)/.exec(line);
      if (extinf) {
        if (discontinuity) boundaries.push(next);
        discontinuity = false;
        next += Math.round(Number(extinf[1]) * 1000);
      }
    }
    if (boundaries.length === 0) return null;
    return boundaries.length === 1 ? boundaries[0] : boundaries[boundaries.length - 2];
  } finally {
    await probe.stop();
  }
}

/** A clip boundary of the demo channel in the last ~40 s of the wall clock. */
async function recentBoundary() {
  const now = Date.now();
  for (const back of [0, 10_000, 20_000]) {
    const boundary = await boundaryInWindowAt(new Date(now - back));
    if (boundary !== null) return boundary;
  }
  throw new Error('the demo channel changes clips at least every 20 s');
}

/** Period starts (seconds since availabilityStartTime) listed by the MPD now. */
async function periodStarts(mpdUrl) {
  const text = await (await fetch(mpdUrl)).text();
  return [...text.matchAll(/<Period\b[^>]*\bstart="PT([0-9.]+)S"/g)].map((m) => Number(m[1]));
}

before(async () => {
  prepareDemo();
  server = await serveOnClock(new Date((await recentBoundary()) + 3_050), 1);
  browser = await chromium.launch(chromiumOptions);
});

after(async () => {
  await browser?.close();
  await server?.stop();
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

// SSAI sessions played by real players in headless Chromium: hls.js on HLS-TS and on HLS-fMP4,
// shaka-player and dash.js on DASH, each from the demo's content into an ad break, through the
// session's ads and back to content, with the demo's built-in ad server (src/demo_ads.rs)
// deciding the ads and receiving the beacons.
//
// Each test's server runs on a clock at normal speed that starts 30 s before one of the demo's
// breaks (`serveBeforeDemoBreak`). The player's page is on another origin than onair, as a
// publisher's would be (`servePlayerPage`), so every answer the player reads must allow it. The
// session starts at once, from the page: explicitly (the page POSTs for it) or implicitly (the
// player asks for the channel's manifest with `?aid=1`), so the session's device is the browser,
// and it exists well before the engine decides the break's ads (between 40 s and 8 s before
// it). The player plays until its playhead is past the break. A player test takes about 100 s
// (a 60 s break, what airs before it, and the player's distance from the live edge), so they run
// two at a time: about 3.5 minutes for the four, which holds on 2 cores with one of them busy.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { chromiumOptions, prepareDemo, serveBeforeDemoBreak, servePlayerPage } from './onair.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const dashPlayers = {
  shaka: join(here, 'node_modules', 'shaka-player', 'dist', 'shaka-player.compiled.js'),
  dashjs: join(here, 'node_modules', 'dashjs', 'dist', 'modern', 'umd', 'dash.all.min.js'),
};

// The VAST events each of the demo's ads tracks, in the order a whole ad fires them; the
// wrapper the pod's second ad (B) comes through tracks some of them too.
const adEvents = ['impression', 'start', 'firstQuartile', 'midpoint', 'thirdQuartile', 'complete'];
const wrapperEvents = ['impression', 'start', 'complete'];

// The longest the video's currentTime may stand still once playing (a player waiting for a
// segment, a switch of Period or discontinuity).
const longestWait = 3_000;

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

/** Polls `probe` every 500 ms until it answers something truthy (returned) or `ms` pass (null). */
async function eventually(probe, ms) {
  const deadline = Date.now() + ms;
  for (;;) {
    const answer = await probe();
    if (answer) return answer;
    if (Date.now() > deadline) return null;
    await sleep(500);
  }
}

/** The player's page, recording what it asks of onair (`server`). */
async function openPlayerPage(server) {
  const page = await browser.newPage();
  const seen = { responses: [], failed: [], pageErrors: [], console: [], mpds: [] };
  page.on('pageerror', (error) => seen.pageErrors.push(String(error)));
  page.on('console', (message) => seen.console.push(`[${message.type()}] ${message.text()}`));
  page.on('requestfailed', (request) => seen.failed.push(`${request.url()}: ${request.failure()?.errorText}`));
  page.on('response', async (response) => {
    if (!response.url().startsWith(server.url)) return;
    const url = new URL(response.url());
    seen.responses.push({ path: `${url.pathname}${url.search}`, status: response.status(), location: response.headers().location ?? null });
    if (url.pathname.endsWith('.mpd') && response.status() === 200) {
      seen.mpds.push(await response.text().catch(() => ''));
    }
  });
  await page.goto(playerPage.url);
  return { page, seen };
}

/** The session the page POSTs for on the demo channel (a JSON body: the browser preflights). */
async function createSessionFromPage(page, server, seen) {
  const created = await page.evaluate(async (onair) => {
    try {
      const response = await fetch(`${onair}/channels/demo/sessions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ params: { aid: '1' } }),
      });
      return { status: response.status, session: await response.json() };
    } catch (error) {
      return { error: String(error) };
    }
  }, server.url);
  assert.equal(created.error, undefined, `the page on another origin reads the answer to its POST; console:\n${seen.console.join('\n')}`);
  assert.equal(created.status, 201, `the session is created: ${JSON.stringify(created.session)}`);
  return created.session;
}

/** The session ids the page's requests to onair name (in their paths or redirects). */
function sessionsNamedByRequests(seen) {
  const ids = new Set();
  for (const { path, location } of seen.responses) {
    for (const text of [path, location ?? '']) {
      const match = /^\/channels\/demo\/sessions\/([0-9a-f]{32})\//.exec(text);
      if (match) ids.add(match[1]);
    }
  }
  return [...ids];
}

/** The session's avail (break) starting at `breakStart`, once decided, else null. */
async function availOf(server, session, breakStart) {
  const { avails } = await (await fetch(`${server.url}${session.tracking_url}`)).json();
  return avails.find((avail) => Date.parse(avail.startTime) === breakStart) ?? null;
}

/** Starts `player` on `manifest` in the page, hooking what the test watches. */
async function startPlayer(page, server, player, manifest) {
  if (player === 'hls.js') {
    await page.addScriptTag({ url: `${server.url}/static/hls.min.js` });
  } else {
    await page.addScriptTag({ content: readFileSync(dashPlayers[player], 'utf8') });
  }
  await page.evaluate(({ player, manifest }) => {
    const video = document.getElementById('player');
    const log = { errors: [], fragments: [], waiting: 0 };
    window.ssaiLog = log;
    video.addEventListener('waiting', () => { log.waiting += 1; });
    if (player === 'hls.js') {
      const hls = new window.Hls();
      // The playhead (ms) on the channel's clock: from the fragments' PROGRAM-DATE-TIME.
      window.ssaiPlayhead = () => hls.playingDate?.getTime() ?? null;
      hls.on(window.Hls.Events.FRAG_CHANGED, (_event, data) => {
        log.fragments.push({ cc: data.frag.cc, sn: data.frag.sn, path: new URL(data.frag.url).pathname });
      });
      hls.on(window.Hls.Events.ERROR, (_event, data) => {
        if (data.fatal) log.errors.push(`hls.js fatal ${data.type}: ${data.details}`);
      });
      hls.loadSource(manifest);
      hls.attachMedia(video);
      return;
    }
    // DASH: the video's time is the time since the MPD's availabilityStartTime.
    let availabilityStart = null;
    window.ssaiPlayhead = () => (availabilityStart === null || video.currentTime === 0
      ? null : availabilityStart + video.currentTime * 1000);
    if (player === 'shaka') {
      shaka.polyfill.installAll();
      const shakaPlayer = new shaka.Player();
      shakaPlayer.addEventListener('error', (event) => {
        log.errors.push(`shaka error ${event.detail.code} (severity ${event.detail.severity}): ${JSON.stringify(event.detail.data).slice(0, 300)}`);
      });
      shakaPlayer.addEventListener('loaded', () => {
        availabilityStart = shakaPlayer.getPresentationStartTimeAsDate().getTime();
      });
      shakaPlayer.attach(video)
        .then(() => shakaPlayer.load(manifest))
        .catch((error) => log.errors.push(`shaka load failed: ${error.code} ${JSON.stringify(error.data).slice(0, 300)}`));
    } else {
      const dashPlayer = dashjs.MediaPlayer().create();
      dashPlayer.updateSettings({ debug: { logLevel: dashjs.Debug.LOG_LEVEL_WARNING } });
      dashPlayer.on(dashjs.MediaPlayer.events.ERROR, (event) => {
        const error = event.error ?? {};
        log.errors.push(`dash.js error ${error.code}: ${error.message}`);
      });
      dashPlayer.on(dashjs.MediaPlayer.events.MANIFEST_LOADED, (event) => {
        availabilityStart = Date.parse(event.data.availabilityStartTime);
      });
      dashPlayer.initialize(video, manifest, true);
    }
  }, { player, manifest });
}

/**
 * Plays a session of the demo channel in `player` from 30 s before a break until the playhead
 * is 6 s past it, then waits for the session's beacons. `start` is how the session starts:
 * `{ post: 'hls_ts' }` (the page POSTs for a session and the player loads that manifest of it)
 * or `{ implicit: 'manifest.mpd' }` (the player loads the channel's manifest with `?aid=1`).
 * Resolves to what happened.
 */
async function playThroughBreak(player, start) {
  const server = await serveBeforeDemoBreak(30);
  const began = Date.now();
  const { page, seen } = await openPlayerPage(server);
  try {
    const userAgent = await page.evaluate(() => navigator.userAgent);
    let session = null;
    let manifest;
    if (start.post) {
      session = await createSessionFromPage(page, server, seen);
      manifest = `${server.url}${session.manifests[start.post]}`;
    } else {
      manifest = `${server.url}/channels/demo/${start.implicit}?aid=1`;
    }
    await startPlayer(page, server, player, manifest);

    // Sample the playhead and the video's time until past the break, an error, or a deadline
    // well after the break should have played.
    const samples = [];
    const deadline = Date.now() + 170_000;
    while (Date.now() < deadline) {
      const sample = await page.evaluate(() => {
        const video = document.getElementById('player');
        return {
          at: Date.now(),
          time: video.currentTime,
          playhead: window.ssaiPlayhead(),
          error: video.error && `${video.error.code} ${video.error.message}`,
          errors: window.ssaiLog.errors,
        };
      });
      samples.push(sample);
      if (sample.errors.length > 0 || sample.error || sample.playhead > server.breakEnd + 6_000) break;
      await sleep(500);
    }
    const log = await page.evaluate(() => window.ssaiLog);
    const video = await page.evaluate(() => {
      const v = document.getElementById('player');
      return { width: v.videoWidth, audioBytes: v.webkitAudioDecodedByteCount };
    });
    // An implicit session is the one the player's requests name.
    const named = sessionsNamedByRequests(seen);
    if (session === null && named.length === 1) {
      session = { session_id: named[0], tracking_url: `/channels/demo/sessions/${named[0]}/tracking` };
    }

    // The break's decision, and the session's beacons once fired (they go out in order after
    // the segment fetches that claim them, off the request path).
    const avail = session && await availOf(server, session, server.breakStart);
    const adNames = (avail?.ads ?? []).map((ad) => ad.adId.replace(/^ad-/, ''));
    const beaconsNow = async () => (await (await fetch(`${server.url}/demo-ads/beacons`)).json())
      .filter((hit) => hit.query.sid === session?.session_id);
    const beacons = await eventually(async () => {
      const hits = await beaconsNow();
      return adNames.every((name) => hits.some((hit) => hit.query.ad === name && hit.query.event === 'complete')) && hits;
    }, 15_000) ?? await beaconsNow();

    return {
      player, server, session, named, userAgent, avail, samples, log, video, seen, beacons,
      seconds: Math.round((Date.now() - began) / 1000),
    };
  } finally {
    await page.close();
    await server.stop();
  }
}

/** The longest time (ms) the video's currentTime stood still once it had started to move. */
function longestStandstill(samples) {
  let longest = 0;
  let still = null;
  for (const [index, sample] of samples.entries()) {
    const previous = samples[index - 1];
    if (previous === undefined || previous.time === 0) continue;
    if (sample.time > previous.time) {
      still = null;
    } else {
      still ??= previous.at;
      longest = Math.max(longest, sample.at - still);
    }
  }
  return longest;
}

function describePlay(result) {
  const playheads = result.samples.map((sample) => sample.playhead).filter((playhead) => playhead !== null);
  const at = (ms) => (ms === undefined ? 'none' : new Date(ms).toISOString().slice(11, 23));
  return `${result.player}: playhead ${at(playheads[0])} -> ${at(playheads.at(-1))} `
    + `(break ${at(result.server.breakStart)} - ${at(result.server.breakEnd)} UTC), currentTime stood `
    + `still for ${longestStandstill(result.samples)} ms at most, ${result.log.waiting} 'waiting' events, `
    + `${result.seconds} s`;
}

/**
 * What every player must have done: content, the break's ads, content again, with no stall or
 * error; every ad segment fetched through the session's tracking URLs; every ad's beacons once,
 * in order, naming the player's device.
 */
function assertPlayedThroughBreak(result) {
  const context = `${describePlay(result)}\nconsole:\n${result.seen.console.slice(-20).join('\n')}`;
  const { server, session, avail, samples, seen } = result;
  assert.deepEqual(seen.responses.filter((response) => response.status >= 400), [], `onair refused no request; ${context}`);
  assert.deepEqual(seen.failed.filter((failure) => !failure.endsWith('net::ERR_ABORTED')), [], `no request failed (nor was blocked by CORS); ${context}`);
  assert.deepEqual(result.log.errors, [], `no player error; ${context}`);
  assert.equal(samples.at(-1).error, null, `no media element error; ${context}`);
  assert.deepEqual(seen.pageErrors, [], 'no page error');
  assert.ok(session !== null && result.named.length === 1 && result.named[0] === session.session_id,
    `the player's requests name its session only, however often it reloads its manifest: ${result.named}`);
  assert.ok(result.video.width > 0, 'video frames decoded');
  assert.ok(result.video.audioBytes > 0, `audio decoded (${result.video.audioBytes} bytes)`);

  const playheads = samples.map((sample) => sample.playhead).filter((playhead) => playhead !== null);
  assert.ok(playheads.length > 0 && playheads[0] < server.breakStart, `playback started before the break; ${context}`);
  assert.ok(playheads.at(-1) > server.breakEnd + 4_000, `playback went on past the break; ${context}`);
  assert.ok(longestStandstill(samples) <= longestWait, `currentTime never stood still for more than ${longestWait} ms; ${context}`);

  // The session's ads were decided for this break, and each ad segment the player fetched went
  // through the session's tracking URL, which redirected it to the shared segment, served.
  assert.ok(avail !== null && avail.ads.length >= 2, `the session has a pod of ads in the break at ${new Date(server.breakStart).toISOString()}: ${JSON.stringify(avail)}`);
  const tracked = `/channels/demo/sessions/${session.session_id}/ads/${avail.availId}/`;
  avail.ads.forEach((ad, position) => {
    const fetched = seen.responses.filter((response) => response.path.startsWith(`${tracked}${position}/media/`));
    assert.ok(fetched.length > 0, `the segments of ${ad.adId} were fetched through ${tracked}${position}/`);
    for (const { path, status, location } of fetched) {
      assert.equal(status, 302, `${path} redirects`);
      assert.equal(location, path.slice(`${tracked}${position}`.length), `${path} redirects to the shared segment`);
      assert.ok(seen.responses.some((other) => other.path === location && other.status === 200), `${location} was served`);
    }
    // The ad's asset (/media/assets/ID/) was fetched through its tracking URL only.
    const asset = `${fetched[0].location.split('/').slice(0, 4).join('/')}/`;
    const untracked = seen.responses.filter((response) => response.path.startsWith(asset)
      && !fetched.some((redirect) => redirect.location === response.path));
    assert.deepEqual(untracked, [], `${ad.adId} (${asset}) was fetched through its tracking URL only`);
  });

  // Every ad of the pod fired each of its events once, in order, from the player's device.
  const eventsOf = (name) => result.beacons.filter((hit) => hit.query.ad === name).map((hit) => hit.query.event);
  for (const ad of avail.ads) {
    assert.deepEqual(eventsOf(ad.adId.replace(/^ad-/, '')), adEvents, `the beacons of ${ad.adId}`);
  }
  assert.deepEqual(eventsOf('wrapper-b'), wrapperEvents, "the beacons of ad-b's wrapper");
  for (const hit of result.beacons) {
    assert.equal(hit.device_ip, '127.0.0.1', `${JSON.stringify(hit.query)} names the player's address`);
    assert.equal(hit.device_user_agent, result.userAgent, `${JSON.stringify(hit.query)} names the player's User-Agent`);
  }
}

/** hls.js: the played fragments' discontinuity counters went into each ad and back to content. */
function assertCrossedDiscontinuities(result) {
  const { fragments } = result.log;
  const tracked = `/channels/demo/sessions/${result.session.session_id}/ads/${result.avail.availId}/`;
  const ccs = fragments.map((fragment) => fragment.cc);
  assert.deepEqual(ccs, [...ccs].sort((a, b) => a - b), `the discontinuity counter never went back: ${ccs}`);
  const ccOfAds = result.avail.ads.map((ad, position) => {
    const played = fragments.filter((fragment) => fragment.path.startsWith(`${tracked}${position}/`));
    assert.ok(played.length > 0, `a fragment of ${ad.adId} played: ${fragments.map((fragment) => fragment.path)}`);
    assert.equal(new Set(played.map((fragment) => fragment.cc)).size, 1, `${ad.adId} is one discontinuity`);
    return played[0].cc;
  });
  assert.ok(ccOfAds.every((cc, index) => index === 0 || cc > ccOfAds[index - 1]), `each ad is a discontinuity of its own: ${ccOfAds}`);
  const content = fragments.filter((fragment) => !fragment.path.includes('/ads/'));
  assert.ok(content[0].cc < ccOfAds[0], `content played before the first ad, a discontinuity before it: ${ccs}`);
  assert.ok(content.at(-1).cc > ccOfAds.at(-1), `content played after the last ad, discontinuities after it: ${ccs}`);
}

/** DASH: the video's time went past the Period of each ad and that of the content after. */
function assertCrossedPeriods(result) {
  const availabilityStart = Date.parse(/availabilityStartTime="([^"]+)"/.exec(result.seen.mpds[0])[1]);
  const starts = new Set(result.seen.mpds.flatMap((text) => [...text.matchAll(/<Period\b[^>]*\bstart="PT([0-9.]+)S"/g)].map((match) => Number(match[1]))));
  const secondsOf = (ms) => (ms - availabilityStart) / 1000;
  const finalTime = result.samples.at(-1).time;
  const boundaries = [
    ...result.avail.ads.map((ad) => [ad.adId, secondsOf(Date.parse(ad.startTime))]),
    ['the content after the break', secondsOf(result.server.breakEnd)],
  ];
  for (const [what, start] of boundaries) {
    assert.ok(starts.has(start), `${what} is a Period of its own from ${start} s: ${[...starts]}`);
    assert.ok(finalTime > start + 2, `currentTime (${finalTime}) went past the Period of ${what} (${start} s)`);
  }
}

/**
 * The ad the demo's ad server opens a session's pod with: ad A or ad C, as the sum of the
 * session id's bytes is even or odd (src/demo_ads.rs); ad B follows in both.
 */
function demoPodOpener(sessionId) {
  const sum = [...sessionId].reduce((total, char) => total + char.charCodeAt(0), 0);
  return sum % 2 === 0 ? 'onair-demo:ad-a' : 'onair-demo:ad-c';
}

test('two sessions get the ads the ad server chose for each in the same break', { timeout: 60_000 }, async () => {
  // Decisions are made from 40 s before a break on, for sessions older than 8 s before it.
  const server = await serveBeforeDemoBreak(14);
  try {
    // Sessions until one of each kind the demo's ad server tells apart.
    const sessions = new Map();
    for (let tries = 0; sessions.size < 2 && tries < 20; tries += 1) {
      const response = await fetch(`${server.url}/channels/demo/sessions`, { method: 'POST', body: '{}' });
      assert.equal(response.status, 201);
      const session = await response.json();
      const opener = demoPodOpener(session.session_id);
      if (!sessions.has(opener)) sessions.set(opener, session);
    }
    assert.equal(sessions.size, 2, 'sessions of both kinds');
    const podOf = async (session) => {
      const avail = await eventually(() => availOf(server, session, server.breakStart), 20_000);
      assert.ok(avail !== null, `session ${session.session_id} has ads in the break`);
      return avail.ads.map((ad) => ad.creativeKey);
    };
    const withA = await podOf(sessions.get('onair-demo:ad-a'));
    const withC = await podOf(sessions.get('onair-demo:ad-c'));
    assert.deepEqual(withA, ['onair-demo:ad-a', 'onair-demo:ad-b']);
    assert.deepEqual(withC, ['onair-demo:ad-c', 'onair-demo:ad-b']);
  } finally {
    await server.stop();
  }
});

describe('real players play an SSAI session through an ad break', { concurrency: 2 }, () => {
  test('hls.js plays an HLS-TS session the page POSTed for, from content through its ads and back, and each ad fires its beacons once', { timeout: 240_000 }, async () => {
    const result = await playThroughBreak('hls.js', { post: 'hls_ts' });
    console.log(describePlay(result));
    assertPlayedThroughBreak(result);
    assertCrossedDiscontinuities(result);
  });

  test('hls.js plays an implicit HLS-fMP4 session (master-fmp4.m3u8?aid=1), from content through its ads and back, and each ad fires its beacons once', { timeout: 240_000 }, async () => {
    const result = await playThroughBreak('hls.js', { implicit: 'master-fmp4.m3u8' });
    console.log(describePlay(result));
    assertPlayedThroughBreak(result);
    assertCrossedDiscontinuities(result);
  });

  test('shaka-player plays a DASH session the page POSTed for, through the Periods of its ads and back, and each ad fires its beacons once', { timeout: 240_000 }, async () => {
    const result = await playThroughBreak('shaka', { post: 'dash' });
    console.log(describePlay(result));
    assertPlayedThroughBreak(result);
    assertCrossedPeriods(result);
  });

  test('dash.js plays an implicit DASH session (manifest.mpd?aid=1, redirected), through the Periods of its ads and back, and each ad fires its beacons once', { timeout: 240_000 }, async () => {
    const result = await playThroughBreak('dashjs', { implicit: 'manifest.mpd' });
    console.log(describePlay(result));
    assertPlayedThroughBreak(result);
    assertCrossedPeriods(result);
  });
});

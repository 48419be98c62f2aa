// An SSAI session in HLS Interstitials mode played by hls.js in headless Chromium: the demo
// channel, on a private copy of the demo's data whose ad settings say `insertion =
// "interstitials"`, from content into an ad break and back. The session's multivariant playlist
// defines the session and names the channel's shared interstitial playlists; the player reads
// the break's interstitial there, asks the session's asset list for its ads, plays them (their
// segments through the session's tracking URLs, which fire the beacons the demo ad server
// receives) and the slate after them, then resumes the channel. One player from 20 s before a
// break until its playhead is 6 s past it: about 90 s.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';
import { chromiumOptions, copyDemoWithInsertion, prepareDemo, serveBeforeDemoBreak, servePlayerPage } from './onair.mjs';

const adEvents = ['impression', 'start', 'firstQuartile', 'midpoint', 'thirdQuartile', 'complete'];

// The longest the video's currentTime may stand still once playing.
const longestWait = 3_000;

let browser;
let playerPage;
let data;

before(async () => {
  prepareDemo();
  data = copyDemoWithInsertion('interstitials');
  browser = await chromium.launch(chromiumOptions);
  playerPage = await servePlayerPage();
});

after(async () => {
  await browser?.close();
  await playerPage?.stop();
  data?.remove();
});

const sleep = (ms) => new Promise((done) => setTimeout(done, ms));

test('hls.js plays an interstitials session through a break: the asset list, the ads through their tracking URLs with each beacon once, then the channel again without a stall', { timeout: 200_000 }, async () => {
  const server = await serveBeforeDemoBreak(20, data);
  const page = await browser.newPage();
  const seen = { responses: [], failed: [], console: [], pageErrors: [] };
  page.on('pageerror', (error) => seen.pageErrors.push(String(error)));
  page.on('console', (message) => seen.console.push(`[${message.type()}] ${message.text()}`));
  page.on('requestfailed', (request) => seen.failed.push(`${request.url()}: ${request.failure()?.errorText}`));
  page.on('response', (response) => {
    if (!response.url().startsWith(server.url)) return;
    const url = new URL(response.url());
    seen.responses.push({ path: url.pathname, query: url.search, status: response.status(), location: response.headers().location ?? null });
  });
  try {
    await page.goto(playerPage.url);
    const created = await page.evaluate(async (onair) => {
      const response = await fetch(`${onair}/channels/demo/sessions`, {
        method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ params: { aid: '1' } }),
      });
      return { status: response.status, session: await response.json() };
    }, server.url);
    assert.equal(created.status, 201, JSON.stringify(created.session));
    const session = created.session;
    await page.addScriptTag({ url: `${server.url}/static/hls.min.js` });
    await page.evaluate((manifest) => {
      const video = document.getElementById('player');
      const log = { errors: [], events: [], primaryDates: [], waiting: 0 };
      window.interstitialsLog = log;
      video.addEventListener('waiting', () => { log.waiting += 1; });
      const hls = new window.Hls();
      window.playhead = () => hls.playingDate?.getTime() ?? null;
      const { Events } = window.Hls;
      hls.on(Events.ASSET_LIST_LOADED, (_event, data) => log.events.push(`asset list ${data.event.identifier}: ${data.assetListResponse.ASSETS.length} assets`));
      hls.on(Events.INTERSTITIAL_STARTED, (_event, data) => log.events.push(`started ${data.event.identifier}${data.event.appendInPlace ? ' in place' : ''}`));
      hls.on(Events.INTERSTITIAL_ASSET_STARTED, (_event, data) => log.events.push(`asset ${data.assetListIndex} started`));
      hls.on(Events.INTERSTITIAL_ENDED, (_event, data) => log.events.push(`ended ${data.event.identifier}`));
      hls.on(Events.INTERSTITIALS_PRIMARY_RESUMED, () => log.events.push('primary resumed'));
      hls.on(Events.ERROR, (_event, data) => {
        if (data.fatal || data.interstitial) log.errors.push(`hls.js ${data.fatal ? 'fatal ' : ''}${data.type}: ${data.details} ${data.error ?? ''}`);
      });
      hls.loadSource(manifest);
      hls.attachMedia(video);
    }, `${server.url}${session.manifests.hls_ts}`);

    const samples = [];
    const deadline = Date.now() + 150_000;
    while (Date.now() < deadline) {
      const sample = await page.evaluate(() => {
        const video = document.getElementById('player');
        return {
          at: Date.now(), time: video.currentTime, playhead: window.playhead(),
          error: video.error && `${video.error.code} ${video.error.message}`,
          errors: window.interstitialsLog.errors, events: window.interstitialsLog.events,
        };
      });
      samples.push(sample);
      const resumed = sample.events.includes('primary resumed');
      if (sample.errors.length > 0 || sample.error || (resumed && sample.playhead > server.breakEnd + 6_000)) break;
      await sleep(500);
    }
    const log = await page.evaluate(() => window.interstitialsLog);
    const width = await page.evaluate(() => document.getElementById('player').videoWidth);
    let longestStill = 0;
    let stillSince = null;
    for (const [index, sample] of samples.entries()) {
      const previous = samples[index - 1];
      if (previous === undefined || previous.time === 0) continue;
      stillSince = sample.time === previous.time ? (stillSince ?? previous.at) : null;
      if (stillSince !== null) longestStill = Math.max(longestStill, sample.at - stillSince);
    }
    const playheads = samples.map((sample) => sample.playhead).filter((playhead) => playhead !== null);
    const at = (ms) => (ms === undefined ? 'none' : new Date(ms).toISOString().slice(11, 23));
    const context = `playhead ${at(playheads[0])} -> ${at(playheads.at(-1))} (break ${at(server.breakStart)} - ${at(server.breakEnd)}), `
      + `still for ${longestStill} ms at most, ${log.waiting} 'waiting'; events: ${log.events.join('; ')}\nconsole:\n${seen.console.slice(-20).join('\n')}`;
    console.log(context.split('\nconsole:')[0]);

    assert.deepEqual(log.errors, [], `no player error; ${context}`);
    assert.equal(samples.at(-1).error, null, `no media element error; ${context}`);
    assert.deepEqual(seen.pageErrors, [], 'no page error');
    assert.deepEqual(seen.responses.filter((response) => response.status >= 400), [], `onair refused no request; ${context}`);
    assert.deepEqual(seen.failed.filter((failure) => !failure.endsWith('net::ERR_ABORTED')), [], `no request failed; ${context}`);
    assert.ok(width > 0, 'video frames decoded');
    assert.ok(playheads[0] < server.breakStart, `playback started before the break; ${context}`);
    assert.ok(playheads.at(-1) > server.breakEnd + 4_000, `the channel played again past the break; ${context}`);
    assert.ok(longestStill <= longestWait, `currentTime never stood still for more than ${longestWait} ms; ${context}`);

    // The player read the interstitial in the shared playlist and asked for the session's asset
    // list, which holds the session's ads then the slate.
    const prefix = `/channels/demo/sessions/${session.session_id}/ads/`;
    const lists = seen.responses.filter((response) => response.path.startsWith(prefix) && response.path.endsWith('/assets.json'));
    assert.equal(lists.length, 1, `the asset list was asked for once: ${JSON.stringify(lists)}`);
    assert.ok(seen.responses.some((response) => response.path.startsWith('/channels/demo/interstitials/')), 'the shared interstitial playlists were read');
    const { avails } = await (await fetch(`${server.url}${session.tracking_url}`)).json();
    const avail = avails.find((candidate) => Date.parse(candidate.startTime) === server.breakStart);
    assert.ok(avail && avail.ads.length >= 2, `the session has a pod of ads in the break: ${JSON.stringify(avails)}`);
    const loaded = log.events.filter((event) => event.startsWith('asset list '));
    assert.equal(loaded.length, 1, `one asset list loaded; ${context}`);
    assert.ok(loaded[0].endsWith(`: ${avail.ads.length + 1} assets`), `the list holds the ${avail.ads.length} ads and the slate; ${context}`);
    for (const position of avail.ads.keys()) {
      assert.ok(log.events.includes(`asset ${position} started`), `ad ${position} played; ${context}`);
    }

    // Each ad's segments went through the session's tracking URLs, redirected to the shared
    // segments, which were served; its beacons reached the demo ad server once each, in order.
    const tracked = `${prefix}${avail.availId}/`;
    avail.ads.forEach((ad, position) => {
      const fetched = seen.responses.filter((response) => response.path.startsWith(`${tracked}${position}/media/`));
      assert.ok(fetched.length > 0, `the segments of ${ad.adId} were fetched through ${tracked}${position}/`);
      for (const { path, status, location } of fetched) {
        assert.equal(status, 302, `${path} redirects`);
        assert.ok(seen.responses.some((other) => other.path === location && other.status === 200), `${location} was served`);
      }
    });
    let beacons = [];
    for (let tries = 0; tries < 30; tries += 1) {
      beacons = (await (await fetch(`${server.url}/demo-ads/beacons`)).json()).filter((hit) => hit.query.sid === session.session_id);
      if (avail.ads.every((ad) => beacons.some((hit) => `ad-${hit.query.ad}` === ad.adId && hit.query.event === 'complete'))) break;
      await sleep(500);
    }
    for (const ad of avail.ads) {
      const events = beacons.filter((hit) => `ad-${hit.query.ad}` === ad.adId).map((hit) => hit.query.event);
      assert.deepEqual(events, adEvents, `the beacons of ${ad.adId}`);
    }
    const endedAt = log.events.indexOf(`ended ${log.events.find((event) => event.startsWith('started ')).split(' ')[1]}`);
    assert.ok(endedAt >= 0 && log.events.indexOf('primary resumed') > endedAt, `the interstitial ended and the channel resumed; ${context}`);
  } finally {
    await page.close();
    await server.stop();
  }
});

// hls.js and shaka-player, side by side in one headless Chromium page, play the demo's `studio`
// channel's HLS-TS across a switch from its programme into a live item and a switch from a live
// item back to the programme, with ffmpeg publishing a real encoder's picture over RTMP to the
// live source `studio` all along; beside them a second shaka-player (`shakaDash`) plays the
// channel's DASH, where a live run is a Period of its own addressed by `$Time$` (S@t the
// segment's start in 90 kHz ticks since the Unix epoch, which is its fragments' tfdt). The demo's
// studio channel publishes HLS only: the run turns DASH on in its own copy of the demo database.
//
// The studio grid airs a live item, then the programme, every four minutes on the wall clock
// (src/demo_live.rs), and live ingest is stamped with Unix time, so no virtual clock: the run
// asks the server's plan (`/api/channels/studio/plan`) where the live items start and end, and
// picks the first start at least 25 s away (the encoder, started at once, is up before it) and
// the first end at least 50 s away (the encoder has joined that item, mid-item if it was airing
// already, well before the players come). Fresh players play each switch, from 20 s before it
// until each is 15 s past it: the ones into live always start in the programme, the ones back
// always in the live item. 3 to 5.5 minutes in all, by where in the four minutes the
// run starts. The run records everything (the players' clocks and pictures every 250 ms, the
// media playlists and the MPD polled every second, ffprobe decoding the windows across each
// switch); the tests below assert on it, and the log keeps the two MPDs nearest each switch (the
// last one before it listed the switch's segment, and the first that did).
//
// The encoder paints its capture time into every frame (timecode.mjs): a picture that reads back
// as a time is the encoder's, and its time says where in the channel it belongs.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { TEST_TOKEN, apiFetch, chromiumOptions, demoDataDir, onairBin, prepareDemo } from './onair.mjs';
import { encoderArgs, readTimeCodeSource } from './timecode.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const shakaPath = join(here, 'node_modules', 'shaka-player', 'dist', 'shaka-player.compiled.js');
const SOURCE = 'studio';
const LIVE_PREFIX = `/media/live/${SOURCE}/`;
const ASSET_PREFIX = '/media/assets/';
// The encoder joins before the first live start this far away...
const START_LEAD_MS = 25_000;
// ...and airs at least this long in the item whose end is crossed.
const END_LEAD_MS = 50_000;
// The players start this long before the first switch and stop this long after the last.
const PLAY_BEFORE_MS = 20_000;
const PLAY_AFTER_MS = 15_000;
// The players on the page, by the name their log and video element go by: what they play, and
// what they are called in LATENCY lines.
const PLAYERS = {
  hls: { format: 'HLS', player: 'hls' },
  shaka: { format: 'HLS', player: 'shaka' },
  shakaDash: { format: 'DASH', player: 'shaka' },
};
const PLAYER_NAMES = Object.keys(PLAYERS);

let browser;
let server;
let encoder;
/** What the run saw, for the tests; `null` when the run failed (`runError`). */
let run = null;
let runError = null;

const sleep = (ms) => new Promise((done) => setTimeout(done, Math.max(0, ms)));
const iso = (ms) => new Date(ms).toISOString();

/**
 * A copy of the demo database with a media folder of its own (the ingest writes there) whose
 * entries link to the demo's media, served on free ports. Resolves to { url, rtmp (with KEY),
 * stop }.
 */
async function serveStudioCopy() {
  const dataDir = mkdtempSync(join(tmpdir(), 'onair-live-switch-'));
  const snapshot = spawnSync('sqlite3', [join(demoDataDir, 'onair.db'), `VACUUM INTO '${join(dataDir, 'onair.db')}'`], { encoding: 'utf8' });
  if (snapshot.status !== 0) throw new Error(`sqlite3 could not copy the demo database: ${snapshot.stderr}`);
  const mediaDir = join(dataDir, 'media');
  mkdirSync(mediaDir);
  for (const entry of readdirSync(join(demoDataDir, 'media'))) {
    symlinkSync(join(demoDataDir, 'media', entry), join(mediaDir, entry));
  }
  publishDash(dataDir, mediaDir);
  const child = spawn(onairBin, ['serve'], {
    env: {
      ...process.env, ONAIR_DATA_DIR: dataDir, ONAIR_MEDIA_DIR: mediaDir, ONAIR_LOG: 'warn',
      ONAIR_HTTP_ADDR: '127.0.0.1:0', ONAIR_RTMP_ADDR: '127.0.0.1:0', ONAIR_SRT_ADDR: '127.0.0.1:0', ONAIR_API_TOKEN: TEST_TOKEN,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk) => { stderr += chunk; });
  return new Promise((resolve, reject) => {
    let stdout = '';
    const timer = setTimeout(() => reject(new Error(`onair did not start: ${stderr}`)), 30_000);
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
      const rtmp = /onair ingest (rtmp:\/\/\S+)/.exec(stdout)?.[1];
      const url = /onair listening on (http:\/\/\S+)/.exec(stdout)?.[1];
      if (url && rtmp) {
        clearTimeout(timer);
        resolve({
          url,
          rtmp,
          stop: () => new Promise((done) => {
            child.once('exit', () => { rmSync(dataDir, { recursive: true, force: true }); done(); });
            child.kill('SIGTERM');
          }),
        });
      }
    });
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`onair exited with ${code}: ${stderr}`)); });
  });
}

/** Adds DASH to the outputs of the studio channel in the data dir `dataDir`, unless it has it. */
function publishDash(dataDir, mediaDir) {
  const env = { ...process.env, ONAIR_DATA_DIR: dataDir, ONAIR_MEDIA_DIR: mediaDir, ONAIR_LOG: 'warn' };
  const shown = spawnSync(onairBin, ['channel', 'show', 'studio'], { env, encoding: 'utf8' });
  const outputs = /^\s*outputs:\s*(.+)$/m.exec(shown.stdout ?? '')?.[1]?.split(',').map((output) => output.trim());
  if (shown.status !== 0 || outputs === undefined) throw new Error(`onair channel show studio failed: ${shown.stderr}${shown.stdout}`);
  if (outputs.includes('dash')) return;
  const edited = spawnSync(onairBin, ['channel', 'edit', 'studio', '--outputs', [...outputs, 'dash'].join(',')], { env, encoding: 'utf8' });
  if (edited.status !== 0) throw new Error(`onair channel edit studio --outputs … failed: ${edited.stderr}`);
}

async function getJson(url) {
  const response = await apiFetch(url);
  const text = await response.text();
  if (response.status !== 200) throw new Error(`${url} answered ${response.status}: ${text}`);
  return JSON.parse(text);
}

/**
 * The switches the run crosses, from the channel's plan: `into`, the first start of a live item
 * of the source after a programme, at least START_LEAD_MS from `now`; `back`, the first end of a
 * live item before a programme at least END_LEAD_MS from `now`; and the live items themselves
 * ({ start, end } in ms).
 */
async function chooseSwitches(now) {
  const plan = await getJson(`${server.url}/api/channels/studio/plan?from=${iso(now)}&to=${iso(now + 15 * 60_000)}`);
  const items = plan.items
    .map((item) => ({ start: Date.parse(item.start), end: Date.parse(item.end), live: item.live_source === SOURCE, title: item.title }))
    .sort((a, b) => a.start - b.start);
  const liveItems = items.filter((item) => item.live);
  const follows = (item, previous) => item !== undefined && previous !== undefined && previous.end === item.start;
  let into = null;
  let back = null;
  for (let index = 0; index < items.length; index += 1) {
    const item = items[index];
    if (!item.live) continue;
    const previous = items[index - 1];
    const next = items[index + 1];
    // The players start PLAY_BEFORE_MS before a switch, up to 15 s behind: the plan covers that.
    const covered = (at) => items[0].start <= at - PLAY_BEFORE_MS - 15_000;
    if (into === null && item.start >= now + START_LEAD_MS && follows(item, previous) && !previous.live && covered(item.start)) {
      into = item.start;
    }
    if (back === null && item.end >= now + END_LEAD_MS && follows(next, item) && !next.live && covered(item.end)) {
      back = item.end;
    }
  }
  if (into === null || back === null) {
    throw new Error(`the studio channel's plan has no live item starting after a programme and ending before one within 15 minutes: ${JSON.stringify(plan.items)}`);
  }
  return { into, back, liveItems };
}

/** The variants' URIs (absolute) in a multivariant playlist. */
function variants(base, text) {
  return text.split('\n').filter((line) => line && !line.startsWith('#')).map((uri) => new URL(uri, base).href);
}

/**
 * A media playlist's segments: { sequence, discontinuitySequence, discontinuity, start (ms, by
 * EXT-X-PROGRAM-DATE-TIME), duration (ms), uri }, and its target duration (s).
 */
function parseMediaPlaylist(text) {
  let sequence = 0;
  let discontinuitySequence = 0;
  let targetDuration = null;
  let discontinuity = false;
  let start = null;
  let duration = null;
  const segments = [];
  for (const line of text.split('\n')) {
    let match;
    if ((match = /^#EXT-X-MEDIA-SEQUENCE:(\d+)/.exec(line))) sequence = Number(match[1]);
    else if ((match = /^#EXT-X-DISCONTINUITY-SEQUENCE:(\d+)/.exec(line))) discontinuitySequence = Number(match[1]);
    else if ((match = /^#EXT-X-TARGETDURATION:(\d+)/.exec(line))) targetDuration = Number(match[1]);
    else if (line === '#EXT-X-DISCONTINUITY') discontinuity = true;
    else if ((match = /^#EXT-X-PROGRAM-DATE-TIME:(.+)$/.exec(line))) start = Date.parse(match[1]);
    else if ((match = /^#EXTINF:([0-9.]+)/.exec(line))) duration = Math.round(Number(match[1]) * 1000);
    else if (line && !line.startsWith('#')) {
      if (discontinuity) discontinuitySequence += 1;
      segments.push({ sequence, discontinuitySequence, discontinuity: segments.length > 0 ? discontinuity : null, start, duration, uri: line });
      sequence += 1;
      start = start === null ? null : start + duration;
      discontinuity = false;
    }
  }
  return { targetDuration, segments };
}

/**
 * An MPD's Periods: { id, start (ms), time (`$Time$` or `$Number$`), presentationTimeOffset,
 * startNumber, media, segments }, each segment { t, start (ms, where it airs: the Period's start
 * plus S@t less presentationTimeOffset), duration (ms), url } as the video AdaptationSet lists it
 * (the audio one lists the same times).
 */
function parseMpd(text) {
  const availabilityStart = Date.parse(/availabilityStartTime="([^"]+)"/.exec(text)?.[1]);
  const attribute = (attributes, name) => new RegExp(`\\b${name}="([^"]*)"`).exec(attributes)?.[1];
  const periods = [];
  for (const [, periodAttributes, body] of text.matchAll(/<Period\b([^>]*)>([\s\S]*?)<\/Period>/g)) {
    const start = availabilityStart + Number(/^PT([0-9.]+)S$/.exec(attribute(periodAttributes, 'start'))?.[1]) * 1000;
    const video = /<AdaptationSet\b[^>]*contentType="video"[^>]*>([\s\S]*?)<\/AdaptationSet>/.exec(body)?.[1] ?? '';
    const template = /<SegmentTemplate\b([^>]*)>/.exec(video)?.[1] ?? '';
    const timescale = Number(attribute(template, 'timescale'));
    const presentationTimeOffset = Number(attribute(template, 'presentationTimeOffset') ?? 0);
    const startNumber = attribute(template, 'startNumber');
    const media = attribute(template, 'media') ?? '';
    const segments = [];
    let t = null;
    let number = startNumber === undefined ? null : Number(startNumber);
    for (const [, s] of video.matchAll(/<S\b([^>]*)\/>/g)) {
      if (attribute(s, 't') !== undefined) t = Number(attribute(s, 't'));
      const d = Number(attribute(s, 'd'));
      for (let repeat = 0; repeat <= Number(attribute(s, 'r') ?? 0); repeat += 1) {
        segments.push({
          t,
          start: Math.round(start + ((t - presentationTimeOffset) * 1000) / timescale),
          duration: Math.round((d * 1000) / timescale),
          url: media.replace('$Time$', String(t)).replace('$Number%05d$', String(number).padStart(5, '0')),
        });
        t += d;
        if (number !== null) number += 1;
      }
    }
    periods.push({
      id: attribute(periodAttributes, 'id'), start, time: media.includes('$Time$') ? '$Time$' : '$Number$',
      presentationTimeOffset, startNumber: startNumber === undefined ? null : Number(startNumber), media, segments,
    });
  }
  return { availabilityStart, periods };
}

/** One line per Period of an MPD: its id, start, addressing and the segments it lists. */
function describeMpd(mpd) {
  return mpd.periods.map((period) => {
    const [first, last] = [period.segments[0], period.segments.at(-1)];
    const listed = first === undefined ? 'no segment' : `${period.segments.length} segments ${iso(first.start)} (S@t ${first.t}) .. ${iso(last.start + last.duration)}`;
    return `${period.id} from ${iso(period.start)} ${period.time} (presentationTimeOffset ${period.presentationTimeOffset}${period.startNumber === null ? '' : `, startNumber ${period.startNumber}`}): ${listed}`;
  }).join('; ');
}

/** Polls every variant's media playlist every second until stopped; keeps every answer. */
function pollPlaylists(urls) {
  const polls = [];
  let stopped = false;
  const done = (async () => {
    while (!stopped) {
      const at = Date.now();
      await Promise.all(urls.map(async (url) => {
        const response = await fetch(url).catch((error) => ({ status: String(error), text: async () => '' }));
        polls.push({ at, url, status: response.status, text: await response.text() });
      }));
      await sleep(at + 1000 - Date.now());
    }
  })();
  return { polls, stop: async () => { stopped = true; await done; } };
}

/**
 * The page's script: the players (`names`, in the order of PLAYERS: hls.js and shaka on the HLS
 * `src.hls`, shaka on the MPD `src.dash`), a sampler of their clocks and pictures, their logs.
 */
function startPlayers({ src, names }) {
  const canvas = document.createElement('canvas');
  canvas.width = 640;
  canvas.height = 360;
  const context = canvas.getContext('2d', { willReadFrequently: true });
  const captureTime = (video) => {
    if (video.videoWidth === 0) return null;
    const now = Date.now();
    context.drawImage(video, 0, 0, 640, 360);
    const strip = context.getImageData(0, 300, 640, 60).data;
    const luma = (x, y) => {
      const at = (Math.round(y - 300) * 640 + Math.round(x)) * 4;
      return 0.299 * strip[at] + 0.587 * strip[at + 1] + 0.114 * strip[at + 2];
    };
    return window.readTimeCode(luma, now);
  };
  const log = Object.fromEntries(names.map((name) => [name, { samples: [], fatal: [], errors: [], frags: [], waiting: [] }]));
  window.onairLog = log;
  const videos = Object.fromEntries(names.map((name) => [name, document.getElementById(name)]));

  const hls = new window.Hls();
  hls.on(window.Hls.Events.ERROR, (_event, data) => {
    const what = `${Date.now()} ${data.type}: ${data.details} ${data.frag?.url ?? data.url ?? ''} ${data.response?.code ?? ''}`;
    (data.fatal ? log.hls.fatal : log.hls.errors).push(what);
  });
  hls.on(window.Hls.Events.FRAG_CHANGED, (_event, data) => {
    log.hls.frags.push({ at: Date.now(), cc: data.frag.cc, sn: data.frag.sn, url: new URL(data.frag.url).pathname, date: data.frag.programDateTime });
  });
  hls.loadSource(src.hls);
  hls.attachMedia(videos.hls);

  window.shaka.polyfill.installAll();
  const shakaPlayer = (name, url) => {
    const player = new window.shaka.Player();
    player.addEventListener('error', (event) => {
      const what = `${Date.now()} shaka error ${event.detail?.code} (severity ${event.detail?.severity}): ${String(event.detail?.message ?? JSON.stringify(event.detail?.data)).slice(0, 300)}`;
      (event.detail?.severity === 2 ? log[name].fatal : log[name].errors).push(what);
    });
    player.attach(videos[name])
      .then(() => {
        player.getNetworkingEngine().registerResponseFilter((type, response) => {
          if (type === window.shaka.net.NetworkingEngine.RequestType.SEGMENT) {
            log[name].frags.push({ at: Date.now(), url: new URL(response.uri).pathname });
          }
        });
        return player.load(url);
      })
      .catch((error) => log[name].fatal.push(`${Date.now()} shaka load failed: ${error.code} ${String(JSON.stringify(error.data)).slice(0, 300)}`));
    return player;
  };
  const shakas = { shaka: shakaPlayer('shaka', src.hls), shakaDash: shakaPlayer('shakaDash', src.dash) };

  for (const name of names) {
    const video = videos[name];
    video.addEventListener('waiting', () => log[name].waiting.push({ at: Date.now(), time: video.currentTime }));
  }
  const date = (name) => {
    if (name === 'hls') return hls.playingDate?.getTime() ?? null;
    const player = shakas[name];
    return player.isLive() ? player.getPlayheadTimeAsDate()?.getTime() ?? null : null;
  };
  // In currentTime's seconds: where hls.js would sync to the live edge, and shaka's seek range.
  const range = (name) => {
    if (name === 'hls') return hls.liveSyncPosition === null ? null : [null, Number(hls.liveSyncPosition.toFixed(2))];
    const seek = shakas[name].seekRange();
    return [Number(seek.start.toFixed(2)), Number(seek.end.toFixed(2))];
  };
  setInterval(() => {
    for (const name of names) {
      const video = videos[name];
      let captured = null;
      try { captured = captureTime(video); } catch { /* a frame not ready to draw */ }
      log[name].samples.push({
        at: Date.now(), time: video.currentTime, date: date(name), captured, range: range(name),
        buffered: [...Array(video.buffered.length).keys()].map((i) => [Number(video.buffered.start(i).toFixed(2)), Number(video.buffered.end(i).toFixed(2))]),
        readyState: video.readyState, paused: video.paused,
        error: video.error && `${video.error.code} ${video.error.message}`,
      });
    }
  }, 250);
}

/** The window `poll` listed as a VOD playlist that ffprobe reads at once: absolute URIs, an end. */
function asVod(poll) {
  const base = poll.url;
  const lines = poll.text.trim().split('\n').map((line) => (line && !line.startsWith('#') ? new URL(line, base).href : line));
  return `${lines.join('\n')}\n#EXT-X-ENDLIST\n`;
}

/**
 * ffprobe decodes every frame of the playlist file `path`: { status, errors, frames: { video,
 * audio }, sampleRate }. (`ffmpeg -i … -f null -` decodes the same frames, but across the switch
 * into live, where the timestamps jump forward to the live segments' (Unix-time) ones, ffmpeg
 * 5.1 corrects the jump one video frame late and its null muxer then calls every later frame
 * "non monotonically increasing dts"; a jump between two assets, or back from live, does not do
 * it. ffprobe has no muxer.)
 */
function decode(path) {
  const result = spawnSync('ffprobe', [
    '-hide_banner', '-v', 'error', '-protocol_whitelist', 'file,http,tcp', '-count_frames',
    '-show_entries', 'stream=codec_type,nb_read_frames,sample_rate', '-of', 'json', path,
  ], { encoding: 'utf8', timeout: 120_000 });
  const frames = {};
  let sampleRate = null;
  try {
    for (const stream of JSON.parse(result.stdout).streams) {
      frames[stream.codec_type] = Number(stream.nb_read_frames);
      if (stream.codec_type === 'audio') sampleRate = Number(stream.sample_rate);
    }
  } catch { /* reported by status and errors */ }
  return { status: result.status, errors: (result.stderr ?? '').trim(), frames, sampleRate };
}

/**
 * Of the polls of `url`, the one whose window is most centred on the segment starting at `at`
 * (the most segments on its shorter side), or null when none listed it after another.
 */
function windowAcross(polls, url, at) {
  let best = null;
  let bestScore = -1;
  for (const poll of polls) {
    if (poll.url !== url || poll.status !== 200) continue;
    const { segments } = parseMediaPlaylist(poll.text);
    const index = segments.findIndex((segment) => segment.start === at);
    if (index < 1) continue;
    const score = Math.min(index, segments.length - index);
    if (score > bestScore) {
      best = poll;
      bestScore = score;
    }
  }
  return best;
}

/**
 * How long the polled playlists of `url` were (segments) and how far their last segment ended
 * behind the time of the poll (ms), by what that last segment was (live or an asset).
 */
function windowFigures(polls, url) {
  const figures = {};
  for (const poll of polls) {
    if (poll.url !== url || poll.status !== 200) continue;
    const { segments } = parseMediaPlaylist(poll.text);
    const last = segments.at(-1);
    if (last === undefined) continue;
    const kind = last.uri.startsWith(LIVE_PREFIX) ? 'live' : 'asset';
    const lag = poll.at - (last.start + last.duration);
    const entry = (figures[kind] ??= { polls: 0, segments: [Infinity, -Infinity], lagMs: [Infinity, -Infinity] });
    entry.polls += 1;
    entry.segments = [Math.min(entry.segments[0], segments.length), Math.max(entry.segments[1], segments.length)];
    entry.lagMs = [Math.min(entry.lagMs[0], lag), Math.max(entry.lagMs[1], lag)];
  }
  return figures;
}

/**
 * Plays `src` ({ hls, dash }) with every player on a page of their own from PLAY_BEFORE_MS before
 * `at` (ms) until each player's clock is PLAY_AFTER_MS past it or it had a fatal error, or a
 * deadline (they run up to 15 s behind the wall clock, and may stall). Resolves to { at, log,
 * pageErrors, failedResponses }.
 */
async function playAcross(at, src) {
  await sleep(at - PLAY_BEFORE_MS - Date.now());
  const page = await browser.newPage();
  const pageErrors = [];
  const failedResponses = [];
  page.on('pageerror', (error) => pageErrors.push(String(error)));
  page.on('response', (response) => {
    if (response.status() >= 400) failedResponses.push(`${Date.now()} ${response.status()} ${response.url()}`);
  });
  page.on('requestfailed', (request) => failedResponses.push(`${Date.now()} failed ${request.url()}: ${request.failure()?.errorText}`));
  try {
    await page.route(`${server.url}/live-switch-test.html`, (route) => route.fulfill({
      contentType: 'text/html',
      body: `<!doctype html><meta charset="utf-8">${PLAYER_NAMES.map((name) => `<video id="${name}" muted autoplay playsinline></video>`).join('')}`,
    }));
    await page.goto(`${server.url}/live-switch-test.html`);
    await page.addScriptTag({ url: `${server.url}/static/hls.min.js` });
    await page.addScriptTag({ content: readFileSync(shakaPath, 'utf8') });
    await page.addScriptTag({ content: readTimeCodeSource });
    await page.evaluate(startPlayers, { src, names: PLAYER_NAMES });
    const deadline = at + PLAY_AFTER_MS + 25_000;
    while (Date.now() < deadline) {
      const state = await page.evaluate((names) => names.map((name) => ({
        fatal: window.onairLog[name].fatal.length,
        date: window.onairLog[name].samples.at(-1)?.date ?? null,
      })), PLAYER_NAMES);
      // A player that failed is done; the others play on.
      if (state.every((player) => player.fatal > 0 || (player.date !== null && player.date > at + PLAY_AFTER_MS))) break;
      await sleep(1000);
    }
    const log = await page.evaluate(() => window.onairLog);
    return { at, log, pageErrors, failedResponses };
  } finally {
    await page.close();
  }
}

before(async () => {
  prepareDemo();
  assert.ok(existsSync(shakaPath), `${shakaPath} is missing: run \`npm ci\` in tests/browser`);
  browser = await chromium.launch(chromiumOptions);
  server = await serveStudioCopy();
  let poller = null;
  try {
    const source = await getJson(`${server.url}/api/live/sources/${SOURCE}`);
    const started = Date.now();
    const { into, back, liveItems } = await chooseSwitches(started);
    const last = Math.max(into, back);
    console.log(`# live_switch: now ${iso(started)}; into live at ${iso(into)}, back to the programme at ${iso(back)}`);

    encoder = spawn('ffmpeg', encoderArgs(server.rtmp.replace('KEY', source.stream_key), 'flv', Math.ceil((last - started) / 1000) + 120), { stdio: ['ignore', 'ignore', 'pipe'] });
    let encoderErrors = '';
    encoder.stderr.on('data', (chunk) => { encoderErrors += chunk; });

    const master = `${server.url}/channels/studio/master.m3u8`;
    const masterResponse = await fetch(master);
    const masterText = await masterResponse.text();
    assert.equal(masterResponse.status, 200, `${master}: ${masterText}`);
    const variantUrls = variants(master, masterText);
    const mpdUrl = `${server.url}/channels/studio/manifest.mpd`;
    const mpdResponse = await fetch(mpdUrl);
    assert.equal(mpdResponse.status, 200, `${mpdUrl}: ${await mpdResponse.text()}`);
    poller = pollPlaylists([...variantUrls, mpdUrl]);

    // Fresh players for each switch, in the order they come: the ones into live always start in
    // the programme, the ones back always in the live item.
    const sessions = {};
    for (const [name, at] of [['into', into], ['back', back]].sort((a, b) => a[1] - b[1])) {
      sessions[name] = await playAcross(at, { hls: master, dash: mpdUrl });
    }
    encoder.kill('SIGKILL');
    await poller.stop();

    const decoded = [];
    const workDir = mkdtempSync(join(tmpdir(), 'onair-live-switch-windows-'));
    try {
      for (const [name, at] of [['into', into], ['back', back]]) {
        for (const url of variantUrls) {
          const poll = windowAcross(poller.polls, url, at);
          if (poll === null) {
            decoded.push({ name, url, at, poll: null });
            continue;
          }
          const path = join(workDir, `${name}-${decoded.length}.m3u8`);
          writeFileSync(path, asVod(poll));
          const { segments } = parseMediaPlaylist(poll.text);
          const seconds = segments.reduce((sum, segment) => sum + segment.duration, 0) / 1000;
          decoded.push({ name, url, at, poll, seconds, first: segments[0].start, ...decode(path) });
        }
      }
    } finally {
      rmSync(workDir, { recursive: true, force: true });
    }
    run = {
      started, into, back, liveItems, variantUrls, mpdUrl, sessions,
      polls: poller.polls, decoded, encoderErrors, frameRate: Number(/FRAME-RATE=([0-9.]+)/.exec(masterText)?.[1] ?? NaN),
    };
    console.log(`# live_switch: the run took ${((Date.now() - started) / 1000).toFixed(0)} s after the server started`);
    for (const url of variantUrls) console.log(`# ${url}: ${JSON.stringify(windowFigures(poller.polls, url))}`);
    logMpdsAround(poller.polls, mpdUrl, [['into', into], ['back', back]]);
  } catch (error) {
    runError = error;
    encoder?.kill('SIGKILL');
    await poller?.stop();
  }
  // The demo made first if need be (minutes), then up to 5.5 minutes of run.
}, { timeout: 900_000 });

after(async () => {
  encoder?.kill('SIGKILL');
  await server?.stop();
  await browser?.close();
});

/**
 * The two polled MPDs nearest each switch (`[name, at]`): the last one that did not list a segment
 * starting at `at` yet, and the first that did, in full, each with its Periods in a line.
 */
function logMpdsAround(polls, mpdUrl, switches) {
  const mpds = polls.filter((poll) => poll.url === mpdUrl).sort((a, b) => a.at - b.at);
  const failed = mpds.filter((poll) => poll.status !== 200);
  console.log(`# MPD ${mpdUrl}: polled ${mpds.length} times, ${failed.length} failed${failed.length > 0 ? ` (${failed.slice(0, 3).map((poll) => `${iso(poll.at)} ${poll.status}`).join(', ')})` : ''}`);
  for (const [name, at] of switches) {
    const lists = (poll) => poll.status === 200 && parseMpd(poll.text).periods.some((period) => period.segments.some((segment) => segment.start === at));
    const first = mpds.findIndex(lists);
    const nearest = first < 0 ? mpds.filter((poll) => Math.abs(poll.at - at) < 4000).slice(0, 2) : mpds.slice(Math.max(first - 1, 0), first + 1);
    if (first < 0) console.log(`# MPD across ${iso(at)} (${name}): no poll listed a segment starting at the switch; the polls nearest it follow`);
    for (const poll of nearest) {
      const periods = poll.status === 200 ? describeMpd(parseMpd(poll.text)) : `status ${poll.status}`;
      console.log(`# MPD across ${iso(at)} (${name}), polled at ${iso(poll.at)}${lists(poll) ? ' (lists the switch)' : ''}: ${periods}`);
      console.log(poll.text.trim().split('\n').map((line) => `#   ${line}`).join('\n'));
    }
  }
}

function theRun() {
  if (runError !== null) throw runError;
  assert.ok(run !== null, 'the run recorded nothing');
  return run;
}

/** Each poll of `url` answered 200, parsed. */
function parsedPolls(url) {
  return theRun().polls.filter((poll) => poll.url === url && poll.status === 200).map((poll) => ({ at: poll.at, ...parseMediaPlaylist(poll.text) }));
}

/** The segment starting at `at` and the one before it, in the first poll that lists both. */
function aroundSwitch(url, at) {
  for (const poll of parsedPolls(url)) {
    const index = poll.segments.findIndex((segment) => segment.start === at);
    if (index >= 1) return { before: poll.segments[index - 1], at: poll.segments[index], polledAt: poll.at };
  }
  return null;
}

/** What a polled playlist listed at each segment start: the latest listing (ms → segment). */
function listedByStart(url) {
  const byStart = new Map();
  for (const poll of parsedPolls(url)) {
    for (const segment of poll.segments) byStart.set(segment.start, segment);
  }
  return byStart;
}

const describe = (segment) => segment && `${iso(segment.start)} ${segment.discontinuity ? '(after a discontinuity) ' : ''}${segment.uri}`;

test('every variant of the studio channel lists the live segments after a discontinuity from the live item\'s start', { timeout: 10_000 }, () => {
  const { variantUrls, into, polls } = theRun();
  assert.ok(variantUrls.length > 0, 'the channel has variants');
  for (const url of variantUrls) {
    const around = aroundSwitch(url, into);
    assert.ok(around !== null, `${url} never listed a segment starting at ${iso(into)} after another (${polls.length} polls)`);
    assert.ok(around.before.uri.startsWith(ASSET_PREFIX), `before the live item: ${describe(around.before)}`);
    assert.ok(around.at.uri.startsWith(LIVE_PREFIX), `the live item's first segment is live: ${describe(around.at)}`);
    assert.equal(around.at.discontinuity, true, `a discontinuity precedes the live item's first segment: ${describe(around.at)}`);
  }
});

test('every variant of the studio channel lists the programme again after a discontinuity from the live item\'s end', { timeout: 10_000 }, () => {
  const { variantUrls, back } = theRun();
  for (const url of variantUrls) {
    const around = aroundSwitch(url, back);
    assert.ok(around !== null, `${url} never listed a segment starting at ${iso(back)} after another`);
    assert.ok(around.before.uri.startsWith(LIVE_PREFIX), `the live item's last segment is live: ${describe(around.before)}`);
    assert.ok(around.at.uri.startsWith(ASSET_PREFIX), `the programme follows the live item: ${describe(around.at)}`);
    assert.equal(around.at.discontinuity, true, `a discontinuity precedes the programme: ${describe(around.at)}`);
  }
});

test('once the encoder airs in a live item, every slot to the item\'s end airs it, in the segment of its own time', { timeout: 10_000 }, () => {
  const { variantUrls, into, back, liveItems, encoderErrors } = theRun();
  assert.equal(encoderErrors, '', 'the encoder published without an error');
  for (const url of variantUrls) {
    const byStart = listedByStart(url);
    for (const item of liveItems.filter((candidate) => candidate.start === into || candidate.end === back)) {
      const slots = [...byStart.values()].filter((segment) => segment.start >= item.start && segment.start < item.end).sort((a, b) => a.start - b.start);
      const firstLive = slots.findIndex((segment) => segment.uri.startsWith(LIVE_PREFIX));
      assert.ok(firstLive >= 0, `${url}: no live segment listed in the item ${iso(item.start)}-${iso(item.end)}`);
      if (item.start === into) assert.equal(firstLive, 0, `${url}: the encoder was up before ${iso(into)}, yet the item began with ${describe(slots[0])}`);
      const fallback = slots.slice(firstLive).filter((segment) => !segment.uri.startsWith(LIVE_PREFIX));
      assert.deepEqual(fallback.map(describe), [], `${url}: slots of ${iso(item.start)}-${iso(item.end)} that aired the fallback after live had begun`);
      if (item.end === back) {
        const listedEnd = slots.at(-1).start + slots.at(-1).duration;
        assert.equal(listedEnd, item.end, `${url}: the polls listed the item's slots up to its end`);
      }
      // The ladder cuts on the slot grid and names each segment by its start (90 kHz ticks).
      for (const segment of slots.slice(firstLive)) {
        const ticks = Number(/\/(\d+)\.ts$/.exec(segment.uri)?.[1]);
        assert.equal(ticks / 90, segment.start, `${describe(segment)} is named by its own start`);
      }
    }
  }
});

test('every poll of the studio channel lists the same segment at each media sequence', { timeout: 10_000 }, () => {
  const { variantUrls } = theRun();
  for (const url of variantUrls) {
    const seen = new Map();
    for (const poll of parsedPolls(url)) {
      for (const segment of poll.segments) {
        const earlier = seen.get(segment.sequence);
        if (earlier === undefined) {
          seen.set(segment.sequence, segment);
          continue;
        }
        assert.deepEqual(
          { uri: segment.uri, start: segment.start, discontinuitySequence: segment.discontinuitySequence },
          { uri: earlier.uri, start: earlier.start, discontinuitySequence: earlier.discontinuitySequence },
          `${url}: media sequence ${segment.sequence} changed between polls`,
        );
      }
    }
    assert.ok(seen.size > 60, `${url}: ${seen.size} segments seen`);
  }
});

/**
 * What one player did in one session (`into` or `back`): the stalls after it began to play
 * (currentTime still for longer than a target duration), the clock it reached, and whether its
 * clock crossed the session's switch while playing.
 */
function playerReport(name, sessionName) {
  const { sessions, polls } = theRun();
  const session = sessions[sessionName];
  const targetDuration = parseMediaPlaylist(polls.find((poll) => poll.status === 200 && poll.text.includes('#EXTINF')).text).targetDuration;
  const samples = session.log[name].samples;
  const firstPlaying = samples.findIndex((sample, index) => index > 0 && sample.time > samples[index - 1].time);
  const stalls = [];
  const stall = (still, until, extra = {}) => ({ from: iso(still.at), ms: until - still.at, currentTime: still.time, date: still.date && iso(still.date), buffered: still.buffered, range: still.range, ...extra });
  let still = null;
  for (let index = Math.max(firstPlaying, 1); firstPlaying >= 0 && index < samples.length; index += 1) {
    const [previous, sample] = [samples[index - 1], samples[index]];
    if (sample.time > previous.time) {
      if (still !== null && sample.at - still.at > targetDuration * 1000) stalls.push(stall(still, sample.at));
      still = null;
    } else {
      still ??= previous;
    }
  }
  if (still !== null && samples.at(-1).at - still.at > targetDuration * 1000) stalls.push(stall(still, samples.at(-1).at, { atTheEnd: true }));
  const playing = samples.slice(Math.max(firstPlaying, 0)).filter((sample) => sample.date !== null);
  const firstDate = playing[0]?.date ?? null;
  const lastDate = playing.at(-1)?.date ?? null;
  return {
    at: session.at, targetDuration, stalls, samples, firstPlaying, firstDate, lastDate,
    crossed: firstPlaying >= 0 && firstDate !== null && firstDate < session.at - 2000 && lastDate > session.at + 10_000,
    fatal: session.log[name].fatal, errors: session.log[name].errors, frags: session.log[name].frags, waiting: session.log[name].waiting,
    videoError: samples.map((sample) => sample.error).find((error) => error) ?? null,
    pageErrors: session.pageErrors,
  };
}

function assertPlayedAcross(name, sessionName) {
  const report = playerReport(name, sessionName);
  const errors = new Map();
  for (const error of report.errors) {
    const what = error.replace(/^\d+ /, '');
    errors.set(what, (errors.get(what) ?? 0) + 1);
  }
  console.log(`# ${name} across ${iso(report.at)} (${sessionName}): clock ${report.firstDate && iso(report.firstDate)} -> ${report.lastDate && iso(report.lastDate)}, ${report.waiting.length} waiting events, stalls ${JSON.stringify(report.stalls)}, non-fatal errors ${JSON.stringify([...errors].slice(0, 5))}`);
  console.log(`# ${name} requests across ${iso(report.at)} (${sessionName}): ${requestsAcross(report.frags, sessionName, report.at).join(', ')}`);
  assert.deepEqual(report.fatal, [], `no fatal ${name} error`);
  assert.equal(report.videoError, null, 'no media element error');
  assert.deepEqual(report.pageErrors, [], 'no page error');
  assert.ok(report.firstPlaying >= 0, `${name} never played`);
  assert.ok(report.crossed, `${name}'s clock went from ${report.firstDate && iso(report.firstDate)} to ${report.lastDate && iso(report.lastDate)}, across ${iso(report.at)}?`);
  assert.deepEqual(report.stalls, [], `${name} stalled for longer than a target duration (${report.targetDuration} s); waiting events: ${JSON.stringify(report.waiting.map((waiting) => iso(waiting.at)))}`);
  // What the player loaded or played on each side of the switch.
  const urls = report.frags.map((frag) => frag.url);
  assert.ok(urls.some((url) => url.startsWith(LIVE_PREFIX)), `${name} loaded live segments`);
  assert.ok(urls.some((url) => url.startsWith(ASSET_PREFIX)), `${name} loaded the programme`);
}

/**
 * The segments a player loaded (played, for hls.js) around the session's switch `at`: from eight
 * before the first on the other side of it (for `into`, the live segment named by `at`; for
 * `back`, the first of the programme after the last live segment named before `at`) to eight
 * after, each as `time url` (the time it came, on the wall clock).
 */
function requestsAcross(frags, sessionName, at) {
  const liveStart = (url) => (url.startsWith(LIVE_PREFIX) ? Number(/\/(\d+)\.(?:ts|m4s)$/.exec(url)?.[1] ?? NaN) / 90 : NaN);
  const lastLive = frags.findLastIndex((frag) => liveStart(frag.url) < at);
  const first = sessionName === 'into'
    ? frags.findIndex((frag) => liveStart(frag.url) >= at)
    : frags.findIndex((frag, index) => index > lastLive && frag.url.startsWith(ASSET_PREFIX));
  if (first < 0) return [`none on the other side of the switch in ${frags.length}; the last: ${frags.slice(-8).map((frag) => frag.url).join(' ')}`];
  return frags.slice(Math.max(first - 8, 0), first + 8).map((frag) => `${iso(frag.at).slice(11, 23)} ${frag.url}`);
}

/**
 * The pictures a player showed in both sessions, by where its clock was: in a slot that aired
 * live, the capture time each read back less the clock; in the programme, the number of
 * pictures that read back as a time at all.
 */
function pictures(name) {
  const { variantUrls } = theRun();
  const byStart = [...listedByStart(variantUrls[0]).values()];
  const inside = (prefix) => (date) => byStart.some((segment) => segment.uri.startsWith(prefix) && date >= segment.start + 500 && date < segment.start + segment.duration - 500);
  const [airsLive, airsProgramme] = [inside(LIVE_PREFIX), inside(ASSET_PREFIX)];
  const playing = ['into', 'back'].flatMap((sessionName) => {
    const report = playerReport(name, sessionName);
    return report.samples.slice(Math.max(report.firstPlaying, 0)).filter((sample) => sample.date !== null);
  });
  const inLive = playing.filter((sample) => airsLive(sample.date));
  const inProgramme = playing.filter((sample) => airsProgramme(sample.date));
  return {
    offsets: inLive.filter((sample) => sample.captured !== null).map((sample) => sample.captured - sample.date),
    // Glass to glass: when the picture was on screen less when the encoder captured it.
    latencies: inLive.filter((sample) => sample.captured !== null).map((sample) => sample.at - sample.captured),
    liveSamples: inLive.length,
    unreadLive: inLive.filter((sample) => sample.captured === null).map((sample) => iso(sample.date)),
    programmeSamples: inProgramme.length,
    readInProgramme: inProgramme.filter((sample) => sample.captured !== null).map((sample) => iso(sample.date)),
  };
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 0 ? NaN : sorted[Math.floor(sorted.length / 2)];
}

function assertShowedTheEncoderInLiveOnly(name) {
  const seen = pictures(name);
  console.log(`# ${name}: ${seen.liveSamples} samples in live (${seen.unreadLive.length} unread), ${seen.programmeSamples} in the programme; capture time less the clock: median ${median(seen.offsets)} ms, ${Math.min(...seen.offsets)}..${Math.max(...seen.offsets)} ms`);
  assert.ok(seen.liveSamples > 40, `${name} sampled ${seen.liveSamples} pictures in live slots`);
  assert.ok(seen.programmeSamples > 40, `${name} sampled ${seen.programmeSamples} pictures in the programme`);
  // A picture between two segments may be the previous one still: a few go unread.
  assert.ok(seen.unreadLive.length <= seen.liveSamples / 10, `${name} showed something else than the encoder's picture at ${seen.unreadLive.join(', ')}`);
  assert.deepEqual(seen.readInProgramme, [], `${name} showed the encoder's picture in the programme`);
  // Live segments are stamped with Unix time: a picture plays at the time it was captured.
  assert.ok(Math.abs(median(seen.offsets)) < 1000, `${name}: a live picture's capture time less the player's clock, median ${median(seen.offsets)} ms`);
  // Glass to glass on the channel's HLS and DASH (2 s segments): the channel's live delay (a slot
  // is listed once decided, 1.5 s after its end: `[live] grace` and the margin) plus the player's
  // distance to the edge (3 target durations; the MPD's suggestedPresentationDelay is as many).
  // bench/live_latency.sh prints it.
  console.log(`LATENCY channel ${PLAYERS[name].format} ${PLAYERS[name].player}: median ${(median(seen.latencies) / 1000).toFixed(2)} s glass to glass over ${seen.latencies.length} pictures`);
  assert.ok(median(seen.latencies) < 12_000, `${name}: glass to glass ${median(seen.latencies)} ms`);
}

test('every request the players made across the switches was answered', { timeout: 10_000 }, () => {
  const { sessions } = theRun();
  for (const [name, session] of Object.entries(sessions)) {
    for (const player of PLAYER_NAMES) assert.ok(session.log[player].frags.length > 0, `${player} loaded segments (${name})`);
    assert.deepEqual(session.failedResponses, [], `requests that failed or answered 400 or more (${name})`);
  }
});

test('hls.js plays the studio channel from its programme into a live item without a stall', { timeout: 10_000 }, () => {
  assertPlayedAcross('hls', 'into');
});

test('hls.js plays the studio channel from a live item back to its programme without a stall', { timeout: 10_000 }, () => {
  assertPlayedAcross('hls', 'back');
});

// shaka-player 5 plays HLS-TS (its own transmuxer). It keeps its distance to the playlist's end
// anchored to the wall clock where it started, so it starved after a switch into live while
// slots were listed later than the programme (once decided, after the grace and the margin); every
// channel now lists every segment that late (its live delay), and shaka plays through.

test('shaka-player plays the studio channel (HLS-TS, transmuxed) from its programme into a live item without a stall', { timeout: 10_000 }, () => {
  assertPlayedAcross('shaka', 'into');
});

test('shaka-player plays the studio channel (HLS-TS, transmuxed) from a live item back to its programme without a stall', { timeout: 10_000 }, () => {
  assertPlayedAcross('shaka', 'back');
});

// shaka-player 5 on the channel's MPD: a Period per run, the live item's a `$Time$` one whose
// fragments' tfdt is Unix time (the Period's presentationTimeOffset takes it back to the
// Period's start); the programme's `$Number$` Periods around it.

test('shaka-player plays the studio channel\'s DASH from its programme into a live item without a stall', { timeout: 10_000 }, () => {
  assertPlayedAcross('shakaDash', 'into');
});

test('shaka-player plays the studio channel\'s DASH from a live item back to its programme without a stall', { timeout: 10_000 }, () => {
  assertPlayedAcross('shakaDash', 'back');
});

test('hls.js shows the encoder\'s pictures in the live slots, at the time they were captured, and the programme elsewhere', { timeout: 10_000 }, () => {
  assertShowedTheEncoderInLiveOnly('hls');
});

test('shaka-player shows the encoder\'s pictures in the live slots, at the time they were captured, and the programme elsewhere', { timeout: 10_000 }, () => {
  assertShowedTheEncoderInLiveOnly('shaka');
});

test('shaka-player on the studio channel\'s DASH shows the encoder\'s pictures in the live slots, at the time they were captured, and the programme elsewhere', { timeout: 10_000 }, () => {
  assertShowedTheEncoderInLiveOnly('shakaDash');
});

test('ffprobe decodes every frame of every variant\'s window across each switch without an error', { timeout: 10_000 }, () => {
  const { decoded, frameRate } = theRun();
  assert.ok(Number.isFinite(frameRate), 'the multivariant playlist gives the frame rate');
  for (const window of decoded) {
    const what = `${window.url} across ${iso(window.at)} (${window.name})`;
    assert.ok(window.poll !== null, `${what}: no poll listed it`);
    console.log(`# ffprobe ${what}: ${window.seconds} s from ${iso(window.first)}, frames ${JSON.stringify(window.frames)}, exit ${window.status}`);
    assert.equal(window.errors, '', `${what}: ffprobe said`);
    assert.equal(window.status, 0, `${what}: ffprobe's exit status`);
    // Every video frame; AAC frames of 1024 samples, give or take one at each segment's edge.
    assert.ok(Math.abs(window.frames.video - window.seconds * frameRate) <= 2, `${what}: ${window.frames.video} video frames in ${window.seconds} s at ${frameRate} fps`);
    const audioFrames = (window.seconds * window.sampleRate) / 1024;
    assert.ok(Math.abs(window.frames.audio - audioFrames) <= window.seconds, `${what}: ${window.frames.audio} audio frames in ${window.seconds} s (${audioFrames.toFixed(1)} expected)`);
  }
});

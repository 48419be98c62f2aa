// Starts the real onair binary for browser tests: the demo channel, served on a free port, on the
// wall clock or on a virtual clock that starts near a clip boundary.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const onairBin = process.env.ONAIR_BIN ?? join(root, 'target', 'debug', 'onair');
// The browser tests' own demo (`onair demo --setup-only` reuses what is there): the Rust
// end-to-end tests run first and leave their edits in theirs (target/tmp/e2e-demo); two grid
// tests failed in a full run on that demo and passed on one of their own.
export const demoDataDir = join(root, 'target', 'tmp', 'browser-demo');

// The bootstrap token (`http.api_token`) every test server is started with: an admin on every
// channel, for the tests' own API calls (`apiFetch`).
export const TEST_TOKEN = 'browser-bootstrap-t0ken';
// The operator the pages are tried as: an admin on every channel of the demo database.
export const operator = { username: 'browser-admin', password: 'correct horse battery' };

export function prepareDemo() {
  mkdirSync(demoDataDir, { recursive: true });
  const env = { ...process.env, ONAIR_DATA_DIR: demoDataDir, ONAIR_LOG: 'warn' };
  const setup = spawnSync(onairBin, ['demo', '--setup-only'], { env, encoding: 'utf8', timeout: 300_000 });
  if (setup.status !== 0) {
    throw new Error(`onair demo --setup-only failed (${setup.status}): ${setup.stderr}`);
  }
  ensureOperator(env);
}

/** Adds the operator to the database `env` names, or sets its password again. */
export function ensureOperator(env) {
  const input = `${operator.password}\n`;
  const added = spawnSync(onairBin, ['user', 'add', operator.username, '--role', 'admin', '--password-stdin'], { env, input, encoding: 'utf8' });
  if (added.status === 0) return;
  if (!/already a user/.test(added.stderr)) throw new Error(`onair user add failed: ${added.stderr}`);
  const reset = spawnSync(onairBin, ['user', 'passwd', operator.username, '--password-stdin'], { env, input, encoding: 'utf8' });
  if (reset.status !== 0) throw new Error(`onair user passwd failed: ${reset.stderr}`);
}

/** `fetch` with the bootstrap token, for the API. */
export function apiFetch(url, init = {}) {
  return fetch(url, { ...init, headers: { ...(init.headers ?? {}), authorization: `Bearer ${TEST_TOKEN}` } });
}

/** The login page, as a page object. */
export class LoginPage {
  constructor(page, baseUrl) {
    this.page = page;
    this.baseUrl = baseUrl;
  }

  /** Logs in with `user` ({ username, password }) and waits to land on `next`. */
  async logIn(user = operator, next = '/') {
    await this.page.goto(`${this.baseUrl}/login?next=${encodeURIComponent(next)}`);
    await this.page.getByLabel('Username').fill(user.username);
    await this.page.getByLabel('Password').fill(user.password);
    await Promise.all([
      this.page.waitForURL((url) => url.pathname === next.split('?')[0]),
      this.page.getByRole('button', { name: 'Log in' }).click(),
    ]);
  }
}

/**
 * Runs `onair ARGS` (ending in `serve`) with `env` on free ports and the bootstrap token;
 * resolves to { url, stop } once it listens. `cleanup` runs after it exits on `stop`.
 */
function startServer(args, env, cleanup = () => {}) {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(onairBin, args, {
      env: { ONAIR_LOG: 'warn', ...env, ONAIR_HTTP_ADDR: '127.0.0.1:0', ONAIR_RTMP_ADDR: '127.0.0.1:0', ONAIR_SRT_ADDR: '127.0.0.1:0', ONAIR_API_TOKEN: TEST_TOKEN },
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
            child.once('exit', () => { cleanup(); done(); });
            child.kill('SIGTERM');
          }),
        });
      }
    });
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`onair exited with ${code}: ${stderr}`)); });
  });
}

/** Serves the demo data dir on 127.0.0.1:0; resolves to { url, stop }. */
export function serve() {
  return startServer(['serve'], { ...process.env, ONAIR_DATA_DIR: demoDataDir });
}

/**
 * A private copy of the demo's data, for a test that changes it: a consistent snapshot of the
 * database (`VACUUM INTO`) with the operator in it, the demo ad server's files and the media
 * shared. Resolves to { dataDir, mediaDir, env, remove }; serve it with `serveOnClock(…, data)`
 * or `serveData(data)`.
 */
export function copyDemo() {
  const dataDir = mkdtempSync(join(tmpdir(), 'onair-demo-copy-'));
  const snapshot = spawnSync('sqlite3', [join(demoDataDir, 'onair.db'), `VACUUM INTO '${join(dataDir, 'onair.db')}'`], { encoding: 'utf8' });
  if (snapshot.status !== 0) throw new Error(`sqlite3 could not copy the demo database: ${snapshot.stderr}`);
  symlinkSync(join(demoDataDir, 'demo-ads'), join(dataDir, 'demo-ads'));
  const mediaDir = join(demoDataDir, 'media');
  const env = { ...process.env, ONAIR_DATA_DIR: dataDir, ONAIR_MEDIA_DIR: mediaDir, ONAIR_LOG: 'warn' };
  ensureOperator(env);
  return { dataDir, mediaDir, env, remove: () => rmSync(dataDir, { recursive: true, force: true }) };
}

/**
 * `copyDemo()` for a scheduler's tests: the demo channel repeats its first day for ever, so only
 * that day can be edited; on this copy each of its days is its own, as a scheduler's channel is.
 */
export function copyDemoWithOwnDays() {
  const data = copyDemo();
  const once = spawnSync('sqlite3', [join(data.dataDir, 'onair.db'), "UPDATE channels SET grid_repeat_ticks = NULL WHERE slug = 'demo'"], { encoding: 'utf8' });
  if (once.status !== 0) throw new Error(`sqlite3 failed: ${once.stderr}`);
  return data;
}

/**
 * Serves `data` (from `copyDemo`) on 127.0.0.1:0 on the wall clock, with the configuration file
 * `config` if given; resolves to { url, stop }.
 */
export function serveData(data, { config = null } = {}) {
  return startServer(config === null ? ['serve'] : ['--config', config, 'serve'], data.env);
}

/** Saves a full-page screenshot of `page` into tests/browser/artifacts/ as NAME.png. */
export async function screenshot(page, name) {
  const dir = join(root, 'tests', 'browser', 'artifacts');
  mkdirSync(dir, { recursive: true });
  await page.screenshot({ path: join(dir, `${name}.png`), fullPage: true }).catch(() => {});
}

/**
 * A private copy of the demo's data whose channel inserts its ads as `insertion` says
 * (`interstitials` or `stitched`): a consistent snapshot of the database (`VACUUM INTO`), the
 * demo ad server's files and the media shared, as `copyDemo` makes it.
 */
export function copyDemoWithInsertion(insertion) {
  const data = copyDemo();
  const shown = spawnSync(onairBin, ['ads', 'show', 'demo'], { env: data.env, encoding: 'utf8' });
  if (shown.status !== 0) throw new Error(`onair ads show demo failed: ${shown.stderr}`);
  const settings = join(data.dataDir, 'ads.json');
  writeFileSync(settings, JSON.stringify({ ...JSON.parse(shown.stdout).config, insertion }));
  const set = spawnSync(onairBin, ['ads', 'set', 'demo', settings], { env: data.env, encoding: 'utf8' });
  if (set.status !== 0) throw new Error(`onair ads set demo failed: ${set.stderr}`);
  return data;
}

/**
 * Serves the demo data (or `data`, from `copyDemoWithInsertion`) on 127.0.0.1:0 with a virtual
 * clock from `start` (a Date) at `speed`.
 */
export function serveOnClock(start, speed, data = null) {
  const configDir = mkdtempSync(join(tmpdir(), 'onair-clock-'));
  const config = join(configDir, 'onair.toml');
  writeFileSync(config, `[playout]\nvirtual_clock = { start = "${start.toISOString()}", speed = ${speed.toFixed(3)} }\n`);
  const env = data === null ? { ...process.env, ONAIR_DATA_DIR: demoDataDir } : data.env;
  return startServer(['--config', config, 'serve'], env, () => rmSync(configDir, { recursive: true, force: true }));
}

/**
 * When the programme airing now started (ms), by the demo's guide (XMLTV): right after an ad
 * break, which airs as slate runs of a few seconds.
 */
async function startOfProgrammeAiring() {
  const guide = await serve();
  try {
    const xml = await (await fetch(`${guide.url}/channels/demo/epg.xml`)).text();
    const start = /<programme start="(\d{4})(\d\d)(\d\d)(\d\d)(\d\d)(\d\d) \+0000"/.exec(xml);
    if (start === null) throw new Error(`the demo's guide lists no programme in UTC: ${xml}`);
    const [year, month, day, hour, minute, second] = start.slice(1).map(Number);
    return Date.UTC(year, month - 1, day, hour, minute, second);
  } finally {
    await guide.stop();
  }
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

/**
 * A clip boundary of the demo channel (ms), asked of the binary itself: in the ad break before
 * the programme airing now (the demo's programmes last minutes; its breaks are slate runs of a
 * few seconds), the last but one run start a server frozen at the programme's start lists.
 */
async function recentBoundary() {
  const boundary = await boundaryInWindowAt(new Date(await startOfProgrammeAiring()));
  if (boundary === null) throw new Error('the demo channel has an ad break before each programme');
  return boundary;
}

/** Serves the demo data on a clock at normal speed that starts 3 s after a recent clip boundary. */
export async function serveAfterBoundary() {
  return serveOnClock(new Date((await recentBoundary()) + 3_050), 1);
}

export const chromiumOptions = {
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  headless: true,
  args: [
    '--no-sandbox', '--autoplay-policy=no-user-gesture-required', '--disable-gpu', '--disable-quic',
    '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync',
  ],
};

// The demo's ad breaks: a 60 s break after each 2-minute programme, the grid rotating every
// 15 minutes from UTC midnight, so a break starts every 3 minutes from 00:02 UTC (minutes 2, 5,
// 8, 11 and 14 of each quarter hour).
const demoBreakEvery = 180_000;
const demoFirstBreak = 120_000;
export const demoBreakLength = 60_000;

/** The start (ms) of the demo's first ad break after `at` (ms). */
export function demoBreakAfter(at) {
  return (Math.floor((at - demoFirstBreak) / demoBreakEvery) + 1) * demoBreakEvery + demoFirstBreak;
}

/**
 * Serves the demo data (or `data`, as `serveOnClock`) on a clock at normal speed that starts
 * `secondsBefore` seconds before the demo's next ad break (after the grid's start, which is the
 * midnight before `onair demo` made it); resolves to { url, stop, breakStart, breakEnd } (ms).
 */
export async function serveBeforeDemoBreak(secondsBefore, data = null) {
  const breakStart = demoBreakAfter(Date.now());
  const server = await serveOnClock(new Date(breakStart - secondsBefore * 1000), 1, data);
  return { ...server, breakStart, breakEnd: breakStart + demoBreakLength };
}

/**
 * Serves a blank page with a video element (`<video id="player">`) on an origin of its own,
 * http://localhost:PORT, where onair's is http://127.0.0.1:PORT: a player there reaches onair
 * across origins, as on a publisher's page. Resolves to { url, stop }.
 */
export function servePlayerPage() {
  const page = '<!doctype html><meta charset="utf-8"><video id="player" muted autoplay playsinline></video>';
  const server = createServer((_request, response) => {
    response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    response.end(page);
  });
  return new Promise((resolvePromise) => {
    server.listen(0, '127.0.0.1', () => resolvePromise({
      url: `http://localhost:${server.address().port}/`,
      stop: () => new Promise((done) => { server.close(done); server.closeAllConnections(); }),
    }));
  });
}

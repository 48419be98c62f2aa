// Starts the real onair binary for browser tests: the demo channel, served on a free port.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const onairBin = process.env.ONAIR_BIN ?? join(root, 'target', 'debug', 'onair');
// Shared with the Rust end-to-end tests: `onair demo --setup-only` reuses what is there.
export const demoDataDir = join(root, 'target', 'tmp', 'e2e-demo');

export function prepareDemo() {
  mkdirSync(demoDataDir, { recursive: true });
  const setup = spawnSync(onairBin, ['demo', '--setup-only'], {
    env: { ...process.env, ONAIR_DATA_DIR: demoDataDir, ONAIR_LOG: 'warn' },
    encoding: 'utf8',
    timeout: 300_000,
  });
  if (setup.status !== 0) {
    throw new Error(`onair demo --setup-only failed (${setup.status}): ${setup.stderr}`);
  }
}

/** Serves the demo data dir on 127.0.0.1:0; resolves to { url, stop }. */
export function serve() {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(onairBin, ['serve'], {
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
          stop: () => new Promise((done) => { child.once('exit', done); child.kill('SIGTERM'); }),
        });
      }
    });
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`onair exited with ${code}: ${stderr}`)); });
  });
}

export const chromiumOptions = {
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  headless: true,
  args: [
    '--no-sandbox', '--autoplay-policy=no-user-gesture-required', '--disable-gpu', '--disable-quic',
    '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync',
  ],
};

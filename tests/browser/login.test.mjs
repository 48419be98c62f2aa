// Accounts in a real browser: an operator logs in with a password, sets up two-factor sign-in
// on the account page from the secret it shows (the code computed here as an authenticator app
// would, RFC 6238), logs out, and logs in again with a password and a code. A wrong code is
// refused with a message; nothing is reachable before the code. On a copy of the demo data.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { chromium } from 'playwright-core';
import { LoginPage, chromiumOptions, copyDemo, operator, prepareDemo, screenshot, serveData } from './onair.mjs';

let browser;
let server;
let data;

before(async () => {
  prepareDemo();
  data = copyDemo();
  server = await serveData(data);
  browser = await chromium.launch(chromiumOptions);
});

after(async () => {
  await browser?.close();
  await server?.stop();
  data?.remove();
});

/** The bytes of a base32 (RFC 4648) text. */
function base32(text) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let value = 0;
  const out = [];
  for (const char of text.replace(/=+$/, '').toUpperCase()) {
    value = (value << 5) | alphabet.indexOf(char);
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out.push((value >>> bits) & 0xff);
    }
  }
  return Buffer.from(out);
}

/** The 6-digit TOTP code of `secret` (base32) at 30-second step `step`. */
function totp(secret, step) {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(step));
  const mac = createHmac('sha1', base32(secret)).update(counter).digest();
  const offset = mac[mac.length - 1] & 0x0f;
  const number = (mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000;
  return String(number).padStart(6, '0');
}

const stepNow = () => Math.floor(Date.now() / 30_000);

/** The account page, as a page object. */
class AccountPage {
  constructor(page, baseUrl) {
    this.page = page;
    this.baseUrl = baseUrl;
  }

  async open() {
    await this.page.goto(`${this.baseUrl}/account`);
  }

  /** Starts two-factor sign-in; resolves to the secret and the recovery codes it shows. */
  async startTwoFactor() {
    await this.page.getByRole('button', { name: 'Set up two-factor sign-in' }).click();
    await this.page.locator('#totp-secret').waitFor();
    assert.equal(await this.page.locator('figure svg').count(), 1, 'a QR code for the app');
    const secret = (await this.page.locator('#totp-secret').textContent()).trim();
    const recoveryCodes = await this.page.locator('#recovery-codes code').allTextContents();
    return { secret, recoveryCodes };
  }

  async confirm(code) {
    await this.page.getByLabel('The code the app shows now').fill(code);
    await this.page.getByRole('button', { name: 'Turn two-factor sign-in on' }).click();
  }

  async logOut() {
    await Promise.all([
      this.page.waitForURL((url) => url.pathname === '/login'),
      this.page.getByRole('button', { name: 'Log out' }).click(),
    ]);
  }
}

/** The second-factor page, as a page object. */
class CodePage {
  constructor(page) {
    this.page = page;
  }

  async give(code) {
    await this.page.getByLabel(/authenticator app/).fill(code);
    await this.page.getByRole('button', { name: 'Continue' }).click();
  }
}

test('an operator sets up two-factor sign-in and logs in with a code from the app', { timeout: 120_000 }, async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  try {
    const login = new LoginPage(page, server.url);
    await login.logIn(operator, '/account');
    const account = new AccountPage(page, server.url);
    const { secret, recoveryCodes } = await account.startTwoFactor();
    assert.match(secret, /^[A-Z2-7]{32}$/);
    assert.equal(recoveryCodes.length, 10);

    await account.confirm('000000');
    await page.getByRole('alert').filter({ hasText: 'wrong code' }).waitFor();
    // The code the app shows next (an app a step ahead is accepted); the one used here is spent.
    const confirmedAt = stepNow();
    await account.confirm(totp(secret, confirmedAt));
    await page.getByRole('status').filter({ hasText: 'Two-factor sign-in is on' }).waitFor();
    await account.logOut();

    // The password alone leads to the code page, and nothing else is reachable.
    await page.goto(`${server.url}/login?next=${encodeURIComponent('/account')}`);
    await page.getByLabel('Username').fill(operator.username);
    await page.getByLabel('Password').fill(operator.password);
    await Promise.all([
      page.waitForURL((url) => url.pathname === '/login/code'),
      page.getByRole('button', { name: 'Log in' }).click(),
    ]);
    const me = await page.evaluate(async () => (await fetch('/api/me')).status);
    assert.equal(me, 401, 'a password without its code opens nothing');
    const code = new CodePage(page);
    await code.give('123456');
    await page.getByRole('alert').filter({ hasText: 'wrong code' }).waitFor();
    await Promise.all([
      page.waitForURL((url) => url.pathname === '/account'),
      code.give(totp(secret, confirmedAt + 1)),
    ]);
    assert.match(await page.locator('#two-factor-state').textContent(), /On/);
    const who = await page.evaluate(async () => (await fetch('/api/me')).json());
    assert.equal(who.username, operator.username);
    assert.equal(who.credential, 'session');
  } catch (error) {
    await screenshot(page, 'login-two-factor');
    throw error;
  } finally {
    await context.close();
  }
});

test('a wrong password is refused on the page and the session cookie is HttpOnly', { timeout: 60_000 }, async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  try {
    await page.goto(`${server.url}/`);
    assert.equal(new URL(page.url()).pathname, '/login', 'the channels page asks for a login');
    await page.getByLabel('Username').fill(operator.username);
    await page.getByLabel('Password').fill('not the password');
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('alert').filter({ hasText: 'wrong username or password' }).waitFor();
    assert.equal(await page.getByLabel('Username').inputValue(), operator.username, 'the username is kept');
    const cookies = await context.cookies();
    assert.equal(cookies.find((cookie) => cookie.name === 'onair_session'), undefined);
    assert.equal(await page.evaluate(() => document.cookie.includes('onair_session')), false);
  } catch (error) {
    await screenshot(page, 'login-wrong-password');
    throw error;
  } finally {
    await context.close();
  }
});

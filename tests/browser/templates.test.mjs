// Templates and blocks in a real browser, on a copy of the demo data: a scheduler makes a block
// of two clips, gives the first its programme details (a bad artwork URL first, refused next to
// its field), a template that places it daily at 20:00 (a bad rule first, refused next to its
// field), applies the template to next week, and the week view of the grid and the schedule
// API show it with its details.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';
import { LoginPage, apiFetch, chromiumOptions, copyDemoWithOwnDays, operator, prepareDemo, serveData } from './onair.mjs';

let browser;
let server;
let data;

before(async () => {
  prepareDemo();
  data = copyDemoWithOwnDays();
  server = await serveData(data);
  browser = await chromium.launch(chromiumOptions);
});

after(async () => {
  await browser?.close();
  await server?.stop();
  data?.remove();
});

/** The templates page, as a page object. */
class TemplatesPage {
  constructor(page, baseUrl) {
    this.page = page;
    this.baseUrl = baseUrl;
  }

  async open(slug) {
    await this.page.goto(`${this.baseUrl}/grid/${slug}/templates`);
    await this.page.getByTestId('save-blocks').waitFor();
  }

  status() {
    return this.page.getByTestId('tpl-status');
  }

  async newBlock(name) {
    await this.page.getByTestId('new-block-name').fill(name);
    await this.page.getByRole('button', { name: 'Create the block' }).click();
    await this.page.getByTestId(`block-${name}`).waitFor();
  }

  async addClip(block, title) {
    const card = this.page.getByTestId(`block-${block}`);
    await card.getByTestId('entry-search').fill(title);
    await card.getByTestId('entry-asset').locator('option', { hasText: title }).first().waitFor({ state: 'attached' });
    await card.getByTestId('add-entry').click();
    await card.locator('.entry-text', { hasText: title }).waitFor();
  }

  async save(part) {
    const answer = this.page.waitForResponse((response) => response.url().endsWith(`/grid/${part}`) && response.request().method() === 'PUT');
    await this.page.getByTestId(`save-${part}`).click();
    return answer;
  }
}

/** The Monday after today, in UTC (the demo channel's zone). */
function nextMonday() {
  const now = new Date();
  const day = (now.getUTCDay() + 6) % 7;
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 7 - day)).toISOString().slice(0, 10);
}

test('a block of two clips placed daily at 20:00 by a template is applied to next week and shows in the week view', async () => {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const page = await context.newPage();
  try {
    await new LoginPage(page, server.url).logIn(operator, '/grid/demo/templates');
    const templates = new TemplatesPage(page, server.url);
    await templates.open('demo');

    await templates.newBlock('Evening');
    await templates.addClip('Evening', 'Kitchen Basics');
    await templates.addClip('Evening', 'Night Sky');
    // The keyboard fallback of dragging: Night Sky up, then back down.
    await page.getByRole('button', { name: 'Move Item: Night Sky' }).first().focus();
    await page.getByTestId('block-Evening').getByRole('button', { name: /Move Item: Night Sky.* up/ }).click();
    assert.match(await page.getByTestId('block-Evening').locator('.entry-text').first().textContent(), /Night Sky/);
    await page.getByTestId('block-Evening').getByRole('button', { name: /Move Item: Night Sky.* down/ }).click();

    // What the EPG lists for the first clip: a title of its own, a description, genres, a
    // rating, and artwork at a URL the server refuses, then at one it takes.
    const details = page.getByTestId('block-Evening').getByTestId('programme-details').first();
    await details.locator('summary').click();
    await details.getByTestId('info-title').fill('Evening Kitchen');
    await details.getByTestId('info-description').fill('Supper in <b>ten</b> minutes.');
    await details.getByTestId('info-genres').fill('Cooking, Lifestyle');
    await details.getByTestId('info-rating').fill('VCHIP: TV-G');
    await details.getByTestId('info-artwork_url').fill('ftp://images.example/kitchen.jpg');
    let answer = await templates.save('blocks');
    assert.equal(answer.status(), 422, await answer.text());
    await details.locator('.field-problem').filter({ hasText: /is not an http\(s\) URL/ }).waitFor();
    await details.getByTestId('info-artwork_url').fill('https://images.example/kitchen.jpg');
    answer = await templates.save('blocks');
    assert.equal(answer.status(), 200, await answer.text());
    await templates.status().getByText(/saved as version \d+/).waitFor();

    await page.getByTestId('new-template').click();
    const card = page.getByTestId('template-0');
    await card.getByTestId('template-name').fill('Nights');
    await card.getByTestId('add-slot').click();
    await page.getByTestId('template-0').getByTestId('slot-rule').fill('daily 25:00');
    answer = await templates.save('templates');
    assert.equal(answer.status(), 422);
    // The problem stands next to the rule it names, and nothing was saved.
    await page.getByTestId('template-0').locator('.field-problem').filter({ hasText: /25:00/ }).waitFor();
    await page.getByTestId('template-0').getByTestId('slot-rule').fill('daily 20:00');
    await page.getByTestId('template-0').locator('[data-testid="fires"] li').first().waitFor();
    answer = await templates.save('templates');
    assert.equal(answer.status(), 200, await answer.text());

    // The apply form lists the saved template once the page is loaded again.
    await templates.open('demo');
    await page.getByLabel('Template', { exact: true }).selectOption('Nights');
    const monday = nextMonday();
    assert.equal(await page.getByLabel(/Week starting Monday/).inputValue(), monday);
    await Promise.all([
      page.waitForURL((url) => url.pathname === '/grid/demo' && url.searchParams.get('view') === 'week'),
      page.getByRole('button', { name: 'Apply to the week' }).click(),
    ]);
    await page.getByText('14 items were added').waitFor();
    const table = page.getByTestId(`table-${monday}`);
    await table.locator('tr', { hasText: 'Evening Kitchen' }).filter({ hasText: '20:00:00' }).waitFor({ state: 'attached' });
    const from = `${monday}T00:00:00.000Z`;
    const to = new Date(Date.parse(from) + 7 * 86_400_000).toISOString();
    const schedule = await (await apiFetch(`${server.url}/api/channels/demo/schedule?from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`)).json();
    const applied = schedule.items.filter((item) => item.title === 'Evening Kitchen' && item.start.endsWith('T20:00:00.000Z'));
    assert.equal(applied.length, 7);
    // Each applied item carries the block's programme details, stored with it.
    for (const item of applied) {
      assert.deepEqual(item.info, {
        title: 'Evening Kitchen',
        description: 'Supper in <b>ten</b> minutes.',
        genres: ['Cooking', 'Lifestyle'],
        rating: { system: 'VCHIP', value: 'TV-G' },
        artwork_url: 'https://images.example/kitchen.jpg',
      });
    }
  } finally {
    await context.close();
  }
});

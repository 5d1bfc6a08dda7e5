/**
 * The dashboard in a real headless Chromium (Debian's package, driven by puppeteer-core), against the real stack:
 * the backlog grows while Kafka is cut (the `kafka` proxy disabled; the relay talks through it) and drops once
 * it is back; a poison message becomes a dead letter that parks its key, is replayed after a confirmation step
 * and leaves the list, with an audit record naming who did it; a read-only dashboard shows no write button and
 * refuses a direct POST with 403; the auth hook refuses with 401; the auditor form reports what it found.
 * DASHBOARD_SCREENSHOTS=1 writes docs/dashboard/*.png on the way.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type pg from 'pg';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useLab } from '@dual-write/testkit';
import { startRelay, type Relay } from '@dual-write/relay';
import { createDashboard } from '../src/index.ts';
import { ensureChromium } from './chromium.ts';
import { migrateForTests, serve, setMaxMessageBytes, writeItems } from './helpers.ts';

const lab = useLab({ initSql: migrateForTests });
const SHOTS = process.env.DASHBOARD_SCREENSHOTS ? path.resolve(import.meta.dirname, '../../../docs/dashboard') : undefined;
const AUTH = { authorization: 'Bearer ops-token', 'x-user': 'alice@example.com' };

let browser: Browser;
let relay: Relay;
let pool: pg.Pool;
let topic: string;
const servers: { close(): Promise<void> }[] = [];
let url: string;
let readOnlyUrl: string;

async function shot(page: Page, name: string): Promise<void> {
  if (!SHOTS) return;
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`) as `${string}.png` });
}

async function open(target: string, headers: Record<string, string> = AUTH): Promise<Page> {
  const page = await browser.newPage();
  await page.setViewport({ width: 1280, height: 1000 });
  await page.setExtraHTTPHeaders(headers);
  page.on('pageerror', (err) => console.error('[page error]', err));
  await page.goto(target);
  await page.waitForFunction(() => document.querySelector('#connection')?.textContent?.startsWith('Live'));
  return page;
}

const backlog = (page: Page) => page.$eval('#backlog-value', (e) => Number((e as HTMLElement).dataset.rows));

beforeAll(async () => {
  const executablePath = await ensureChromium();
  browser = await puppeteer.launch({ executablePath, headless: true, args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'] });
  topic = await lab.topic('dashboard', 3);
  await setMaxMessageBytes(lab.kafka(), topic, 20_000);
  pool = lab.pool({ max: 4 });
  // Through the proxies, so cutting the `kafka` proxy cuts the relay off.
  relay = await startRelay({
    database: lab.db.appUrl, brokers: lab.config.kafka.appBrokers, topic, port: 0, logLevel: 'silent',
    pollIntervalMs: 200, rebalanceIntervalMs: 500, maxAttempts: 2, attemptBackoff: { initialMs: 100, maxMs: 200 }, retryBackoff: { initialMs: 100, maxMs: 1000 },
  });
  const common = {
    database: pool,
    relays: () => (relay.url ? [relay.url] : []),
    topic,
    refreshMs: 300,
    authorize: (req: import('node:http').IncomingMessage) => req.headers.authorization === 'Bearer ops-token',
    identify: (req: import('node:http').IncomingMessage) => req.headers['x-user'] as string | undefined,
    panels: [{ id: 'demo', title: 'An extension panel', description: 'Given by the embedding application.', actions: [{ id: 'go', label: 'Run go', run: () => ({ answer: 42 }) }] }],
    audit: { table: 'items', topic, brokers: lab.config.kafka.brokers, entityId: 'json:id', eventId: 'header:id', databaseUrl: lab.db.url },
  };
  const rw = await serve(createDashboard({ ...common, basePath: '/dashboard', title: 'Orders outbox' }));
  const ro = await serve(createDashboard({ ...common, basePath: '/ops', readOnly: true, title: 'Orders outbox (read-only)' }));
  servers.push(rw, ro);
  url = rw.url;
  readOnlyUrl = ro.url;
});

afterAll(async () => {
  await lab.toxics.setEnabled('kafka', true).catch(() => {});
  await browser?.close();
  for (const s of servers) await s.close();
  await relay?.stop();
});

describe('the dashboard in Chromium', () => {
  it('refuses a visitor the authorize hook refuses: 401 with a coded error, page and API alike', async () => {
    const page = await browser.newPage();
    try {
      const res = await page.goto(url);
      expect(res?.status()).toBe(401);
      expect(JSON.parse(await page.$eval('body', (b) => b.textContent ?? ''))).toMatchObject({ code: 'DW_DASHBOARD_UNAUTHORIZED', hint: expect.any(String) });
      const api = await page.evaluate(async () => {
        const r = await fetch('api/summary');
        return { status: r.status, body: await r.json() };
      });
      expect(api).toMatchObject({ status: 401, body: { code: 'DW_DASHBOARD_UNAUTHORIZED' } });
    } finally {
      await page.close();
    }
  });

  it('shows the backlog grow while Kafka is cut, and drop once it is back', async () => {
    await writeItems(pool, Array.from({ length: 6 }, (_, i) => ({ key: `k${i}`, n: 0 })));
    await relay.waitUntilDrained({ timeoutMs: 30_000 });
    const page = await open(url);
    // The relay's instance, as PostgreSQL records it (its advisory locks), with its slots.
    await page.waitForFunction((id) => document.querySelector(`#instances-table tr[data-instance="${id}"]`)?.textContent?.includes('32: 0, 1, 2'), {}, relay.instanceId);
    expect(await backlog(page)).toBe(0);

    await lab.toxics.setEnabled('kafka', false);
    for (let n = 1; n <= 5; n++) await writeItems(pool, Array.from({ length: 8 }, (_, i) => ({ key: `k${i}`, n })));
    await page.waitForFunction(() => Number((document.querySelector('#backlog-value') as HTMLElement).dataset.rows) >= 40);
    await page.waitForFunction(() => Number(document.querySelector('#oldest-value')?.textContent?.split(' ')[0]) > 0);
    await page.waitForFunction(() => (document.querySelector('#sparkline polyline')?.getAttribute('points')?.split(' ').length ?? 0) >= 3);
    expect(await page.$eval('#backlog-method', (e) => e.textContent)).toBe('counted');
    // The relay's own /health, shown on its instance's row: Kafka is down for it.
    await page.waitForFunction((id) => document.querySelector(`#instances-table tr[data-instance="${id}"]`)?.textContent?.includes('Kafka down'), {}, relay.instanceId);
    // Per topic, as the relay maps aggregatetype `item` (topic option): counted, the table is small.
    await page.waitForFunction((t) => [...document.querySelectorAll('#topics-table tbody tr')].some((tr) => tr.textContent?.startsWith(t) && Number(tr.lastElementChild?.textContent) >= 40), {}, topic);
    await shot(page, 'backlog-kafka-cut');

    await lab.toxics.setEnabled('kafka', true);
    await page.waitForFunction(() => Number((document.querySelector('#backlog-value') as HTMLElement).dataset.rows) === 0, { timeout: 60_000 });
    expect(await page.$eval('#rate-source', (e) => e.textContent)).toContain('relays\' /metrics');
    await page.close();
  });

  it('replays a dead letter after a confirmation step; it leaves the list, its key flows, and the audit record names who', async () => {
    await writeItems(pool, [{ key: 'bad', n: 0, bytes: 50_000 }, { key: 'bad2', n: 0, bytes: 50_000 }, { key: 'good', n: 0 }]);
    await writeItems(pool, [{ key: 'bad', n: 1 }]); // parked behind the dead letter
    const page = await open(url);
    await page.waitForFunction(() => document.querySelectorAll('#dl-table tbody tr[data-id]').length === 2, { timeout: 30_000 });
    const { rows } = await pool.query<{ id: string; aggregateid: string }>('select id, aggregateid from outbox_dead_letters');
    const bad = rows.find((r) => r.aggregateid === 'bad')!;
    // The parked key and the dead letter that blocks it.
    await page.waitForFunction((id) => document.querySelector('#parked-table tr[data-key="bad"] [data-blocker]')?.getAttribute('data-blocker') === id, {}, bad.id);
    expect(await page.$eval('#parked-table tr[data-key="bad"]', (e) => e.textContent)).toMatch(/MESSAGE_TOO_LARGE|too large|larger/i);
    expect(await page.$eval('#parked-table tr[data-key="bad"] td:last-child', (e) => e.textContent)).toBe('1'); // bad n=1 waits
    // Inspect: payload and headers.
    await page.click(`#dl-table tr[data-id="${bad.id}"] button[data-action="inspect"]`);
    await page.waitForSelector('#dialog[open] #dialog-payload');
    expect(await page.$eval('#dialog-payload', (e) => e.textContent)).toContain('"key": "bad"');
    await shot(page, 'dead-letter-inspect');
    await page.click('#dialog-cancel');
    await page.waitForFunction(() => !document.querySelector('#dialog')?.hasAttribute('open'));

    // Search narrows the list.
    await page.type('#dl-q', 'bad2');
    await page.click('#dl-search button[type="submit"]');
    await page.waitForFunction(() => document.querySelectorAll('#dl-table tbody tr[data-id]').length === 1);
    await page.$eval('#dl-q', (e) => ((e as HTMLInputElement).value = ''));
    await page.click('#dl-search button[type="submit"]');
    await page.waitForFunction(() => document.querySelectorAll('#dl-table tbody tr[data-id]').length === 2);

    // Cancelling the confirmation changes nothing — done from the keyboard: Enter on the focused button opens the
    // dialog with the focus on Cancel (the safe choice), Escape closes it.
    await page.focus(`#dl-table tr[data-id="${bad.id}"] button[data-action="replay"]`);
    await page.keyboard.press('Enter');
    await page.waitForSelector('#dialog[open] #dialog-confirm:not([hidden])');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('dialog-cancel');
    await page.keyboard.press('Escape');
    await page.waitForFunction(() => document.querySelector('#notice')?.textContent === 'replay cancelled.');
    expect((await pool.query('select count(*)::int as n from outbox_dead_letters where id = $1', [bad.id])).rows[0].n).toBe(1);

    // Fix the cause, then replay for real.
    await setMaxMessageBytes(lab.kafka(), topic, 1_000_000);
    await page.click(`#dl-table tr[data-id="${bad.id}"] button[data-action="replay"]`);
    await page.waitForSelector('#dialog[open] #dialog-confirm:not([hidden])');
    await shot(page, 'dead-letter-confirm');
    await page.click('#dialog-confirm');
    await page.waitForFunction((id) => !document.querySelector(`#dl-table tr[data-id="${id}"]`), {}, bad.id);
    await page.waitForFunction((id) => [...document.querySelectorAll('#actions-table tbody tr')].some((tr) => tr.textContent?.includes(id) && tr.textContent.includes('alice@example.com') && tr.textContent.includes('replay') && tr.textContent.includes('done')), {}, bad.id);
    expect(await page.$eval('#notice', (e) => e.textContent)).toContain('Replayed item / bad');
    // The audit record row in the dashboard's own table.
    const audit = await pool.query('select actor, action, target, aggregateid, outcome from outbox_dashboard_actions order by id');
    expect(audit.rows).toEqual([{ actor: 'alice@example.com', action: 'replay', target: bad.id, aggregateid: 'bad', outcome: 'done' }]);
    // The replayed message and the one that waited behind it are published: the key is no longer parked.
    await page.waitForFunction(() => !document.querySelector('#parked-table tr[data-key="bad"]'), { timeout: 30_000 });
    await relay.waitUntilDrained({ timeoutMs: 30_000 });
    expect((await pool.query(`select count(*)::int as n from outbox where aggregateid = 'bad'`)).rows[0].n).toBe(0);
    // An extension panel's button runs the embedding application's action and shows what it returned.
    await page.click('[data-panel="demo"] button[data-panel-action="go"]');
    await page.waitForFunction(() => document.querySelector('[data-panel-result="demo"] pre')?.textContent?.includes('"answer": 42'));
    await shot(page, 'overview');
    await page.close();
  });

  it('read-only: no replay or discard button, and a direct POST is refused 403 with its code', async () => {
    const page = await open(readOnlyUrl);
    await page.waitForSelector('#dl-table tbody tr[data-id] button[data-action="inspect"]');
    expect(await page.$$('button[data-action="replay"], button[data-action="discard"]')).toHaveLength(0);
    expect(await page.$eval('#mode', (e) => (e as HTMLElement).hidden)).toBe(false);
    const id = await page.$eval('#dl-table tbody tr[data-id]', (e) => e.getAttribute('data-id')!);
    const res = await page.evaluate(async (dl) => {
      const r = await fetch(`api/dead-letters/${dl}/discard`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ confirm: dl }) });
      return { status: r.status, body: await r.json() };
    }, id);
    expect(res).toMatchObject({ status: 403, body: { code: 'DW_DASHBOARD_READ_ONLY', hint: expect.any(String) } });
    expect((await pool.query('select count(*)::int as n from outbox_dead_letters where id = $1', [id])).rows[0].n).toBe(1);
    // The extension panel's (write) button is disabled here.
    expect(await page.$eval('[data-panel="demo"] button[data-panel-action="go"]', (b) => (b as HTMLButtonElement).disabled)).toBe(true);
    await shot(page, 'read-only');
    await page.close();
  });

  it('runs the auditor from its form: the dead-lettered message is the one black hole', async () => {
    const page = await open(url);
    await page.$eval('#audit-form input[name="graceMs"]', (e) => ((e as HTMLInputElement).value = '0'));
    await page.click('#audit-run');
    await page.waitForSelector('#audit-table', { timeout: 60_000 });
    const counts = await page.$$eval('#audit-table [data-count]', (tds) => Object.fromEntries(tds.map((td) => [td.getAttribute('data-count'), td.textContent])));
    expect(counts).toMatchObject({ ghosts: '0', 'black holes': '1', duplicates: '0' });
    await page.close();
  });
});

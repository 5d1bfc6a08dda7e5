/**
 * The lab mounts @dual-write/dashboard at /dashboard on the order service (startSystem), with one panel per
 * failure scenario: the page is served there, the config lists the four scenarios with a naive and an outbox
 * button, and a button — clicked in a real headless Chromium — runs the real GET /api/v1/bad-scenario on the same
 * service and shows its report in the panel. DASHBOARD_SCREENSHOTS=1 writes docs/dashboard/lab-scenarios.png.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import puppeteer from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureChromium } from '../../../packages/dashboard/test/chromium.ts';
import { useLab } from '@dual-write/testkit';
import { startSystem, type RunningSystem } from '../src/system.ts';

const lab = useLab();
let system: RunningSystem;

beforeAll(async () => {
  const topic = await lab.topic('orders', 2);
  system = await startSystem({
    config: { ...lab.config, orderService: { ...lab.config.orderService, faultInjection: true } },
    port: 0,
    databaseUrl: lab.db.appUrl,
    directDatabaseUrl: lab.db.url,
    topic,
    groupSuffix: `dashboard-${lab.id}`,
    relayPort: 0,
    log: () => {},
  });
}, 120_000);

afterAll(async () => {
  await system?.stop();
});

describe('the lab dashboard', () => {
  it('is mounted at /dashboard with a panel per scenario, and a panel button runs the scenario', async () => {
    const page = await fetch(`${system.url}/dashboard/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('id="panels"');
    const config = (await (await fetch(`${system.url}/dashboard/api/config`)).json()) as { panels: { id: string; actions: { id: string }[] }[]; relaysConfigured: number };
    expect(config.panels.map((p) => p.id)).toEqual(['scenario-db', 'scenario-mq', 'scenario-pool', 'scenario-early']);
    expect(config.panels.every((p) => p.actions.map((a) => a.id).join() === 'naive,outbox')).toBe(true);
    expect(config.relaysConfigured).toBe(1);

    const browser = await puppeteer.launch({ executablePath: await ensureChromium(), headless: true, args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'] });
    try {
      const page = await browser.newPage();
      await page.setViewport({ width: 1280, height: 1000 });
      await page.goto(`${system.url}/dashboard/`);
      await page.waitForSelector('[data-panel="scenario-db"] button[data-panel-action="outbox"]');
      expect(await page.$$eval('#panels-list section[data-panel]', (ps) => ps.map((p) => p.querySelector('h3')?.textContent))).toHaveLength(4);
      await page.click('[data-panel="scenario-db"] button[data-panel-action="outbox"]');
      await page.waitForFunction(() => document.querySelector('[data-panel-result="scenario-db"] pre')?.textContent?.includes('"strategy": "outbox"') || document.querySelector('[data-panel-result="scenario-db"] .bad'), { timeout: 120_000 });
      const shown = await page.$eval('[data-panel-result="scenario-db"]', (e) => e.textContent ?? '');
      expect(shown).toContain('Run outbox: done in');
      expect(shown).toContain('"summary"');
      if (process.env.DASHBOARD_SCREENSHOTS) {
        const dir = path.resolve(import.meta.dirname, '../../../docs/dashboard');
        mkdirSync(dir, { recursive: true });
        await page.$eval('#panels', (e) => e.scrollIntoView());
        await page.screenshot({ path: path.join(dir, 'lab-scenarios.png') as `${string}.png` });
      }
    } finally {
      await browser.close();
    }
    // Recorded with who ran it (the lab identifies itself as 'lab').
    const actions = (await (await fetch(`${system.url}/dashboard/api/actions`)).json()) as { items: { actor: string; action: string; outcome: string }[] };
    expect(actions.items[0]).toMatchObject({ actor: 'lab', action: 'panel:scenario-db/outbox', outcome: 'done' });
  });
});

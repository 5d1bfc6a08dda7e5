/** Turns scenario reports into the one table `test-scenario` prints. */
import type { ScenarioReport } from '@dual-write/order-service/lab';

export interface ScenarioRow {
  scenario: string;
  strategy: string;
  ordersInDb: number;
  messagesInKafka: number;
  ghosts: number;
  blackHoles: number;
  /** Messages the audit found appended before their order committed (– when it could not check). */
  premature: string;
  /** Orders in the database that no shipment will ever follow: a black hole, or a consumer that looked too early. */
  neverShipped: string;
  unrelatedFailures: string;
  downstreamEffects: string;
  /** Orders with more than one shipment or invoice (the inbox must keep this at 0). */
  doubleEffects: number;
  damage: boolean;
  summary: string;
}

interface Effect {
  outcome: string;
}

const premature = (r: ScenarioReport) => (r.audit ? (r.audit.prematureChecked ? String(r.audit.premature.length) : '–') : '–');

function doubles(rows: Effect[]): number {
  return Math.max(0, rows.length - 1);
}

function describeEffects(shipments: Effect[], invoices: Effect[], orderInDb: boolean): string {
  const part = (name: string, rows: Effect[]) => {
    const notFound = rows.filter((r) => r.outcome === 'ghost').length;
    // A 404 for an order that exists now was premature (the message outran the commit), not a ghost.
    return `${name} ${rows.length}${notFound ? ` (${notFound} ${orderInDb ? 'premature 404' : 'for a ghost order'})` : ''}`;
  };
  return `${part('shipments', shipments)}, ${part('invoices', invoices)}`;
}

export function toRow(r: ScenarioReport): ScenarioRow {
  const f = r.findings as Record<string, unknown>;
  const ghosts = r.audit?.ghosts.length ?? 0;
  const blackHoles = r.audit?.blackHoles.length ?? 0;
  const base = { scenario: `${r.scenario}${r.variant ? ` (${r.variant})` : ''}`, strategy: r.strategy, ghosts, blackHoles, premature: premature(r), damage: r.damage, summary: r.summary };
  if (r.scenario === 'pool') {
    const orders = f.orders as { ok: number };
    const unrelated = f.unrelated as { failed: number; total: number };
    return { ...base, ordersInDb: orders.ok, messagesInKafka: orders.ok - blackHoles + ghosts, neverShipped: '–', unrelatedFailures: `${unrelated.failed}/${unrelated.total}`, downstreamEffects: '(not awaited)', doubleEffects: 0 };
  }
  const ordersInDb = f.orderInDb ? 1 : 0;
  const messagesInKafka = f.messageInKafka ? 1 : 0;
  const effects = (f.effects as { shipments: Effect[]; invoices: Effect[] } | undefined) ?? { shipments: [], invoices: [] };
  return {
    ...base,
    ordersInDb,
    messagesInKafka,
    neverShipped: String(ordersInDb && !effects.shipments.some((s) => s.outcome === 'shipped') ? 1 : 0),
    unrelatedFailures: '–',
    downstreamEffects: describeEffects(effects.shipments, effects.invoices, ordersInDb === 1),
    doubleEffects: doubles(effects.shipments) + doubles(effects.invoices),
  };
}

export function formatTable(rows: ScenarioRow[]): string {
  const header = ['scenario', 'strategy', 'orders in DB', 'messages in Kafka', 'ghosts', 'black holes', 'premature', 'never shipped', 'unrelated failures', 'double effects', 'downstream effects'];
  const cells = rows.map((r) => [r.scenario, r.strategy, String(r.ordersInDb), String(r.messagesInKafka), String(r.ghosts), String(r.blackHoles), r.premature, r.neverShipped, r.unrelatedFailures, String(r.doubleEffects), r.downstreamEffects]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) => c.map((v, i) => v.padEnd(widths[i]!)).join(' │ ');
  const sep = widths.map((w) => '─'.repeat(w)).join('─┼─');
  return [line(header), sep, ...cells.map(line)].join('\n');
}

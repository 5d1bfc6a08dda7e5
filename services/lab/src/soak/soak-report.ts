/** The soak's final table: one column per strategy run, one row per figure. */
import { formatDuration } from '@dual-write/chaos';
import type { SoakResult } from './run-soak.ts';

const n = (v: number) => v.toLocaleString('en-US');
const ms = (v: number | null) => (v === null ? 'never' : formatDuration(v));

export function formatSoakTable(results: SoakResult[]): string {
  const failureKinds = [...new Set(results.flatMap((r) => Object.keys(r.load.failures)))].sort();
  const faultTypes = [...new Set(results.flatMap((r) => Object.keys(r.faults.byType)))].sort();
  const rows: [string, (r: SoakResult) => string][] = [
    ['orders sent', (r) => n(r.load.sent)],
    ['orders accepted (201)', (r) => n(r.load.accepted)],
    ['requests failed', (r) => n(r.load.failed)],
    ...failureKinds.map((k): [string, (r: SoakResult) => string] => [`  ${k}`, (r) => n(r.load.failures[k] ?? 0)]),
    ['order steps (paid, shipped) ok / failed', (r) => `${n(r.load.steps.ok)} / ${n(r.load.steps.failed)}`],
    ['orders in the table', (r) => n(r.audit.rows)],
    ['events written (sum of order versions)', (r) => n(r.audit.events)],
    ['messages on the topic', (r) => n(r.audit.messages)],
    ...faultTypes.map((t): [string, (r: SoakResult) => string] => [`fault: ${t}`, (r) => `×${r.faults.byType[t] ?? 0}`]),
    ['max outbox backlog', (r) => (r.strategy === 'outbox' ? n(r.backlog.max) : '—')],
    ['outbox drained after load', (r) => (r.strategy === 'outbox' ? ms(r.drain.outboxEmptyAfterMs) : '—')],
    ['consumers caught up after load', (r) => ms(r.drain.settledAfterMs)],
    ['LOST (black holes)', (r) => n(r.audit.blackHoles)],
    ['GHOSTS (message, no order)', (r) => n(r.audit.ghosts)],
    ['PREMATURE (message before its commit)', (r) => (r.audit.premature === null ? 'not checked' : n(r.audit.premature))],
    ['duplicates delivered (events / extra copies)', (r) => `${n(r.audit.duplicateEvents)} / ${n(r.audit.extraDeliveries)}`],
    ['OUT OF ORDER on the topic (all / redeliveries)', (r) => `${n(r.audit.orderViolations)} / ${n(r.audit.orderViolationsByRedelivery)}`],
    ['stream steps applied / OUT OF SEQUENCE', (r) => `${n(r.effects.streamStepsApplied)} / ${n(r.effects.outOfSequence)}`],
    ['streams not applied to the end', (r) => n(r.effects.incompleteStreams)],
    ['orders shipped / invoiced', (r) => `${n(r.effects.shipped)} / ${n(r.effects.invoiced)}`],
    ['DOUBLE shipments / invoices', (r) => `${n(r.effects.doubleShipments)} / ${n(r.effects.doubleInvoices)}`],
    ['never shipped / never invoiced', (r) => `${n(r.effects.missingShipments)} / ${n(r.effects.missingInvoices)}`],
    ['ghost callbacks (404, no order) ship / bill', (r) => `${n(r.effects.ghostShipments)} / ${n(r.effects.ghostInvoices)}`],
    ['premature callbacks (404, order exists) ship / bill', (r) => `${n(r.effects.prematureShipments)} / ${n(r.effects.prematureInvoices)}`],
    ['verdict', (r) => (r.damage.length ? 'DAMAGE' : 'clean')],
  ];
  const headers = ['', ...results.map((r) => r.strategy)];
  const cells = rows.map(([label, f]) => [label, ...results.map(f)]);
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) => c.map((v, i) => (i === 0 ? v.padEnd(widths[i]!) : v.padStart(widths[i]!))).join('  ');
  return [line(headers), widths.map((w) => '─'.repeat(w)).join('  '), ...cells.map(line)].join('\n');
}

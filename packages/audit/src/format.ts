/** `formatReport()` — an audit report as a plain-text table for a terminal. */
import { reportDiverges, type AuditReport } from './report.ts';

export interface FormatOptions {
  /** How many entries of each finding to list (default 20); the counts are always complete. */
  limit?: number;
}

function table(header: string[], rows: string[][], alignRight: boolean[] = []): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => `  ${cells.map((c, i) => (alignRight[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ')}`.trimEnd();
  return [line(header), ...rows.map(line)];
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

function section<T>(title: string, items: T[], total: number, limit: number, header: string[], row: (item: T) => string[], alignRight: boolean[]): string[] {
  if (total === 0) return [];
  const shown = items.slice(0, limit);
  const out = ['', `${title}`, ...table(header, shown.map(row), alignRight)];
  if (total > shown.length) out.push(`  … and ${total - shown.length} more (--json lists them all)`);
  return out;
}

export function formatReport(report: AuditReport, opts: FormatOptions = {}): string {
  const limit = opts.limit ?? 20;
  const { source: s, counts: c } = report;
  const out: string[] = [];
  out.push(`Audit  table ${s.table} (${s.idColumn}, ${s.createdAtColumn})  ↔  topic ${s.topic} (${plural(c.partitions, 'partition')})`);
  out.push(`       database ${s.database} · brokers ${s.brokers.join(',')}`);
  out.push(`       entity id ${s.entityId} · event id ${s.eventId} · ${s.sequence ? `sequence ${s.sequence} per ${s.groupBy}` : 'no sequence (order not checked)'} · grace ${report.graceMs} ms (rows before ${report.cutoff})`);
  out.push('');
  out.push(`  rows      ${String(c.rows).padStart(8)}   ${c.rowsPastGrace} past the grace period${c.pendingWithinGrace ? `; ${c.pendingWithinGrace} newer without a message yet (not counted)` : ''}`);
  const notes = [`${c.unreadable} unreadable`, `${c.withoutEventId} without event id`];
  if (report.orderChecked) notes.push(`${c.withoutSequence} without sequence`);
  out.push(`  messages  ${String(c.messages).padStart(8)}   from ${plural(c.partitions, 'partition')}, ${plural(c.entities, 'entity', 'entities')}; ${notes.join(', ')}`);
  out.push('');
  out.push(
    ...table(
      ['check', 'found', 'meaning'],
      [
        ['ghosts', String(c.ghosts), 'messages whose entity has no row'],
        ['black holes', String(c.blackHoles), 'rows past the grace period that no message mentions'],
        ['duplicates', String(c.duplicates), `event ids delivered more than once${c.extraDeliveries ? ` (${plural(c.extraDeliveries, 'extra delivery', 'extra deliveries')})` : ''}`],
        report.orderChecked
          ? ['order violations', String(c.orderViolations), `messages whose ${s.sequence} is lower than the previous one of the same ${s.groupBy} in the partition${c.orderViolationsByRedelivery ? ` (${c.orderViolationsByRedelivery} of them redeliveries of an event already on the topic)` : ''}`]
          : ['order violations', '-', 'not checked: no sequence source (--sequence)'],
        report.prematureCheck.checked
          ? ['premature', String(c.premature), 'messages appended before their row committed (a consumer reading at once found no row)']
          : ['premature', '-', report.prematureCheck.reason],
      ],
      [false, true, false],
    ),
  );

  out.push(...section('Ghosts — messages whose entity has no row', report.ghosts, c.ghosts, limit, ['entity id', 'event id', 'partition', 'offset'], (g) => [g.entityId, g.eventId ?? '-', String(g.partition), String(g.offset)], [false, false, true, true]));
  out.push(...section('Black holes — rows no message mentions', report.blackHoles, c.blackHoles, limit, ['id', 'created at'], (b) => [b.id, b.createdAt ?? 'null'], [false, false]));
  out.push(...section('Duplicates — event ids delivered more than once', report.duplicates, c.duplicates, limit, ['event id', 'count', 'deliveries (partition:offset)'], (d) => [d.eventId, String(d.count), d.deliveries.map((l) => `${l.partition}:${l.offset}`).join(' ')], [false, true, false]));
  out.push(...section('Order violations — sequence went down', report.orderViolations, c.orderViolations, limit, ['key', 'partition', 'offset', 'sequence', 'after offset', 'with sequence', 'redelivery'], (v) => [v.key, String(v.partition), String(v.offset), v.sequence, String(v.previousOffset), v.previousSequence, v.redelivery ? 'yes' : 'no'], [false, true, true, true, true, true, false]));
  out.push(...section('Premature — messages readable before their row committed', report.premature, c.premature, limit, ['entity id', 'event id', 'partition', 'offset', 'lead (ms)'], (m) => [m.entityId, m.eventId ?? '-', String(m.partition), String(m.offset), m.leadMs.toFixed(1)], [false, false, true, true, true]));
  if (c.unreadable) {
    out.push(...section(`Unreadable — no entity id at ${s.entityId}`, report.unreadableSample, c.unreadable, Math.min(limit, report.unreadableSample.length), ['partition', 'offset', 'reason'], (u) => [String(u.partition), String(u.offset), u.reason], [true, true, false]));
  }

  out.push('');
  if (reportDiverges(report)) {
    const found = [
      c.ghosts && plural(c.ghosts, 'ghost'),
      c.blackHoles && plural(c.blackHoles, 'black hole'),
      c.duplicates && plural(c.duplicates, 'duplicate'),
      c.orderViolations && plural(c.orderViolations, 'order violation'),
      c.premature && plural(c.premature, 'premature message'),
    ].filter(Boolean);
    out.push(`Result: DIVERGES — ${found.join(', ')} (${report.durationMs} ms)`);
  } else {
    out.push(`Result: CONSISTENT — every row past the grace period has a message, every message a row${report.orderChecked ? ', no duplicate, no order violation' : ', no duplicate'} (${report.durationMs} ms)`);
  }
  return out.join('\n');
}

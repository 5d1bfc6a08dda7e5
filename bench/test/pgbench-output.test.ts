import { describe, expect, it } from 'vitest';
import { parsePgbenchLog, parsePgbenchSummary, twoInsertScript } from '../src/sections/pgbench.ts';

// pgbench 15's end-of-run summary (custom script, -T, extended protocol).
const PG15 = `transaction type: /tmp/x/pgbench-two-inserts.sql
scaling factor: 1
query mode: extended
number of clients: 10
number of threads: 2
maximum number of tries: 1
duration: 3 s
number of transactions actually processed: 3047
number of failed transactions: 0 (0.000%)
latency average = 9.742 ms
initial connection time = 14.802 ms
tps = 1026.565411 (without initial connection time)
`;

// pgbench 13 printed two tps lines and no failed-transactions line.
const PG13 = `transaction type: custom.sql
number of transactions actually processed: 120
latency average = 41.667 ms
tps = 239.998 (including connections establishing)
tps = 240.512 (excluding connections establishing)
`;

describe('parsePgbenchSummary', () => {
  it('reads tps, transactions, failures and the average latency of pgbench 15', () => {
    expect(parsePgbenchSummary(PG15)).toEqual({ tps: 1026.565411, transactions: 3047, failed: 0, latencyAvgMs: 9.742 });
  });

  it('takes the tps without connection time from older pgbench versions', () => {
    expect(parsePgbenchSummary(PG13)).toEqual({ tps: 240.512, transactions: 120, failed: 0, latencyAvgMs: 41.667 });
  });

  it('counts failed transactions', () => {
    expect(parsePgbenchSummary(PG15.replace('number of failed transactions: 0 (0.000%)', 'number of failed transactions: 7 (0.229%)')).failed).toBe(7);
  });

  it('throws with the output when there is no summary (e.g. pgbench aborted)', () => {
    expect(() => parsePgbenchSummary('pgbench: error: client 0 aborted in command 1 (SQL) of script 0; ERROR:  relation "orders" does not exist\n')).toThrow(/no summary[\s\S]*relation "orders" does not exist/);
  });
});

describe('parsePgbenchLog', () => {
  it('turns the per-transaction latency (µs, third field) into ms and skips failed transactions and junk', () => {
    const log = ['4 1 18715 0 1795740996 805977', '0 2 24551 0 1795740996 811746 0', '3 7 failed 0 1795740996 811800', '', 'garbage'].join('\n');
    expect(parsePgbenchLog(log)).toEqual([18.715, 24.551]);
  });
});

describe('twoInsertScript', () => {
  it('writes the order and its outbox row in one transaction, the outbox row keyed by the new order id', () => {
    const script = twoInsertScript("o'brien", [{ sku: 'BOOK-001', qty: 2, priceCents: 100 }]);
    const lines = script.trim().split('\n');
    expect(lines[0]).toBe('BEGIN;');
    expect(lines[1]).toMatch(/^INSERT INTO orders .* 'o''brien', 'created', 200, .* RETURNING id::text AS order_id.* \\gset$/);
    expect(lines[2]).toMatch(/^INSERT INTO outbox \(id, aggregatetype, aggregateid, type, payload, headers\) VALUES \(gen_random_uuid\(\), 'order', :order_id, 'OrderCreated', /);
    expect(lines[3]).toBe('COMMIT;');
  });
});

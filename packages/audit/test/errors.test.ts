import { beforeAll, describe, expect, it } from 'vitest';
import type { DwError } from '@dual-write/config';
import { useLab } from '@dual-write/testkit';
import { runAudit, type AuditOptions } from '../src/index.ts';
import { options, ordersTable } from './fixtures.ts';

const lab = useLab();

async function failure(opts: AuditOptions): Promise<DwError> {
  const err = await runAudit(opts).then(
    () => undefined,
    (e: unknown) => e as DwError,
  );
  if (!err) throw new Error('expected the audit to fail');
  return err;
}

describe('the audit fails clearly, and fast, when pointed at something that is not there', () => {
  beforeAll(async () => {
    await ordersTable(lab, 'real_orders', []);
  });

  it('a missing table: DW_AUDIT_SOURCE_MISSING naming the table, and the hint lists the tables that exist', async () => {
    const topic = await lab.topic('present', 1);
    const err = await failure(options(lab, 'no_such_orders', topic));
    expect(err.code).toBe('DW_AUDIT_SOURCE_MISSING');
    expect(err.message).toContain('"no_such_orders"');
    expect(err.hint).toContain('public.real_orders');
  });

  it('a missing column: DW_AUDIT_SOURCE_MISSING naming the column and listing the real ones', async () => {
    const topic = await lab.topic('present', 1);
    const err = await failure(options(lab, 'real_orders', topic, { idColumn: 'order_id' }));
    expect(err.code).toBe('DW_AUDIT_SOURCE_MISSING');
    expect(err.message).toContain('"order_id"');
    expect(err.hint).toContain('id, created_at');
  });

  it('a missing topic: DW_AUDIT_SOURCE_MISSING naming the topic, and the hint lists existing topics (the most alike first)', async () => {
    const present = await lab.topic('present', 1);
    const missing = `t.${lab.id}.absent`;
    const err = await failure(options(lab, 'real_orders', missing));
    expect(err.code).toBe('DW_AUDIT_SOURCE_MISSING');
    expect(err.message).toContain(`"${missing}"`);
    expect(err.hint).toMatch(/Existing topics: /);
    expect(err.hint).toContain(present);
  });

  it('an unreachable broker: DW_AUDIT_UNREACHABLE naming the address (it gives up rather than retrying forever)', async () => {
    const err = await failure(options(lab, 'real_orders', 'orders', { brokers: ['127.0.0.1:1'] }));
    expect(err.code).toBe('DW_AUDIT_UNREACHABLE');
    expect(err.message).toContain('127.0.0.1:1');
  });

  it('an unreachable database: DW_AUDIT_UNREACHABLE naming the address (it gives up rather than retrying forever)', async () => {
    const err = await failure(options(lab, 'real_orders', 'orders', { databaseUrl: 'postgres://postgres:secret@127.0.0.1:1/nowhere' }));
    expect(err.code).toBe('DW_AUDIT_UNREACHABLE');
    expect(err.message).toContain('127.0.0.1:1');
    expect(err.hint).not.toContain('secret');
  });

  it('bad options stop the audit before it connects, naming the option, its flag and the fix', async () => {
    const base = options(lab, 'real_orders', 'orders');
    const cases: [Partial<AuditOptions> | Record<string, unknown>, string, RegExp][] = [
      [{ entityId: 'body:orderId' }, 'DW_CONFIG_INVALID', /entityId \(--entity-id\).*"body" is not a source kind/],
      [{ eventId: 'json:' }, 'DW_CONFIG_INVALID', /eventId \(--event-id\).*json: needs a path/],
      [{ sequence: 'json:a..b' }, 'DW_CONFIG_INVALID', /sequence \(--sequence\).*empty segment/],
      [{ brokers: ['localhost'] }, 'DW_CONFIG_INVALID', /brokers \(--brokers\) = "localhost".*host:port/],
      [{ topic: 'no spaces allowed' }, 'DW_CONFIG_INVALID', /topic \(--topic\)/],
      [{ databaseUrl: 'mysql://x@y/z' }, 'DW_CONFIG_INVALID', /databaseUrl \(--database-url\).*postgres:\/\//],
      [{ graceMs: -5 }, 'DW_CONFIG_INVALID', /graceMs \(--grace-ms\) = -5/],
      [{ table: '' }, 'DW_CONFIG_INVALID', /table \(--table\)/],
      [{ tabel: 'orders' }, 'DW_CONFIG_UNKNOWN_OPTION', /tabel/],
    ];
    for (const [patch, code, message] of cases) {
      const err = await failure({ ...base, ...patch } as AuditOptions);
      expect(err.code, JSON.stringify(patch)).toBe(code);
      expect(err.message, JSON.stringify(patch)).toMatch(message);
      expect(err.hint.length).toBeGreaterThan(0);
    }
  });
});

/** CDC mode's options and its confirmation rule, without a database (the behaviour is in cdc-mode.test.ts). */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { defaultCdcSlot, RELAY_CLI_HELP, RELAY_MODES, resolveRelayOptions, postgresStore, type RelayOptions } from '../src/index.ts';
import { Confirmations } from '../src/stores/postgres-cdc/confirmations.ts';
import { formatLsn, parseLsn } from '../src/stores/postgres-cdc/lsn.ts';

const base = { database: 'postgres://u:p@db:5432/app', brokers: 'kafka:9092' };
const resolve = (o: RelayOptions, env: NodeJS.ProcessEnv = {}) => resolveRelayOptions({ ...base, ...o }, env);

function refusal(fn: () => unknown): { code?: string; message?: string; hint?: string } {
  try {
    fn();
  } catch (err) {
    return err as { code?: string; message?: string; hint?: string };
  }
  throw new Error('expected a refusal');
}

describe('mode and the CDC options', () => {
  it('mode: explicit > RELAY_MODE > poll', () => {
    expect(RELAY_MODES).toEqual(['poll', 'cdc']);
    expect(resolve({}).mode).toBe('poll');
    expect(resolve({}, { RELAY_MODE: 'cdc' }).mode).toBe('cdc');
    expect(resolve({ mode: 'poll' }, { RELAY_MODE: 'cdc' }).mode).toBe('poll');
  });

  it('a bad mode is DW_RELAY_INVALID_OPTION naming the option, its variable and the values', () => {
    const e = refusal(() => resolve({}, { RELAY_MODE: 'stream' }));
    expect(e.code).toBe('DW_RELAY_INVALID_OPTION');
    expect(e.message).toContain('Relay option mode = "stream" is not valid');
    expect(e.message).toContain('"poll"');
    expect(e.hint).toContain('RELAY_MODE');
  });

  it('a store with mode cdc is refused (CDC mode does not read through a RelayStore)', () => {
    const e = refusal(() => resolve({ mode: 'cdc', store: postgresStore }));
    expect(e.code).toBe('DW_RELAY_INVALID_OPTION');
    expect(e.message).toContain('Relay option store');
    expect(resolve({ mode: 'poll', store: postgresStore }).store).toBe(postgresStore);
  });

  it('slot and publication: default from the table, RELAY_CDC_SLOT / RELAY_CDC_PUBLICATION, validated', () => {
    expect(resolve({}).cdcSlot).toBe('outbox_relay_outbox');
    expect(resolve({}).cdcPublication).toBe('outbox_relay_outbox');
    expect(resolve({ schema: 'billing', table: 'events' }).cdcSlot).toBe('outbox_relay_billing_events');
    expect(defaultCdcSlot({ schema: 's'.repeat(40), table: 't'.repeat(40) })).toMatch(/^outbox_relay_[0-9a-f]{16}$/);
    expect(resolve({}, { RELAY_CDC_SLOT: 'my_slot' })).toMatchObject({ cdcSlot: 'my_slot', cdcPublication: 'my_slot' });
    expect(resolve({ cdcPublication: 'pub' }, { RELAY_CDC_SLOT: 'my_slot' })).toMatchObject({ cdcSlot: 'my_slot', cdcPublication: 'pub' });
    const e = refusal(() => resolve({}, { RELAY_CDC_SLOT: 'My-Slot' }));
    expect(e.message).toContain('Relay option cdcSlot = "My-Slot" is not valid');
    expect(e.hint).toContain('RELAY_CDC_SLOT');
    expect(refusal(() => resolve({ cdcPublication: 'x'.repeat(64) })).message).toContain('cdcPublication');
    expect(resolve({}, { RELAY_CDC_MAX_SLOT_LAG_MB: '64' }).cdcMaxSlotLagMb).toBe(64);
    expect(refusal(() => resolve({ cdcMaxSlotLagMb: 0 })).message).toContain('cdcMaxSlotLagMb');
  });

  it('outbox-relay --mode: a bad value exits 2 naming the option; an argument left over too', async () => {
    const run = async (args: string[]) => {
      try {
        await promisify(execFile)(process.execPath, ['--import', 'tsx', 'packages/relay/src/bin-relay.ts', ...args], {
          cwd: new URL('../../..', import.meta.url).pathname,
          env: { ...process.env, DATABASE_URL: 'postgres://u:p@127.0.0.1:1/db', KAFKA_BROKERS: '127.0.0.1:1', RELAY_MODE: '' },
        });
        return { code: 0, stderr: '' };
      } catch (err) {
        return err as { code: number; stderr: string };
      }
    };
    const bad = await run(['--mode', 'stream']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('[DW_RELAY_INVALID_OPTION] Relay option mode = "stream" is not valid');
    const missing = await run(['--mode=']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('Relay option mode = "" is not valid');
    const extra = await run(['--mode', 'cdc', '--fast']);
    expect(extra.code).toBe(2);
    expect(extra.stderr).toContain('Unknown argument(s): --fast');
  });

  it('--help names RELAY_MODE and --mode', () => {
    expect(RELAY_CLI_HELP).toContain('--mode poll|cdc');
    expect(RELAY_CLI_HELP).toContain('RELAY_MODE');
    expect(RELAY_CLI_HELP).toContain('RELAY_CDC_SLOT');
  });
});

describe('the confirmed LSN (confirmations.ts)', () => {
  it('LSNs parse, compare and format back', () => {
    expect(formatLsn(parseLsn('16/B374D848'))).toBe('16/B374D848');
    expect(parseLsn('1/0') > parseLsn('0/FFFFFFFF')).toBe(true);
    expect(() => parseLsn('nope')).toThrow();
  });

  it('moves to the end of the last transaction, in commit order, whose every row is settled', () => {
    const c = new Confirmations(100n);
    const t1 = c.commit(200n, 2);
    const t2 = c.commit(300n, 1);
    expect(c.confirmed).toBe(100n);
    c.settle(t2); // a later transaction settled first does not move it
    expect(c.confirmed).toBe(100n);
    c.settle(t1);
    expect(c.confirmed).toBe(100n); // one row of t1 still unsettled
    c.settle(t1);
    expect(c.confirmed).toBe(300n); // t1 and t2 both done
    expect(() => c.settle(t1)).toThrow();
  });

  it('a keepalive position counts once everything received before it is settled; a transaction without rows at once', () => {
    const c = new Confirmations(100n);
    c.marker(150n);
    expect(c.confirmed).toBe(150n);
    c.marker(120n); // behind: never backwards
    expect(c.confirmed).toBe(150n);
    const t = c.commit(200n, 1);
    c.marker(250n);
    c.marker(260n);
    c.commit(270n, 0);
    expect(c.confirmed).toBe(150n);
    expect(c.waiting).toBe(3); // t, one marker (the second moved the first forward), the empty transaction
    c.settle(t);
    expect(c.confirmed).toBe(270n);
  });

  it('negative control: settling rows out of order never confirms past an unsettled transaction', () => {
    const c = new Confirmations(0n);
    const txs = Array.from({ length: 50 }, (_, i) => c.commit(BigInt((i + 1) * 10), 1));
    for (let i = txs.length - 1; i > 0; i--) c.settle(txs[i]!);
    expect(c.confirmed).toBe(0n);
    c.settle(txs[0]!);
    expect(c.confirmed).toBe(500n);
  });
});

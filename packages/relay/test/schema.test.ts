/**
 * The outbox in a schema and table of its own (billing_events.events_outbox), next to the default public.outbox
 * in the same database: migrations, enqueue, the relay (its reads, deletes, stats, LISTEN channel, slot locks),
 * dead letters (functions and CLI) and the inbox all follow the { schema, table } options — and only them.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { ConfigResourceTypes } from 'kafkajs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { useLab } from '@dual-write/testkit';
import { discardDeadLetter, enqueue, listDeadLetters, migrateOutbox, OutboxError, pgExecutor, processOnce, type OutboxMessage } from '@dual-write/outbox';
import { relayLockSpace, RelayError, resolveRelayOptions, SLOT_LOCK_CLASS, startRelay, type RelayEvents } from '../src/index.ts';
import { cleanupRelays, migrateForTests, nextEvent, relayOn, REPO_ROOT } from './helpers.ts';

const BILLING = { schema: 'billing_events', table: 'events_outbox' } as const;

const lab = useLab({
  initSql: async (c) => {
    await migrateForTests(c); // public.outbox (+ items)
    await migrateOutbox(c, BILLING);
  },
});

beforeEach(async () => {
  const pool = lab.pool({ max: 1 });
  await pool.query(`truncate items, outbox, outbox_dead_letters, inbox,
    billing_events.events_outbox, billing_events.events_outbox_dead_letters, billing_events.events_outbox_inbox`);
  await pool.end();
});
afterEach(cleanupRelays);

const message = (key: string, n: number, extra: Partial<OutboxMessage> = {}): OutboxMessage => ({ aggregateType: 'invoice', aggregateId: key, type: 'InvoiceIssued', payload: { key, n }, ...extra });

/** Enqueues in one committed transaction; `tables` as enqueue() takes them (none = public.outbox). */
async function write(messages: OutboxMessage[], tables?: { schema?: string; table?: string }): Promise<string[]> {
  const pool = lab.pool({ max: 1 });
  const c = await pool.connect();
  try {
    await c.query('begin');
    const ids = await enqueue(pgExecutor(c), messages, tables);
    await c.query('commit');
    return ids;
  } finally {
    c.release();
    await pool.end();
  }
}

async function count(table: string): Promise<number> {
  const pool = lab.pool({ max: 1 });
  try {
    return (await pool.query(`select count(*)::int as n from ${table}`)).rows[0].n;
  } finally {
    await pool.end();
  }
}

/** Every message of the topic, read from the beginning until `expected` have arrived. */
async function readTopic(topic: string, expected: number, timeoutMs = 30_000): Promise<{ key: string; id: string; value: unknown }[]> {
  const consumer = lab.kafka().consumer({ groupId: `g-${lab.id}-${topic}-${Date.now()}` });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const messages: { key: string; id: string; value: unknown }[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${messages.length} of ${expected} messages on ${topic} after ${timeoutMs} ms`)), timeoutMs);
      if (expected === 0) {
        clearTimeout(timer);
        resolve();
      }
      void consumer.run({
        eachMessage: async ({ message: m }) => {
          messages.push({ key: String(m.key), id: String(m.headers?.id), value: JSON.parse(String(m.value)) });
          if (messages.length >= expected) {
            clearTimeout(timer);
            resolve();
          }
        },
      });
    });
  } finally {
    await consumer.disconnect();
  }
  return messages;
}

/** How many messages the topic holds (all partitions), from Kafka's offsets: no waiting for what might still come. */
async function topicSize(topic: string): Promise<number> {
  const admin = lab.kafka().admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    return offsets.reduce((n, p) => n + Number(p.high) - Number(p.low), 0);
  } finally {
    await admin.disconnect();
  }
}

async function setMaxMessageBytes(topic: string, bytes: number): Promise<void> {
  const admin = lab.kafka().admin();
  await admin.connect();
  await admin.alterConfigs({ validateOnly: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configEntries: [{ name: 'max.message.bytes', value: String(bytes) }] }] });
  await admin.disconnect();
}

async function deadLettersCli(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'packages/relay/src/bin-dead-letters.ts', ...args], {
      cwd: REPO_ROOT,
      env: { ...process.env, DATABASE_URL: lab.db.url, OUTBOX_SCHEMA: '', OUTBOX_TABLE: '', ...env },
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('an outbox in its own schema and table', () => {
  it('the relay with { schema, table } publishes that outbox’s rows and never reads public.outbox; its gauges and its NOTIFY are that outbox’s', async () => {
    const topic = await lab.topic('billing', 3);
    const billingIds = await write([message('inv-1', 0), message('inv-2', 0), message('inv-1', 1), message('inv-3', 0), message('inv-2', 1)], BILLING);
    const publicIds = await write([message('pub-1', 0), message('pub-2', 0)]);

    // A relay that neither polls nor re-shares for a minute: after its first look only a NOTIFY wakes it.
    const relay = await relayOn(lab, topic, { ...BILLING, pollIntervalMs: 60_000, rebalanceIntervalMs: 60_000 });
    expect(relay.options).toMatchObject({ schema: 'billing_events', table: 'events_outbox' });
    await relay.waitUntilDrained();
    const published = await readTopic(topic, 5);
    expect(published.map((m) => m.id).sort()).toEqual([...billingIds].sort());
    // Per key, in commit order.
    expect(published.filter((m) => m.key === 'inv-1').map((m) => (m.value as { n: number }).n)).toEqual([0, 1]);
    expect(await count('billing_events.events_outbox')).toBe(0);
    expect(await count('public.outbox')).toBe(2); // untouched, not published
    const metrics = await (await fetch(`${relay.url}/metrics`)).text();
    expect(metrics).toContain('outbox_backlog_rows 0'); // the gauges count billing_events.events_outbox, not public.outbox (2 rows)

    // The NOTIFY of billing_events.events_outbox wakes it (it LISTENs on "billing_events.events_outbox").
    const woken = nextEvent<RelayEvents['published'][0]>((fn) => (relay.events.on('published', fn), () => relay.events.off('published', fn)), 'the NOTIFY wake-up', 10_000);
    const [late] = await write([message('inv-4', 0)], BILLING);
    expect((await woken).ids).toEqual([late]);
    await relay.stop();

    expect(await topicSize(topic)).toBe(6); // the 6 billing rows, none of public.outbox's
    expect((await readTopic(topic, 6)).filter((m) => publicIds.includes(m.id))).toEqual([]);
    expect(await count('public.outbox')).toBe(2);
  });

  it('negative control: a relay with the default schema publishes public.outbox only — the billing rows stay; both relays run side by side without sharing slots', async () => {
    const [defaultTopic, billingTopic] = [await lab.topic('default', 2), await lab.topic('billing-side', 2)];
    const billingIds = await write([message('inv-1', 0), message('inv-2', 0), message('inv-3', 0)], BILLING);
    const publicIds = await write([message('pub-1', 0), message('pub-2', 0)]);

    const byDefault = await relayOn(lab, defaultTopic);
    expect(byDefault.options).toMatchObject({ schema: 'public', table: 'outbox' });
    await byDefault.waitUntilDrained();
    expect((await readTopic(defaultTopic, 2)).map((m) => m.id).sort()).toEqual([...publicIds].sort());
    expect(await topicSize(defaultTopic)).toBe(2);
    expect(await count('billing_events.events_outbox')).toBe(3); // the default relay did not publish them
    expect(await count('public.outbox')).toBe(0);

    // A billing relay joins: it does not count the default relay as a member, and each owns all 32 slots of its outbox.
    const billing = await relayOn(lab, billingTopic, BILLING);
    await billing.waitUntilDrained();
    expect([byDefault.stats().members, byDefault.stats().ownedSlots.length]).toEqual([1, 32]);
    expect([billing.stats().members, billing.stats().ownedSlots.length]).toEqual([1, 32]);
    expect((await readTopic(billingTopic, 3)).map((m) => m.id).sort()).toEqual([...billingIds].sort());
    expect(await topicSize(defaultTopic)).toBe(2); // still only the public rows
    const space = relayLockSpace(billing.options.tables);
    const pool = lab.pool({ max: 1 });
    const locks = await pool.query<{ classid: number; n: number }>(
      `select classid::bigint::int as classid, count(*)::int as n from pg_locks
       where locktype = 'advisory' and objsubid = 2 and database = (select oid from pg_database where datname = current_database()) and classid::bigint = any($1::bigint[])
       group by 1 order by 1`,
      [[SLOT_LOCK_CLASS, space.slotClass]],
    );
    expect(Object.fromEntries(locks.rows.map((r) => [r.classid, r.n]))).toEqual({ [SLOT_LOCK_CLASS]: 32, [space.slotClass]: 32 });
    await Promise.all([byDefault.stop(), billing.stop()]);
  });

  it('dead letters land in <table>_dead_letters of that schema; list/replay/discard by function and by CLI (--schema/--table and OUTBOX_SCHEMA/OUTBOX_TABLE)', async () => {
    const topic = await lab.topic('billing-poison', 1);
    await setMaxMessageBytes(topic, 20_000);
    const relay = await relayOn(lab, topic, { ...BILLING, maxAttempts: 2, attemptBackoff: { initialMs: 50, maxMs: 100 } });
    const dead: RelayEvents['dead-lettered'][0][] = [];
    relay.events.on('dead-lettered', (d) => dead.push(d));
    const twoDead = nextEvent<number>((fn) => {
      const h = () => fn(dead.length);
      relay.events.on('dead-lettered', h);
      return () => relay.events.off('dead-lettered', h);
    }, 'two dead letters', 30_000, (n) => n === 2);
    const big = 'x'.repeat(50_000);
    await write([message('bad-1', 0, { payload: { key: 'bad-1', n: 0, big } }), message('bad-2', 0, { payload: { key: 'bad-2', n: 0, big } }), message('bad-1', 1), message('ok', 0)], BILLING);
    await twoDead;
    await relay.waitUntilDrained();
    expect(await count('billing_events.events_outbox_dead_letters')).toBe(2);
    expect(await count('public.outbox_dead_letters')).toBe(0);
    expect(await count('billing_events.events_outbox')).toBe(1); // bad-1 n=1 parked behind its dead letter
    const metrics = await (await fetch(`${relay.url}/metrics`)).text();
    expect(metrics).toContain('outbox_dead_letters 2');
    expect(metrics).toContain('outbox_parked_keys 2');

    const pool = lab.pool({ max: 2 });
    const db = pgExecutor(pool);
    const listed = await listDeadLetters(db, BILLING);
    expect(listed.map((d) => [d.aggregateid, d.parked]).sort()).toEqual([['bad-1', 1], ['bad-2', 0]]);
    expect(await listDeadLetters(db)).toEqual([]); // the default dead letters are another table

    // The CLI: by flags, and by the environment; without them it reads public.outbox_dead_letters.
    const byFlags = await deadLettersCli(['list', '--json', '--schema', 'billing_events', '--table', 'events_outbox']);
    expect(byFlags.code).toBe(0);
    const cliList = JSON.parse(byFlags.stdout) as { id: string; aggregateid: string }[];
    expect(cliList.map((d) => d.aggregateid).sort()).toEqual(['bad-1', 'bad-2']);
    expect((await deadLettersCli(['list'])).stdout).toContain('No dead letters.');
    const badSchema = await deadLettersCli(['list', '--schema', 'Billing']);
    expect(badSchema.code).toBe(2);
    expect(badSchema.stderr).toContain('[DW_OUTBOX_INVALID_OPTION] outbox-dead-letters option schema = "Billing" is not valid');
    expect((await deadLettersCli(['--help'])).stdout).toMatch(/--schema <name>.*OUTBOX_SCHEMA/);

    await setMaxMessageBytes(topic, 1_048_588);
    const bad1 = cliList.find((d) => d.aggregateid === 'bad-1')!.id;
    const replay = await deadLettersCli(['replay', bad1], { OUTBOX_SCHEMA: 'billing_events', OUTBOX_TABLE: 'events_outbox' });
    expect(replay.code).toBe(0);
    expect(replay.stdout).toMatch(/Replayed .* back in the outbox at its original place/);
    const bad2 = cliList.find((d) => d.aggregateid === 'bad-2')!.id;
    expect((await deadLettersCli(['discard', bad2])).code).toBe(1); // not in public.outbox_dead_letters
    expect((await discardDeadLetter(db, bad2, BILLING)).aggregateid).toBe('bad-2');
    await relay.waitUntilDrained();
    await relay.stop();

    expect(await count('billing_events.events_outbox_dead_letters')).toBe(0);
    expect(await count('billing_events.events_outbox')).toBe(0);
    const onTopic = await readTopic(topic, 3);
    // ok, then bad-1 n=0 (replayed at its original place) before bad-1 n=1; bad-2 discarded.
    expect(onTopic.filter((m) => m.key === 'bad-1').map((m) => (m.value as { n: number }).n)).toEqual([0, 1]);
    expect(onTopic.map((m) => m.key).sort()).toEqual(['bad-1', 'bad-1', 'ok']);
    expect(await topicSize(topic)).toBe(3);
  });

  it('the inbox of that outbox is <table>_inbox in its schema: processOnce with the same options de-duplicates there', async () => {
    const pool = lab.pool({ max: 1 });
    const eventId = '0b6c1c8e-5d4e-4f0a-9a51-2f3c6e7d8a90';
    const deliver = async (tables?: { schema?: string; table?: string }) => {
      const c = await pool.connect();
      try {
        await c.query('begin');
        const outcome = await processOnce(pgExecutor(c), { consumer: 'billing', eventId }, () => {}, tables);
        await c.query('commit');
        return outcome;
      } catch (err) {
        await c.query('rollback');
        throw err;
      } finally {
        c.release();
      }
    };
    expect(await deliver(BILLING)).toBe('processed');
    expect(await deliver(BILLING)).toBe('duplicate');
    expect(await count('billing_events.events_outbox_inbox')).toBe(1);
    expect(await count('public.inbox')).toBe(0);
    expect(await deliver()).toBe('processed'); // public.inbox is another inbox
    // The schema alone names billing_events.inbox, which this outbox (table events_outbox) does not have.
    const err = (await deliver({ schema: 'billing_events' }).catch((e: unknown) => e)) as OutboxError;
    expect(err.code).toBe('DW_OUTBOX_NOT_MIGRATED');
    expect(err.hint).toContain('migrateOutbox(client, { schema: "billing_events", table: "outbox" })');
  });
});

describe('relay options schema and table', () => {
  const required = { DATABASE_URL: 'postgres://app:secret@db.prod:5432/app', KAFKA_BROKERS: 'kafka-1:9092' };
  const err = (fn: () => unknown): RelayError => {
    try {
      fn();
    } catch (e) {
      return e as RelayError;
    }
    throw new Error('expected an error');
  };

  it('resolve explicit > OUTBOX_SCHEMA / OUTBOX_TABLE > public.outbox, and refuse names that are not plain identifiers', () => {
    expect(resolveRelayOptions({}, required)).toMatchObject({ schema: 'public', table: 'outbox', tables: { outbox: '"public"."outbox"', channel: 'outbox' } });
    const fromEnv = resolveRelayOptions({}, { ...required, OUTBOX_SCHEMA: 'billing_events', OUTBOX_TABLE: 'events_outbox' });
    expect(fromEnv).toMatchObject({ schema: 'billing_events', table: 'events_outbox', tables: { deadLetters: '"billing_events"."events_outbox_dead_letters"', channel: 'billing_events.events_outbox' } });
    expect(resolveRelayOptions({ schema: 'ledger' }, { ...required, OUTBOX_SCHEMA: 'billing_events' }).schema).toBe('ledger');

    const badEnv = err(() => resolveRelayOptions({}, { ...required, OUTBOX_SCHEMA: 'Billing' }));
    expect(badEnv.code).toBe('DW_RELAY_INVALID_OPTION');
    expect(badEnv.message).toMatch(/^Relay option schema = "Billing" is not valid: expected a plain lowercase SQL identifier/);
    expect(badEnv.hint).toContain('OUTBOX_SCHEMA');
    const badTable = err(() => resolveRelayOptions({ table: 'x'.repeat(43) }, required));
    expect([badTable.code, badTable.hint]).toEqual(['DW_RELAY_INVALID_OPTION', expect.stringContaining('OUTBOX_TABLE')]);
    expect(badTable.message).toMatch(/at most 42 characters/);
    expect(err(() => resolveRelayOptions({ table: 7 } as never, required)).message).toMatch(/^Relay option table = 7 is not valid/);
  });

  it('each outbox has its own slot locks and rebalance channel; public.outbox keeps the released ones', () => {
    const byDefault = relayLockSpace(resolveRelayOptions({}, required).tables);
    expect(byDefault).toEqual({ slotClass: SLOT_LOCK_CLASS, memberClass: SLOT_LOCK_CLASS + 1, rebalanceChannel: 'outbox_relay_rebalance' });
    const billing = relayLockSpace(resolveRelayOptions(BILLING, required).tables);
    const refunds = relayLockSpace(resolveRelayOptions({ ...BILLING, table: 'refunds_outbox' }, required).tables);
    for (const s of [billing, refunds]) {
      expect(s.slotClass).not.toBe(s.memberClass);
      expect([s.slotClass, s.memberClass]).not.toContain(SLOT_LOCK_CLASS);
      expect(s.slotClass).toBeGreaterThan(0);
      expect(s.rebalanceChannel.length).toBeLessThanOrEqual(63);
    }
    expect(billing.slotClass).not.toBe(refunds.slotClass);
    expect(billing.rebalanceChannel).not.toBe(refunds.rebalanceChannel);
  });

  it('a relay pointed at a schema that was not migrated says so, naming the tables and the options', async () => {
    const e = (await startRelay({ database: lab.db.url, brokers: lab.config.kafka.brokers, port: false, logLevel: 'silent', schema: 'nowhere', table: 'events_outbox' }).catch((x: unknown) => x)) as OutboxError;
    expect(e).toBeInstanceOf(OutboxError);
    expect(e.code).toBe('DW_OUTBOX_NOT_MIGRATED');
    expect(e.message).toContain('"nowhere"."events_outbox"');
    expect(e.hint).toContain('migrateOutbox(client, { schema: "nowhere", table: "events_outbox" })');
  });
});

/**
 * The detector against the real PostgreSQL and Kafka (the latter through Toxiproxy, slowed down): a Kafka call
 * awaited while the same unit of work holds a connection is reported with its held time and call site; the same
 * call after COMMIT, or while *another* unit of work holds a transaction, is not.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import kafkajs, { type Producer } from 'kafkajs';
import promClient from 'prom-client';
import sequelizePkg from 'sequelize';
import { useLab } from '@dual-write/testkit';
import { DetectorError, detectHostageConnections, type HostageDetector, type HostageReport } from '../src/index.ts';

const lab = useLab();
const registry = new promClient.Registry();
const seen: HostageReport[] = [];
let detector: HostageDetector;
let producer: Producer;
let topic: string;

beforeAll(async () => {
  detector = detectHostageConnections({ pg, kafkajs, prometheus: { client: promClient, registry }, onReport: (r) => seen.push(r) });
  topic = await lab.topic('hostage', 1);
  producer = lab.kafka({ via: 'proxy' }).producer(); // made after the start: watched
  await producer.connect();
});

afterAll(async () => {
  await producer?.disconnect();
  detector?.stop();
});

const send = () => producer.send({ topic, acks: -1, messages: [{ key: 'k', value: 'v' }] });
const reportsDuring = async (fn: () => Promise<void>) => {
  const before = seen.length;
  await fn();
  return seen.slice(before);
};

describe('detectHostageConnections() on pg + kafkajs', () => {
  it('a send awaited inside BEGIN … COMMIT under 1 s of Kafka latency: one report, held ≥ 1 s, in a transaction, at this file', async () => {
    const pool = lab.pool({ max: 2 });
    const reports = await reportsDuring(() =>
      lab.toxics.with('kafka', { type: 'latency', attributes: { latency: 1000, jitter: 0 } }, () =>
        detector.scope(async () => {
          const client = await pool.connect();
          try {
            await client.query('BEGIN');
            await client.query('select 1');
            await send(); // the hostage: the transaction's connection waits for Kafka
            await client.query('COMMIT');
          } finally {
            client.release();
          }
        }),
      ),
    );
    expect(reports).toHaveLength(1);
    expect(reports[0]).toMatchObject({ brokerCall: 'kafkajs producer.send', connections: 1, inTransaction: true, failed: false });
    expect(reports[0]!.heldMs).toBeGreaterThanOrEqual(1000);
    expect(reports[0]!.callSite).toMatch(/detector\.test\.ts:\d+/);
  });

  it('the same send after COMMIT and release(): no report', async () => {
    const pool = lab.pool({ max: 2 });
    const reports = await reportsDuring(() =>
      detector.scope(async () => {
        const client = await pool.connect();
        await client.query('BEGIN');
        await client.query('COMMIT');
        client.release();
        await send();
      }),
    );
    expect(reports).toEqual([]);
  });

  it('a checkout held across a send (no transaction) is reported as a checkout; pool.query() around it is not held', async () => {
    const pool = lab.pool({ max: 2 });
    const reports = await reportsDuring(() =>
      detector.scope(async () => {
        await pool.query('select 1');
        await send(); // nothing held: pool.query released its connection
        const client = await pool.connect();
        try {
          await send();
        } finally {
          client.release();
        }
      }),
    );
    expect(reports).toHaveLength(1);
    expect(reports[0]).toMatchObject({ connections: 1, inTransaction: false });
  });

  it('outside any unit of work (a background loop, like an in-process relay): a send while a concurrent pool.query() runs is not reported', async () => {
    const pool = lab.pool({ max: 2 });
    const reports = await reportsDuring(async () => {
      const acquired = new Promise<void>((r) => pool.once('acquire', () => r()));
      const slow = pool.query('select pg_sleep(0.3)'); // one statement on its own checkout: busy, not a hostage
      await acquired;
      await send();
      await slow;
    });
    expect(reports).toEqual([]);
    // negative control: the same shape with an explicit checkout that stays idle across the send is reported
    const held = await reportsDuring(async () => {
      const client = await pool.connect();
      try {
        await send();
      } finally {
        client.release();
      }
    });
    expect(held).toHaveLength(1);
  });

  it("per unit of work: a send while *another* scope holds a transaction is not this scope's hostage", async () => {
    const pool = lab.pool({ max: 2 });
    let releaseOther!: () => void;
    const otherHolds = new Promise<void>((r) => (releaseOther = r));
    let otherStarted!: () => void;
    const started = new Promise<void>((r) => (otherStarted = r));
    const reports = await reportsDuring(async () => {
      const other = detector.scope(async () => {
        const client = await pool.connect();
        await client.query('BEGIN');
        otherStarted();
        await otherHolds;
        await client.query('ROLLBACK');
        client.release();
      });
      await started;
      await detector.scope(() => send());
      releaseOther();
      await other;
    });
    expect(reports).toEqual([]);
  });

  it('through an ORM: a Sequelize managed transaction that awaits a send is reported', async () => {
    const sequelize = new sequelizePkg.Sequelize(lab.db.url, { dialect: 'postgres', logging: false, pool: { max: 2 } });
    try {
      const reports = await reportsDuring(() =>
        detector.scope(() =>
          sequelize.transaction(async (transaction) => {
            await sequelize.query('select 1', { transaction });
            await send();
          }),
        ),
      );
      expect(reports).toHaveLength(1);
      expect(reports[0]).toMatchObject({ inTransaction: true });
    } finally {
      await sequelize.close();
    }
  });

  it('as Express/Connect middleware on a plain node:http server: each request is its own unit of work', async () => {
    const pool = lab.pool({ max: 4 });
    // One handler: ?hold=1 keeps a transaction open across the send; otherwise it only sends.
    const server = http.createServer((req, res) =>
      detector.expressMiddleware(req, res, () => {
        void (async () => {
          const hold = req.url?.includes('hold=1');
          const client = hold ? await pool.connect() : undefined;
          try {
            await client?.query('BEGIN');
            await send();
            await client?.query('COMMIT');
          } finally {
            client?.release();
          }
          res.end('ok');
        })();
      }),
    );
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const reports = await reportsDuring(async () => {
        await Promise.all([fetch(`${url}/?hold=1`).then((r) => r.text()), fetch(`${url}/`).then((r) => r.text()), fetch(`${url}/`).then((r) => r.text())]);
      });
      expect(reports).toHaveLength(1);
      expect(reports[0]).toMatchObject({ inTransaction: true });
    } finally {
      await new Promise((r) => server.close(r));
    }
  });

  it('feeds the Prometheus counter and histogram', async () => {
    const text = await registry.metrics();
    expect(text).toMatch(/dw_hostage_broker_calls_total\{call="kafkajs producer.send",hold="transaction"\} [1-9]/);
    expect(text).toMatch(/dw_hostage_broker_calls_total\{call="kafkajs producer.send",hold="checkout"\} 2/); // the checkout test and the negative control of the background-loop test
    expect(text).toMatch(/dw_hostage_held_seconds_count\{call="kafkajs producer.send"\} [1-9]/);
    expect(detector.count).toBe(seen.length);
  });

  it('after stop(): nothing is reported; a detector started later watches the producers the first one wrapped', async () => {
    const pool = lab.pool({ max: 2 });
    const hostage = () =>
      detector.scope(async () => {
        const client = await pool.connect();
        try {
          await client.query('BEGIN');
          await send();
          await client.query('COMMIT');
        } finally {
          client.release();
        }
      });
    detector.stop();
    expect(await reportsDuring(hostage)).toEqual([]);
    const later: HostageReport[] = [];
    detector = detectHostageConnections({ pg, kafkajs, onReport: (r) => later.push(r) });
    await hostage();
    expect(later).toHaveLength(1);
    expect(later[0]).toMatchObject({ inTransaction: true });
  });

  it('bad options and a second start are refused with a code and a hint', () => {
    expect(() => detectHostageConnections({ pg: {} as never, kafkajs })).toThrow(DetectorError);
    expect(() => detectHostageConnections({ pg, kafkajs, minHeldMs: -1 })).toThrow(/minHeldMs/);
    try {
      detectHostageConnections({ pg, kafkajs });
      expect.unreachable();
    } catch (err) {
      expect(err).toMatchObject({ code: 'DW_DETECTOR_ALREADY_ACTIVE', hint: expect.stringMatching(/stop\(\)/) });
    }
  });
});

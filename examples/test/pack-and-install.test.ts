/**
 * Adoption without the monorepo: both packages are packed (pnpm pack: built to dist/, workspace versions filled
 * in), installed with plain npm into a fresh project in the system's temp folder, and used there the way a
 * user would — examples/knex-orders/place-order.mjs commits an order and its event in one Knex transaction
 * while the installed `outbox-relay` bin, given only DATABASE_URL (PostgreSQL's real port) and KAFKA_BROKERS,
 * publishes it to the topic derived from its aggregatetype (outbox.event.order). Toxiproxy's proxies are
 * disabled meanwhile: the relay cannot be going through them. A TypeScript user's file type-checks against the
 * packed declarations with `skipLibCheck: false`, although none of the outbox's optional peers but pg is installed.
 */
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCommand, startCommand, useLab, type RunningCommand } from '@dual-write/testkit';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const TOPIC = 'outbox.event.order';
const lab = useLab();
let project = '';
const tarballs: Record<string, string> = {};

/** pnpm with the project's pinned version, the way scripts/run.mjs runs it. */
async function pnpm(args: string[]): Promise<string> {
  const r = await runCommand(process.execPath, [path.join(ROOT, 'scripts/run.mjs'), 'pnpm', ...args], { cwd: ROOT });
  if (r.code !== 0) throw new Error(`pnpm ${args.join(' ')} failed (${r.code}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

beforeAll(async () => {
  project = mkdtempSync(path.join(os.tmpdir(), 'outbox-adopter-'));
  const packs = path.join(project, 'packs');
  for (const pkg of ['outbox', 'relay']) {
    await pnpm(['--dir', path.join(ROOT, 'packages', pkg), 'pack', '--pack-destination', packs]);
    tarballs[pkg] = path.join(packs, `dual-write-${pkg}-0.1.0.tgz`);
  }
  const app = path.join(project, 'app');
  cpSync(path.join(ROOT, 'examples/knex-orders'), app, { recursive: true, filter: (f) => !f.includes('node_modules') });
  const manifest = JSON.parse(readFileSync(path.join(app, 'package.json'), 'utf8'));
  manifest.dependencies['@dual-write/outbox'] = `file:${tarballs.outbox}`;
  manifest.dependencies['@dual-write/relay'] = `file:${tarballs.relay}`;
  writeFileSync(path.join(app, 'package.json'), JSON.stringify(manifest, null, 2));
  const install = await runCommand('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: app, env: { ...process.env, npm_config_workspaces: 'false' } });
  if (install.code !== 0) throw new Error(`npm install failed (${install.code}):\n${install.stdout}\n${install.stderr}`);
}, 300_000);

afterAll(async () => {
  if (project) rmSync(project, { recursive: true, force: true });
  const admin = lab.kafka().admin();
  await admin.connect();
  await admin.deleteTopics({ topics: [TOPIC] }).catch(() => {});
  await admin.disconnect();
});

/** A clean environment: nothing of the lab's settings (VIA_PROXY, ORDERS_TOPIC…) leaks into the user's processes. */
function userEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, HOME: process.env.HOME, ...extra };
}

describe('the packed packages, installed with npm outside the workspace', () => {
  it('are real packages: ESM JavaScript with types, a licence, the relay bins, no TypeScript source', () => {
    const installed = (pkg: string) => JSON.parse(readFileSync(path.join(project, 'app/node_modules/@dual-write', pkg, 'package.json'), 'utf8'));
    const outbox = installed('outbox');
    const relay = installed('relay');
    expect(outbox.exports['.']).toEqual({ types: './dist/index.d.ts', import: './dist/index.js' });
    expect(relay.bin).toEqual({ 'outbox-relay': './dist/bin-relay.js', 'outbox-dead-letters': './dist/bin-dead-letters.js' });
    expect([outbox.license, relay.license, relay.dependencies['@dual-write/outbox']]).toEqual(['MIT', 'MIT', '0.1.0']);
    expect(() => statSync(path.join(project, 'app/node_modules/@dual-write/outbox/src'))).toThrow();
    expect(statSync(path.join(project, 'app/node_modules/@dual-write/outbox/migrations/000001_outbox.sql')).isFile()).toBe(true);
    for (const [pkg, file] of Object.entries(tarballs)) console.log(`packed @dual-write/${pkg}: ${(statSync(file).size / 1024).toFixed(1)} KiB`);
  });

  it('an order committed in a Knex transaction reaches outbox.event.order through the installed outbox-relay, with Toxiproxy off', async () => {
    const app = path.join(project, 'app');
    const admin = lab.kafka().admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: 3, replicationFactor: 1 }], waitForLeaders: true });
    await admin.disconnect();

    const help = await runCommand(path.join(app, 'node_modules/.bin/outbox-relay'), ['--help'], { cwd: app, env: userEnv({}) });
    expect([help.code, help.stdout]).toEqual([0, expect.stringContaining('Usage: outbox-relay')]);

    await lab.toxics.setEnabled('postgres', false);
    await lab.toxics.setEnabled('kafka', false);
    const env = userEnv({ DATABASE_URL: lab.db.url, KAFKA_BROKERS: lab.config.kafka.brokers.join(','), RELAY_PORT: '0' });
    // Control: the proxies really are off — the same relay pointed at the postgres proxy cannot start.
    const viaProxy = await runCommand(path.join(app, 'node_modules/.bin/outbox-relay'), [], { cwd: app, env: { ...env, DATABASE_URL: lab.db.appUrl } });
    expect([viaProxy.code, viaProxy.stderr]).toEqual([2, expect.stringContaining('[DW_RELAY_UNREACHABLE]')]);
    const committed = JSON.parse((await runOk(app, ['place-order.mjs', '--customer', 'ada'], env)).trim()) as { orderId: string; eventId: string };
    const rolledBack = JSON.parse((await runOk(app, ['place-order.mjs', '--fail'], env)).trim()) as { orderId: string; eventId: string; committed: boolean };
    expect(rolledBack.committed).toBe(false);

    const consumer = lab.kafka().consumer({ groupId: `${lab.id}-adopter` });
    await consumer.connect();
    await consumer.subscribe({ topic: TOPIC, fromBeginning: true });
    const seen: { key: string; id: string; value: Record<string, unknown> }[] = [];
    const arrived = new Promise<void>((resolve) => {
      void consumer.run({
        eachMessage: async ({ message }) => {
          const id = message.headers?.id?.toString() ?? '';
          seen.push({ key: message.key?.toString() ?? '', id, value: JSON.parse(message.value!.toString()) });
          if (id === committed.eventId) resolve();
        },
      });
    });

    let relay: RunningCommand | undefined;
    try {
      relay = startCommand(path.join(app, 'node_modules/.bin/outbox-relay'), [], { cwd: app, env });
      await arrived;
    } finally {
      await consumer.disconnect();
      relay?.child.kill('SIGTERM');
    }
    expect((await relay.exited).code).toBe(0);
    const event = seen.find((m) => m.id === committed.eventId)!;
    expect(event).toMatchObject({ key: committed.orderId, value: { orderId: committed.orderId, customer: 'ada', totalCents: 4200 } });
    // The rolled-back order's event never existed: it is not in the outbox, so nothing can publish it.
    const pool = lab.pool();
    const left = await pool.query('select count(*)::int as n from outbox where id = $1', [rolledBack.eventId]);
    const orders = await pool.query('select id from orders');
    expect([left.rows[0].n, orders.rows.map((r) => r.id)]).toEqual([0, [committed.orderId]]);
    expect(seen.some((m) => m.id === rolledBack.eventId)).toBe(false);
  });
});

describe('the packed declarations, for a TypeScript user', () => {
  it('type-check with strict and skipLibCheck: false with only knex and pg installed; a wrong argument is still an error', async () => {
    const app = path.join(project, 'app');
    // No outbox declaration may import an optional peer (kysely, drizzle-orm…): the user installed one or two of them.
    const outboxDir = path.join(app, 'node_modules/@dual-write/outbox');
    const peers = Object.keys(JSON.parse(readFileSync(path.join(outboxDir, 'package.json'), 'utf8')).peerDependenciesMeta);
    const leaks: string[] = [];
    for (const file of readdirSync(path.join(outboxDir, 'dist'), { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.d.ts'))) {
      const text = readFileSync(path.join(outboxDir, 'dist', file), 'utf8');
      for (const [, spec] of text.matchAll(/(?:from |import\(|types=)['"]([^'"]+)['"]/g)) if (peers.some((p) => spec === p || spec!.startsWith(`${p}/`))) leaks.push(`${file}: ${spec}`);
    }
    expect(leaks).toEqual([]);

    // The user's TypeScript toolchain, borrowed from the workspace instead of installed: its compiler, and the @types
    // a TypeScript user of Node and pg has — @types/node (knex's, kafkajs's and pino's declarations need it) and
    // @types/pg (for pg.Pool below, and the relay's declarations import pg), the versions examples/ depends on.
    // Linked, not copied, into <project>/node_modules/@types, outside app/: TypeScript looks for @types (and for
    // `pg`'s types) in the node_modules of every folder above the file, so the tsconfig needs no typeRoots or paths
    // and app/node_modules stays exactly what npm installed: knex, pg and the two tarballs.
    const tsc = createRequire(path.join(ROOT, 'package.json')).resolve('typescript/bin/tsc');
    const examplesRequire = createRequire(path.join(ROOT, 'examples/package.json'));
    mkdirSync(path.join(project, 'node_modules/@types'), { recursive: true });
    for (const name of ['node', 'pg']) {
      symlinkSync(path.dirname(examplesRequire.resolve(`@types/${name}/package.json`)), path.join(project, 'node_modules/@types', name), 'dir');
    }
    const compilerOptions = { strict: true, skipLibCheck: false, module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', noEmit: true, types: ['node'] };
    writeFileSync(path.join(app, 'tsconfig.json'), JSON.stringify({ compilerOptions, files: ['check-types.ts'] }, null, 2));
    writeFileSync(path.join(app, 'tsconfig.wrong.json'), JSON.stringify({ extends: './tsconfig.json', files: ['check-types-wrong.ts'] }, null, 2));
    writeFileSync(
      path.join(app, 'check-types.ts'),
      `import knex, { type Knex } from 'knex';
import pg from 'pg';
import { enqueue, knexExecutor, migrateOutbox, pgExecutor, OutboxError } from '@dual-write/outbox';
import { startRelay, type Relay } from '@dual-write/relay';

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL });
const db: Knex = knex({ client: 'pg', connection: process.env.DATABASE_URL });

export async function migrate(): Promise<void> {
  await migrateOutbox(pgExecutor(pool));
  const client = await pool.connect();
  try {
    await migrateOutbox(pgExecutor(client), { schema: 'public' });
  } finally {
    client.release();
  }
}

export function placeOrder(orderId: string): Promise<string> {
  return db.transaction(async (trx: Knex.Transaction) => {
    await trx('orders').insert({ id: orderId, customer: 'ada', total_cents: 4200 });
    const [eventId] = await enqueue(knexExecutor(trx), { aggregateType: 'order', aggregateId: orderId, type: 'OrderCreated', payload: { orderId } });
    if (!eventId) throw new OutboxError('DW_OUTBOX_INVALID_MESSAGE', 'no event id', 'enqueue one message');
    return eventId;
  });
}

export function relay(): Promise<Relay> {
  return startRelay({ database: process.env.DATABASE_URL, brokers: ['localhost:9092'], port: false });
}
`,
    );
    // Negative control: the same setup must reject what is not a Knex transaction, or the check above proves nothing.
    writeFileSync(
      path.join(app, 'check-types-wrong.ts'),
      `import knex from 'knex';
import { knexExecutor } from '@dual-write/outbox';

export const fromNumber = knexExecutor(42);
export const fromKnexNotItsTransaction = knexExecutor(knex({ client: 'pg' }));
`,
    );

    const ok = await runCommand(process.execPath, [tsc, '-p', 'tsconfig.json', '--pretty', 'false'], { cwd: app, env: userEnv({}) });
    expect({ code: ok.code, output: ok.stdout + ok.stderr }).toEqual({ code: 0, output: '' });

    const wrong = await runCommand(process.execPath, [tsc, '-p', 'tsconfig.wrong.json', '--pretty', 'false'], { cwd: app, env: userEnv({}) });
    expect(wrong.code).not.toBe(0);
    // Exactly the two wrong calls fail, nothing else in the setup.
    expect(wrong.stdout.split('\n').filter((line) => line.includes('error TS'))).toEqual([
      expect.stringMatching(/^check-types-wrong\.ts\(4,\d+\): error TS2345: Argument of type 'number' is not assignable/),
      expect.stringMatching(/^check-types-wrong\.ts\(5,\d+\): error TS2345: Argument of type 'Knex<.*' is not assignable/),
    ]);
  }, 120_000);
});

async function runOk(cwd: string, args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  const r = await runCommand(process.execPath, args, { cwd, env });
  if (r.code !== 0) throw new Error(`node ${args.join(' ')} failed (${r.code}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

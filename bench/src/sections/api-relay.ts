/**
 * The relay of the API throughput section, switched between the modes' turns: in the service's process (LISTEN
 * or polling only, or CDC when @dual-write/relay has it), in a process of its own, or stopped. One at a time; a
 * switch stops the running one first. CDC leaves a replication slot and a publication in the scratch database:
 * dropCdcLeftovers() removes them (a database with a slot cannot be dropped).
 */
import pg from 'pg';
import { resolveRelayOptions, startRelay, type Relay, type RelayOptions } from '@dual-write/relay';
import { startRelayChild, type RelayChild } from '../lib/relay-process.ts';

export type RelayKind = 'none' | 'listen' | 'poll' | 'process' | 'cdc';

export interface RelaySwitchOptions {
  databaseUrl: string;
  brokers: string[];
  topic: string;
  /** After a CDC relay stopped: e.g. drop its slot, so the next CDC turn starts at the current WAL, not behind it. */
  afterCdc?: () => Promise<unknown>;
}

/** How long a relay may take to start before the mode is given up (a relay that cannot connect fails sooner). */
const START_TIMEOUT_MS = 90_000;

/** The relay option that selects CDC mode; typed loosely so this file builds whether or not the relay has it yet. */
const CDC_OPTION = { mode: 'cdc' } as Partial<RelayOptions>;

/** Why CDC mode cannot run with this build of @dual-write/relay, or undefined when its options accept it. */
export function cdcUnavailable(o: RelaySwitchOptions): string | undefined {
  try {
    const resolved = resolveRelayOptions({ database: o.databaseUrl, brokers: o.brokers, topic: o.topic, port: false, ...CDC_OPTION }) as { mode?: string };
    return resolved.mode === 'cdc' ? undefined : 'this build of @dual-write/relay ignores mode: "cdc"';
  } catch (err) {
    return `this build of @dual-write/relay has no CDC mode (RELAY_MODE=cdc): ${(err as Error).message.split('\n')[0]}`;
  }
}

export class RelaySwitch {
  private kind: RelayKind = 'none';
  private inProcess: Relay | undefined;
  private child: RelayChild | undefined;

  constructor(private readonly o: RelaySwitchOptions) {}

  get current(): RelayKind {
    return this.kind;
  }

  /** The in-process relay's counters (messages published, batches sent); undefined for a child process or none. */
  counts(): { published: number; batches: number } | undefined {
    const s = this.inProcess?.stats();
    return s ? { published: s.published, batches: s.batches } : undefined;
  }

  /** Makes `kind` the running relay (stopping another one first); rejects when it does not start within 90 s. */
  async use(kind: RelayKind): Promise<void> {
    if (kind === this.kind) return;
    await this.stop();
    const base: RelayOptions = { database: this.o.databaseUrl, brokers: this.o.brokers, topic: this.o.topic, port: false, logLevel: 'error' };
    if (kind === 'process') {
      const child = startRelayChild({ databaseUrl: this.o.databaseUrl, topic: this.o.topic, batchSize: 500, env: { RELAY_LOG_LEVEL: 'info' } });
      this.child = child;
      await child.waitStarted(START_TIMEOUT_MS);
    } else if (kind !== 'none') {
      const options = kind === 'poll' ? { ...base, listen: false } : kind === 'cdc' ? { ...base, ...CDC_OPTION } : base;
      const starting = startRelay(options);
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`the ${kind} relay did not start within ${START_TIMEOUT_MS / 1000} s`)), START_TIMEOUT_MS);
      });
      try {
        this.inProcess = await Promise.race([starting, timeout]);
      } catch (err) {
        void starting.then((late) => late.stop()).catch(() => {}); // one that starts after all is stopped at once
        throw err;
      } finally {
        clearTimeout(timer);
      }
    }
    this.kind = kind;
  }

  async stop(): Promise<void> {
    const relay = this.inProcess;
    const child = this.child;
    const was = this.kind;
    this.inProcess = undefined;
    this.child = undefined;
    this.kind = 'none';
    await relay?.stop();
    await child?.stop();
    if (was === 'cdc') await this.o.afterCdc?.();
  }
}

/** Drops the replication slots of `database` (and its publications): CDC mode's, or a killed run's. */
export async function dropCdcLeftovers(adminUrl: string, database: string, databaseUrl: string): Promise<string[]> {
  const dropped: string[] = [];
  const admin = new pg.Client({ connectionString: adminUrl });
  admin.on('error', () => {});
  await admin.connect();
  try {
    const { rows } = await admin.query<{ slot_name: string; active_pid: number | null }>('select slot_name, active_pid from pg_replication_slots where database = $1', [database]);
    for (const r of rows) {
      if (r.active_pid) await admin.query('select pg_terminate_backend($1)', [r.active_pid]);
      await admin.query('select pg_drop_replication_slot($1)', [r.slot_name]).catch(async () => {
        await new Promise((resolve) => setTimeout(resolve, 500)); // its walsender is still exiting
        await admin.query('select pg_drop_replication_slot($1)', [r.slot_name]);
      });
      dropped.push(r.slot_name);
    }
  } finally {
    await admin.end().catch(() => {});
  }
  const db = new pg.Client({ connectionString: databaseUrl });
  db.on('error', () => {});
  try {
    await db.connect();
    const pubs = await db.query<{ pubname: string }>('select pubname from pg_publication');
    for (const p of pubs.rows) await db.query(`drop publication if exists "${p.pubname}"`);
  } catch {
    /* the database does not exist (yet): nothing to drop */
  } finally {
    await db.end().catch(() => {});
  }
  return dropped;
}

/**
 * What a chaos process put in place, on disk (STACK_DIR/run/chaos-<pid>.json), written *before* each fault
 * goes in: if the process dies without cleaning up (kill -9, a crash), `clear` or the next chaos run reads
 * the record, sees the process is gone, removes its toxics and re-enables the proxies it disabled.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { resolveConfig, type LabConfig } from '@dual-write/config';
import type { ProxyName, ToxicHelper } from '@dual-write/faults';
import { layout, runningFromPidFile, startService, type RestartableService } from '@dual-write/stack';
import { respawn, type ProcessSpec } from './processes.ts';
import type { Say } from './log.ts';

export const PROXIES: readonly ProxyName[] = ['postgres', 'kafka', 'kafka-1', 'kafka-2', 'kafka-3'];

/** The proxies of PROXIES this Toxiproxy has: `postgres` and `kafka` (a KAFKA_NODES=1 stack), `kafka-1`…`kafka-3` (KAFKA_NODES=3). */
export async function existingProxies(faults: ToxicHelper): Promise<ProxyName[]> {
  const all = (await faults.client.getAll()) as Record<string, unknown>;
  return PROXIES.filter((p) => p in all);
}

/** Every chaos toxic's name starts with this: chaos_<script>_<pid>_<n>. */
export const TOXIC_PREFIX = 'chaos_';

export interface ChaosRecord {
  /** KAFKA_NODES of the chaos process: a dead one's stopped nodes are started again by a cluster config. */
  kafkaNodes?: number;
  pid: number;
  /** Must appear in /proc/<pid>/cmdline, so a recycled pid is not taken for a live chaos process. */
  marker: string;
  startedAt: string;
  script: string;
  toxics: { proxy: ProxyName; name: string }[];
  disabled: ProxyName[];
  /** Stack services it stopped and has not started again. */
  stopped?: RestartableService[];
  /** Relay processes it killed and has not started again (command line, folder, environment). */
  relays?: ProcessSpec[];
}

export interface FoundRecord {
  file: string;
  record: ChaosRecord;
  alive: boolean;
}

export function toxicName(script: string, n: number, pid: number = process.pid): string {
  return `${TOXIC_PREFIX}${script}_${pid}_${n}`;
}

/** The pid in a chaos toxic's name, or undefined for a toxic that is not a chaos script's. */
export function ownerPid(name: string): number | undefined {
  const m = /^chaos_.+_(\d+)_\d+$/.exec(name);
  return m ? Number(m[1]) : undefined;
}

export function recordDir(config: LabConfig): string {
  return layout(config).run;
}

export function readRecords(config: LabConfig): FoundRecord[] {
  const dir = recordDir(config);
  let files: string[];
  try {
    files = readdirSync(dir).filter((f) => /^chaos-\d+\.json$/.test(f));
  } catch {
    return [];
  }
  const found: FoundRecord[] = [];
  for (const f of files) {
    const file = path.join(dir, f);
    const record = runningFromPidFile(file) as ChaosRecord | undefined;
    if (record) {
      found.push({ file, record, alive: true });
      continue;
    }
    try {
      found.push({ file, record: readRecordFile(file), alive: false });
    } catch {
      rmSync(file, { force: true }); // unreadable: a write cut short; nothing to act on
    }
  }
  return found;
}

function readRecordFile(file: string): ChaosRecord {
  return JSON.parse(readFileSync(file, 'utf8')) as ChaosRecord;
}

/** This process's record; every change is written to disk at once. */
export class ChaosLedger {
  readonly file: string;
  private readonly record: ChaosRecord;

  constructor(config: LabConfig, script: string) {
    this.file = path.join(recordDir(config), `chaos-${process.pid}.json`);
    this.record = { pid: process.pid, marker: path.basename(process.argv[1] ?? 'cli.ts'), startedAt: new Date().toISOString(), script, toxics: [], disabled: [], stopped: [], relays: [] };
  }

  get empty(): boolean {
    const r = this.record;
    return r.toxics.length === 0 && r.disabled.length === 0 && !r.stopped?.length && !r.relays?.length;
  }

  /** A KAFKA_NODES=3 fault: whoever restarts what this process stopped must do it with the cluster's config. */
  markCluster(): void {
    this.record.kafkaNodes = 3;
    this.write();
  }

  addStopped(service: RestartableService): void {
    this.record.stopped = [...(this.record.stopped ?? []).filter((s) => s !== service), service];
    this.write();
  }

  forgetStopped(service: RestartableService): void {
    this.record.stopped = (this.record.stopped ?? []).filter((s) => s !== service);
    this.write();
  }

  addRelays(specs: ProcessSpec[]): void {
    this.record.relays = [...(this.record.relays ?? []), ...specs];
    this.write();
  }

  forgetRelay(spec: ProcessSpec): void {
    this.record.relays = (this.record.relays ?? []).filter((r) => r !== spec);
    this.write();
  }

  open(): void {
    mkdirSync(path.dirname(this.file), { recursive: true });
    this.write();
  }

  addToxic(proxy: ProxyName, name: string): void {
    this.record.toxics.push({ proxy, name });
    this.write();
  }

  forgetToxic(name: string): void {
    this.record.toxics = this.record.toxics.filter((t) => t.name !== name);
    this.write();
  }

  addDisabled(proxy: ProxyName): void {
    if (!this.record.disabled.includes(proxy)) this.record.disabled.push(proxy);
    this.write();
  }

  forgetDisabled(proxy: ProxyName): void {
    this.record.disabled = this.record.disabled.filter((p) => p !== proxy);
    this.write();
  }

  /** Deletes the record once everything in it was undone; keeps it (and says so) otherwise. */
  close(say: Say): void {
    if (this.empty) rmSync(this.file, { force: true });
    else say(`kept ${this.file}: some faults could not be undone; \`npm run chaos -- clear\` retries`);
  }

  private write(): void {
    // 0600: a killed relay's environment (DATABASE_URL with its password) is kept here until it is restarted.
    writeFileSync(this.file, JSON.stringify(this.record, null, 2), { mode: 0o600 });
  }
}

/**
 * Undoes what dead chaos processes left: the toxics and disabled proxies in their records, and any chaos_
 * toxic whose process has no live record. Live chaos processes are left alone.
 */
export async function sweepLeftovers(config: LabConfig, faults: ToxicHelper, say: Say): Promise<number> {
  let undone = 0;
  const records = readRecords(config);
  for (const { file, record } of records.filter((r) => !r.alive)) {
    const who = `left by chaos ${record.script} (pid ${record.pid}, no longer running)`;
    for (const t of record.toxics) {
      if (await faults.removeByName(t.proxy, t.name)) {
        say(`removed ${t.name} from the ${t.proxy} proxy, ${who}`);
        undone++;
      }
    }
    for (const p of record.disabled) {
      if (!(await faults.proxy(p)).enabled) {
        await faults.setEnabled(p, true);
        say(`re-enabled the ${p} proxy, ${who}`);
        undone++;
      }
    }
    undone += await restartWhatItStopped(config, record, who, say);
    rmSync(file, { force: true });
  }
  const livePids = new Set(records.filter((r) => r.alive).map((r) => r.record.pid));
  for (const proxy of await existingProxies(faults)) {
    for (const name of await faults.list(proxy)) {
      const pid = ownerPid(name);
      if (pid === undefined || livePids.has(pid)) continue;
      if (await faults.removeByName(proxy, name)) {
        say(`removed ${name} from the ${proxy} proxy, left by a chaos process (pid ${pid}) that is no longer running`);
        undone++;
      }
    }
  }
  return undone;
}

/** Starts again the stack services and relays a dead chaos process stopped; returns how many. */
export async function restartWhatItStopped(config: LabConfig, record: ChaosRecord, who: string, say: Say): Promise<number> {
  let n = 0;
  // A cluster node killed by kafka-leader-kill is started by a KAFKA_NODES=3 config, whatever this process's is.
  const clusterConfig = record.kafkaNodes === 3 && config.kafka.nodeCount !== 3 ? resolveConfig({ KAFKA_NODES: 3, STACK_DIR: config.stackDir, STACK_CACHE_DIR: config.cacheDir, TOXIPROXY_URL: config.toxiproxy.url }) : config;
  for (const service of record.stopped ?? []) {
    await startService(service, { config: service === 'kafka' ? clusterConfig : config, progress: (l) => say(l) });
    say(`started ${service} again, ${who}`);
    n++;
  }
  for (const spec of record.relays ?? []) {
    const { pid, logFile } = respawn(config, spec);
    say(`started a killed relay again (pid ${pid}, log ${logFile}), ${who}`);
    n++;
  }
  return n;
}

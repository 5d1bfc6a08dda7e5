/**
 * The soak's relay runs as a process of its own (so chaos can kill -9 it). It must not take the fixed
 * RELAY_PORT (9464), which belongs to `npm start`'s relay: the soak runs next to a running lab. Here it starts
 * for real on this file's migrated database, serves /metrics on a port of its own, and stops with the soak's
 * stopSoakRelays.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { migrateLab } from '@dual-write/schema';
import { isAlive, layout, pidListeningOn } from '@dual-write/stack';
import { useLab } from '@dual-write/testkit';
import { startSoakRelay, stopSoakRelays } from '../src/soak/relay-processes.ts';

const lab = useLab({ initSql: async (c) => void (await migrateLab(c)) });
let topic = '';
beforeAll(async () => {
  topic = await lab.topic('soak', 2);
});

const runIds: string[] = [];
afterEach(async () => {
  for (const id of runIds.splice(0)) await stopSoakRelays(id, 2000);
});

/** The relay's "relay started" log line (JSON, by pid) in STACK_DIR/logs/relay.log, where the soak's relays write. */
async function startedLine(logFile: string, pid: number, timeoutMs = 30_000): Promise<{ url?: string }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const line = readFileSync(logFile, 'utf8')
      .split('\n')
      .find((l) => l.includes(`"pid":${pid},`) && l.includes('"msg":"relay started"'));
    if (line) return JSON.parse(line) as { url?: string };
    if (!isAlive(pid)) throw new Error(`the soak relay (pid ${pid}) exited before it started:\n${readFileSync(logFile, 'utf8').split('\n').filter((l) => l.includes(`${pid}`)).join('\n')}`);
    if (Date.now() > deadline) throw new Error(`no "relay started" from pid ${pid} in ${logFile} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('the soak relay process', () => {
  it('serves /metrics on a free port, not on the fixed RELAY_PORT (9464), and stops with stopSoakRelays', async () => {
    const runId = `t${Date.now().toString(36)}`;
    runIds.push(runId);
    const relay = startSoakRelay(lab.config, { runId, databaseUrl: lab.db.url, topic });
    expect(relay.logFile).toBe(path.join(layout(lab.config).logs, 'relay.log'));
    const started = await startedLine(relay.logFile, relay.pid);
    expect(started.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const port = Number(new URL(started.url!).port);
    expect(port).not.toBe(lab.config.relay.port);
    expect(pidListeningOn(port)).toBe(relay.pid);
    expect(pidListeningOn(lab.config.relay.port)).not.toBe(relay.pid);
    expect((await fetch(`${started.url}/metrics`)).status).toBe(200);

    expect(await stopSoakRelays(runId, 10_000)).toBe(1);
    expect(isAlive(relay.pid)).toBe(false);
  });
});

/**
 * The settings of a 3-node stack of a test's own: its STACK_DIR (a fresh temporary folder), its Toxiproxy, the
 * three KRaft nodes' listeners, controllers and proxies, PostgreSQL and PgBouncer ports — all from freePort(),
 * never the running stack's. The stack's cache (jars, PostgreSQL and Toxiproxy binaries) is shared, so nothing is
 * downloaded again. Start it with the stack's functions, e.g. stackUp(resolveConfig(settings.env, {})).
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { resolveConfig, type SettingName } from '@dual-write/config';
import { freePort } from '@dual-write/stack';

export interface IsolatedClusterStack {
  /** Its STACK_DIR: remove it when done. */
  dir: string;
  env: Partial<Record<SettingName, string>>;
}

export async function isolatedClusterStack(prefix: string): Promise<IsolatedClusterStack> {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  const ports = new Set<number>();
  while (ports.size < 16) ports.add(await freePort());
  const p = [...ports];
  return {
    dir,
    env: {
      STACK_DIR: dir,
      STACK_CACHE_DIR: resolveConfig().cacheDir,
      KAFKA_NODES: '3',
      KAFKA_CLUSTER_BROKERS: p.slice(0, 3).map((x) => `127.0.0.1:${x}`).join(','),
      KAFKA_CLUSTER_CONTROLLER_PORTS: p.slice(3, 6).join(','),
      KAFKA_CLUSTER_PROXIED_LISTENER_PORTS: p.slice(6, 9).join(','),
      KAFKA_CLUSTER_PROXY_PORTS: p.slice(9, 12).join(','),
      TOXIPROXY_URL: `http://127.0.0.1:${p[12]}`,
      DATABASE_URL: `postgres://postgres:postgres@127.0.0.1:${p[13]}/dual_write`,
      POSTGRES_PROXY_PORT: String(p[14]),
      PGBOUNCER_PORT: String(p[15]),
      ORDERS_TOPIC_PARTITIONS: '3',
    },
  };
}

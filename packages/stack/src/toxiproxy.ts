/** The Toxiproxy server: built with `go install` into STACK_DIR/bin, started detached, with the `postgres` and `kafka` proxies. */
import { existsSync, mkdirSync, renameSync } from 'node:fs';
import path from 'node:path';
import { DwError, type LabConfig } from '@dual-write/config';
import type { Layout } from './layout.ts';
import { isListening, whoListensOn } from './net.ts';
import { runningFromPidFile, runToLog, startDetached, stopFromPidFile, tailFile } from './process.ts';
import { requireGo } from './prerequisites.ts';
import { waitUntilReady } from './wait.ts';
import type { Progress, ServiceStatus } from './types.ts';

export const TOXIPROXY_MODULE = 'github.com/Shopify/toxiproxy/v2/cmd/server';

export interface ProxySpec {
  /** `postgres`, `kafka` (the single node) or `kafka-1`…`kafka-3` (KAFKA_NODES=3: one per node). */
  name: string;
  listen: string;
  upstream: string;
}

/** The proxies every service goes through when VIA_PROXY=true: `postgres`, and `kafka` — or, with KAFKA_NODES=3, one per node. */
export function proxySpecs(config: LabConfig): ProxySpec[] {
  const postgres = { name: 'postgres', listen: `127.0.0.1:${config.database.proxyPort}`, upstream: `${config.database.upstream.host}:${config.database.upstream.port}` };
  if (config.kafka.nodeCount === 3) {
    return [
      postgres,
      ...config.kafka.nodes.map((n, i) => ({
        name: n.proxyName,
        listen: `127.0.0.1:${n.proxyPort}`,
        upstream: config.kafka.managed ? `127.0.0.1:${n.proxiedListenerPort}` : config.kafka.brokers[i % config.kafka.brokers.length]!,
      })),
    ];
  }
  const kafkaUpstream = config.kafka.managed ? `127.0.0.1:${config.kafka.proxiedListenerPort}` : config.kafka.brokers[0]!;
  return [postgres, { name: 'kafka', listen: `127.0.0.1:${config.kafka.proxyPort}`, upstream: kafkaUpstream }];
}

/** The setting that chooses a proxy's port (for DW_PORT_TAKEN's hint). */
function proxyPortSetting(name: string): string {
  return name === 'postgres' ? 'POSTGRES_PROXY_PORT' : name === 'kafka' ? 'KAFKA_PROXY_PORT' : 'KAFKA_CLUSTER_PROXY_PORTS';
}

async function api(config: LabConfig, method: string, route: string, body?: unknown): Promise<unknown> {
  const res = await fetch(`${config.toxiproxy.url}${route}`, {
    method,
    headers: body ? { 'content-type': 'application/json' } : undefined,
    body: body ? JSON.stringify(body) : undefined,
    signal: AbortSignal.timeout(5000),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`Toxiproxy ${method} ${route} → ${res.status}: ${text}`);
  return text ? JSON.parse(text) : undefined;
}

export async function toxiproxyVersion(config: LabConfig): Promise<string | undefined> {
  try {
    const res = await fetch(`${config.toxiproxy.url}/version`, { signal: AbortSignal.timeout(1000) });
    if (!res.ok) return undefined;
    const text = (await res.text()).trim();
    try {
      const parsed = JSON.parse(text) as { version?: string };
      return parsed.version ?? text;
    } catch {
      return text;
    }
  } catch {
    return undefined;
  }
}

/** Builds the pinned Toxiproxy server once; later calls reuse the binary. */
export async function ensureToxiproxyBinary(config: LabConfig, paths: Layout, progress: Progress): Promise<string> {
  if (existsSync(paths.toxiproxyBinary)) return paths.toxiproxyBinary;
  requireGo();
  const buildDir = path.join(paths.bin, `.build-${process.pid}`);
  mkdirSync(buildDir, { recursive: true });
  progress(`toxiproxy: go install ${TOXIPROXY_MODULE}@${config.toxiproxy.version} (first run only)…`);
  const logFile = paths.logFile('toxiproxy-install');
  const code = await runToLog('go', ['install', `-ldflags=-X github.com/Shopify/toxiproxy/v2.Version=${config.toxiproxy.version}`, `${TOXIPROXY_MODULE}@${config.toxiproxy.version}`], logFile, {
    env: { ...process.env, GOBIN: buildDir, CGO_ENABLED: '0', GOFLAGS: '-mod=mod' },
  });
  if (code !== 0) {
    throw new DwError('DW_DOWNLOAD_FAILED', `go install ${TOXIPROXY_MODULE}@${config.toxiproxy.version} failed (exit ${code}). Last lines:\n${tailFile(logFile, 15)}`, 'Check that the Go module proxy is reachable (`go env GOPROXY`) and TOXIPROXY_VERSION names a released version; or run a Toxiproxy server yourself and set TOXIPROXY_URL.');
  }
  renameSync(path.join(buildDir, 'server'), paths.toxiproxyBinary);
  return paths.toxiproxyBinary;
}

export async function ensureProxies(config: LabConfig, progress: Progress): Promise<void> {
  const existing = (await api(config, 'GET', '/proxies')) as Record<string, { enabled: boolean; listen: string; upstream: string }>;
  for (const spec of proxySpecs(config)) {
    const have = existing[spec.name];
    if (!have) {
      await api(config, 'POST', '/proxies', { ...spec, enabled: true });
      progress(`toxiproxy: proxy ${spec.name} ${spec.listen} → ${spec.upstream}`);
    } else if (!have.enabled) {
      // A disabled proxy is a fault someone put in place (a test, a chaos script): not ours to undo.
      progress(`toxiproxy: proxy ${spec.name} is disabled (a fault is in place) — left as it is`);
    }
  }
}

export async function startToxiproxy(config: LabConfig, paths: Layout, progress: Progress): Promise<void> {
  const version = await toxiproxyVersion(config);
  const ours = runningFromPidFile(paths.pidFile('toxiproxy'));
  if (version) {
    progress(`toxiproxy: ${ours ? `already running (pid ${ours.pid})` : 'reusing the server that answers'} at ${config.toxiproxy.url} (version ${version})`);
  } else {
    if (ours) await stopFromPidFile(paths.pidFile('toxiproxy'));
    if (await isListening(config.toxiproxy.host, config.toxiproxy.port)) {
      throw portTaken('Toxiproxy API', config.toxiproxy.port, 'TOXIPROXY_URL');
    }
    const binary = await ensureToxiproxyBinary(config, paths, progress);
    const rec = startDetached({
      command: binary,
      args: ['-host', config.toxiproxy.host, '-port', String(config.toxiproxy.port)],
      logFile: paths.logFile('toxiproxy'),
      pidFile: paths.pidFile('toxiproxy'),
      marker: 'toxiproxy-server',
    });
    await waitUntilReady({
      service: 'toxiproxy',
      probe: async () => (await toxiproxyVersion(config)) !== undefined,
      timeoutMs: config.readyTimeoutMs,
      logFile: paths.logFile('toxiproxy'),
      stillRunning: () => runningFromPidFile(paths.pidFile('toxiproxy'))?.pid === rec.pid,
    });
    progress(`toxiproxy: started (pid ${rec.pid}) at ${config.toxiproxy.url}`);
  }
  for (const spec of proxySpecs(config)) {
    const [host, port] = spec.listen.split(':');
    const existing = (await api(config, 'GET', '/proxies')) as Record<string, unknown>;
    if (!existing[spec.name] && (await isListening(host!, Number(port)))) {
      throw portTaken(`the ${spec.name} proxy`, Number(port), proxyPortSetting(spec.name));
    }
  }
  await ensureProxies(config, progress);
}

export function portTaken(what: string, port: number, setting: string): DwError {
  const who = whoListensOn(port);
  return new DwError('DW_PORT_TAKEN', `Port ${port}, needed for ${what}, is taken${who ? ` by ${who}` : ' by another program'}.`, `Stop that program, or choose another port with ${setting}=<port>.`);
}

export async function toxiproxyStatus(config: LabConfig, paths: Layout): Promise<ServiceStatus> {
  const ours = runningFromPidFile(paths.pidFile('toxiproxy'));
  const version = await toxiproxyVersion(config);
  const listens = [`api ${config.toxiproxy.url}`, ...proxySpecs(config).map((p) => `proxy ${p.name} ${p.listen} → ${p.upstream}`)];
  return {
    name: 'toxiproxy',
    state: version ? (ours ? 'running' : 'external') : 'stopped',
    pid: ours?.pid,
    version,
    listens,
  };
}

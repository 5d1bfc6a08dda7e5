/** docker-compose.yml cannot run here; this keeps its ports, proxies and env names in step with the stack's config. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { findRepoRoot, resolveConfig, SETTINGS } from '@dual-write/config';
import { layout, POSTGRES_SETTINGS, proxySpecs, serverProperties } from '../src/index.ts';

const root = findRepoRoot();
const compose = parse(readFileSync(path.join(root, 'docker-compose.yml'), 'utf8')) as {
  'x-dual-write-env': Record<string, string>;
  services: Record<string, { ports: string[]; environment: Record<string, string>; command?: string[] }>;
};
const proxiesFile = JSON.parse(readFileSync(path.join(root, 'chaos', 'toxiproxy.json'), 'utf8')) as { name: string; listen: string; upstream: string }[];
const config = resolveConfig({}, {});
const hostPorts = (svc: string) => compose.services[svc]!.ports.map((p) => Number(p.split(':')[0]));
const portOf = (hostPort: string) => Number(hostPort.split(':').pop());

describe('docker-compose.yml matches the stack', () => {
  it('declares only env names the services know, with the stack’s defaults', () => {
    for (const [name, value] of Object.entries(compose['x-dual-write-env'])) {
      expect(Object.keys(SETTINGS), `${name} is not a known setting`).toContain(name);
      expect(value, name).toBe(SETTINGS[name as keyof typeof SETTINGS].default);
    }
  });

  it('starts PostgreSQL with the stack’s server settings (commit times for the auditor, logical decoding, …)', () => {
    const command = compose.services.postgres!.command ?? [];
    const settings = command.flatMap((arg, i) => (command[i - 1] === '-c' ? [arg] : []));
    expect(settings).toEqual([...POSTGRES_SETTINGS]);
  });

  it('publishes PostgreSQL on DATABASE_URL’s port with its credentials and database', () => {
    const url = new URL(config.database.url);
    expect(hostPorts('postgres')).toEqual([config.database.upstream.port]);
    const env = compose.services.postgres!.environment;
    expect([env.POSTGRES_USER, env.POSTGRES_PASSWORD, env.POSTGRES_DB]).toEqual([url.username, url.password, config.database.name]);
  });

  it('runs Kafka with the same listeners, advertised addresses and broker settings as the managed broker', () => {
    expect(hostPorts('kafka')).toEqual([Number(config.kafka.brokers[0]!.split(':')[1])]);
    const env = compose.services.kafka!.environment;
    const props = Object.fromEntries(
      serverProperties(config, layout(config)).split('\n').filter(Boolean).map((l) => l.split(/=(.*)/s).slice(0, 2) as [string, string]),
    );
    const envName = (key: string) => `KAFKA_${key.replace(/\./g, '_').toUpperCase()}`;
    // Settings that must be identical.
    for (const key of Object.keys(props).filter((k) => !['log.dirs', 'listeners', 'controller.quorum.voters', 'node.id', 'process.roles'].includes(k))) {
      expect(env[envName(key)], `${envName(key)} (${key})`).toBe(props[key]);
    }
    // Listeners: same names and ports (hosts differ inside a container).
    const ports = (v: string) => v.split(',').map((l) => l.replace(/\/\/.*:/, '//:'));
    expect(ports(env.KAFKA_LISTENERS!)).toEqual(ports(props.listeners!));
    expect(env.KAFKA_NODE_ID).toBe(props['node.id']);
    expect(env.KAFKA_PROCESS_ROLES).toBe(props['process.roles']);
  });

  it('runs Toxiproxy on TOXIPROXY_URL’s port with the `postgres` and `kafka` proxies on the stack’s ports', () => {
    const specs = proxySpecs(config);
    expect(hostPorts('toxiproxy').sort()).toEqual([config.toxiproxy.port, ...specs.map((s) => portOf(s.listen))].sort());
    expect(proxiesFile.map((p) => [p.name, portOf(p.listen)])).toEqual(specs.map((s) => [s.name, portOf(s.listen)]));
    expect(proxiesFile.find((p) => p.name === 'kafka')!.upstream).toBe(`kafka:${config.kafka.proxiedListenerPort}`);
    expect(proxiesFile.find((p) => p.name === 'postgres')!.upstream).toBe('postgres:5432');
    expect(compose.services.toxiproxy!.command).toContain('-config=/config/toxiproxy.json');
  });
});

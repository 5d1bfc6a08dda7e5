/** docker-compose.yml cannot run here; this keeps its ports, proxies and env names in step with the stack's config. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { findRepoRoot, resolveConfig, SETTINGS } from '@dual-write/config';
import { CLUSTER_NODE_HEAP, clusterNodeProperties, layout, POSTGRES_SETTINGS, proxySpecs, serverProperties } from '../src/index.ts';

const root = findRepoRoot();
const compose = parse(readFileSync(path.join(root, 'docker-compose.yml'), 'utf8')) as {
  'x-dual-write-env': Record<string, string>;
  services: Record<string, { ports: string[]; environment: Record<string, string>; command?: string[]; profiles?: string[] }>;
};
const proxiesFile = JSON.parse(readFileSync(path.join(root, 'chaos', 'toxiproxy.json'), 'utf8')) as { name: string; listen: string; upstream: string }[];
const config = resolveConfig({}, {});
const cluster = resolveConfig({ KAFKA_NODES: 3 }, {});
const propsOf = (text: string) => Object.fromEntries(text.split('\n').filter(Boolean).map((l) => l.split(/=(.*)/s).slice(0, 2) as [string, string]));
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

  it('runs Toxiproxy on TOXIPROXY_URL’s port with the `postgres` and `kafka` proxies — and the cluster’s kafka-1..3 — on the stack’s ports', () => {
    const specs = [...proxySpecs(config), ...proxySpecs(cluster).filter((s) => s.name !== 'postgres')];
    expect(hostPorts('toxiproxy').sort()).toEqual([config.toxiproxy.port, ...specs.map((s) => portOf(s.listen))].sort());
    expect(proxiesFile.map((p) => [p.name, portOf(p.listen)])).toEqual(specs.map((s) => [s.name, portOf(s.listen)]));
    for (const n of cluster.kafka.nodes) expect(proxiesFile.find((p) => p.name === n.proxyName)!.upstream).toBe(`kafka-${n.id}:${n.proxiedListenerPort}`);
    expect(proxiesFile.find((p) => p.name === 'kafka')!.upstream).toBe(`kafka:${config.kafka.proxiedListenerPort}`);
    expect(proxiesFile.find((p) => p.name === 'postgres')!.upstream).toBe('postgres:5432');
    expect(compose.services.toxiproxy!.command).toContain('-config=/config/toxiproxy.json');
  });

  it('has a `cluster` profile with the three nodes of KAFKA_NODES=3: same ports, quorum, advertised proxies and broker settings', () => {
    const ids = new Set<string>();
    for (const node of cluster.kafka.nodes) {
      const svc = compose.services[`kafka-${node.id}`]!;
      expect(svc.profiles).toEqual(['cluster']);
      expect(hostPorts(`kafka-${node.id}`)).toEqual([node.directPort]);
      const env = svc.environment;
      ids.add(env.CLUSTER_ID!);
      expect(env.KAFKA_HEAP_OPTS).toContain(`-Xmx${CLUSTER_NODE_HEAP}`);
      const props = propsOf(clusterNodeProperties(cluster, layout(cluster), node));
      const envName = (key: string) => `KAFKA_${key.replace(/\./g, '_').toUpperCase()}`;
      // Inside containers the brokers replicate over an INTERNAL listener (they cannot reach each other on
      // 127.0.0.1); every other setting is identical.
      const differ = ['log.dirs', 'listeners', 'advertised.listeners', 'listener.security.protocol.map', 'inter.broker.listener.name', 'controller.quorum.voters', 'node.id', 'process.roles'];
      for (const key of Object.keys(props).filter((k) => !differ.includes(k))) expect(env[envName(key)], `kafka-${node.id} ${envName(key)}`).toBe(props[key]);
      expect(env.KAFKA_NODE_ID).toBe(props['node.id']);
      expect(env.KAFKA_PROCESS_ROLES).toBe(props['process.roles']);
      const ports = (v: string) => v.split(',').filter((l) => !l.startsWith('INTERNAL:')).map((l) => l.replace(/\/\/.*:/, '//:'));
      expect(ports(env.KAFKA_LISTENERS!)).toEqual(ports(props.listeners!));
      // Clients get the same addresses: the direct listener, and the node's own proxy on the proxied one.
      expect(env.KAFKA_ADVERTISED_LISTENERS!.split(',').filter((l) => !l.startsWith('INTERNAL:')).join(',')).toBe(props['advertised.listeners']);
      expect(env.KAFKA_LISTENER_SECURITY_PROTOCOL_MAP).toBe(`${props['listener.security.protocol.map']},INTERNAL:PLAINTEXT`);
      expect(env.KAFKA_INTER_BROKER_LISTENER_NAME).toBe('INTERNAL');
      // The same 3-voter quorum: ids and controller ports (hosts differ).
      const voters = (v: string) => v.split(',').map((x) => x.replace(/@.*:/, '@:'));
      expect(voters(env.KAFKA_CONTROLLER_QUORUM_VOTERS!)).toEqual(voters(props['controller.quorum.voters']!));
    }
    expect(ids.size).toBe(1);
    expect(compose.services.kafka!.profiles).toBeUndefined(); // the single node stays the default
  });
});

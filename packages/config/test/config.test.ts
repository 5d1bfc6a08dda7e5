import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DwError, ERROR_CODES, findRepoRoot, resolveConfig, SETTINGS } from '../src/index.ts';

const env = {}; // an empty environment: defaults only

describe('resolveConfig', () => {
  it('uses defaults when nothing is given, and routes services through the proxies', () => {
    const c = resolveConfig({}, env);
    expect(c.database.managed).toBe(true);
    expect(c.kafka.managed).toBe(true);
    expect(c.database.url).toBe('postgres://postgres:postgres@127.0.0.1:15432/dual_write');
    expect(c.database.appUrl).toBe('postgres://postgres:postgres@127.0.0.1:15433/dual_write');
    expect(c.kafka.brokers).toEqual(['127.0.0.1:19092']);
    expect(c.kafka.appBrokers).toEqual(['127.0.0.1:29092']);
    expect(c.topics.orders).toEqual({ name: 'orders', partitions: 6 });
    expect(c.stackDir).toBe(path.join(findRepoRoot(), '.stack'));
    expect(c.cacheDir).toBe(path.join(findRepoRoot(), '.stack', 'cache'));
  });

  it('lets env win over defaults and explicit options win over env', () => {
    const e = { ORDERS_TOPIC_PARTITIONS: '3', PORT: '4000' };
    expect(resolveConfig({}, e).topics.orders.partitions).toBe(3);
    expect(resolveConfig({ ORDERS_TOPIC_PARTITIONS: 12 }, e).topics.orders.partitions).toBe(12);
    expect(resolveConfig({}, e).orderService.port).toBe(4000);
  });

  it('treats a given DATABASE_URL / KAFKA_BROKERS as the user’s own services (not started by the stack)', () => {
    const c = resolveConfig({}, { DATABASE_URL: 'postgres://u:p@db.example:5433/shop', KAFKA_BROKERS: 'k1:9092,k2:9092' });
    expect(c.database.managed).toBe(false);
    expect(c.kafka.managed).toBe(false);
    expect(c.database.upstream).toEqual({ host: 'db.example', port: 5433 });
    expect(c.database.appUrl).toBe('postgres://u:p@127.0.0.1:15433/shop');
    expect(c.kafka.brokers).toEqual(['k1:9092', 'k2:9092']);
    const forced = resolveConfig({ POSTGRES_MANAGED: 'true' }, { DATABASE_URL: 'postgres://u:p@127.0.0.1:55432/x' });
    expect(forced.database.managed).toBe(true);
  });

  it('connects services directly when VIA_PROXY=false', () => {
    const c = resolveConfig({ VIA_PROXY: 'false' }, env);
    expect(c.database.appUrl).toBe(c.database.url);
    expect(c.kafka.appBrokers).toEqual(c.kafka.brokers);
  });

  it.each([
    ['PORT', 'abc', /PORT="abc" is not valid: expected a port number/],
    ['PORT', '70000', /expected a port number from 1 to 65535/],
    ['DATABASE_URL', 'mysql://x@y/z', /expected a postgres:\/\/ URL/],
    ['DATABASE_URL', 'not a url', /expected a URL like postgres:\/\//],
    ['KAFKA_BROKERS', 'localhost', /expected host:port/],
    ['VIA_PROXY', 'maybe', /expected true or false/],
    ['ORDERS_TOPIC_PARTITIONS', '0', /a whole number greater than 0/],
    ['ORDERS_TOPIC', 'bad topic!', /a Kafka topic name/],
    ['TOXIPROXY_URL', 'ftp://x', /an http:\/\/ URL/],
  ])('rejects %s=%s with an error naming the setting and the fix', (name, value, message) => {
    let err: unknown;
    try {
      resolveConfig({}, { [name]: value });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DwError);
    expect((err as DwError).code).toBe('DW_CONFIG_INVALID');
    expect((err as DwError).message).toMatch(message);
    expect((err as DwError).hint).toContain(name);
  });

  it('rejects an unknown explicit option and lists the known ones', () => {
    expect(() => resolveConfig({ DATABSE_URL: 'x' } as never, env)).toThrowError(/Unknown option "DATABSE_URL"/);
    try {
      resolveConfig({ DATABSE_URL: 'x' } as never, env);
    } catch (e) {
      expect((e as DwError).code).toBe('DW_CONFIG_UNKNOWN_OPTION');
      expect((e as DwError).hint).toContain('DATABASE_URL');
    }
  });
});

describe('KAFKA_NODES', () => {
  it('is 1 by default: one node on the single-broker ports, behind the `kafka` proxy', () => {
    const c = resolveConfig({}, env);
    expect(c.kafka.nodeCount).toBe(1);
    expect(c.kafka.nodes).toEqual([{ id: 1, directPort: 19092, controllerPort: 19093, proxiedListenerPort: 19094, proxyName: 'kafka', proxyPort: 29092 }]);
  });

  it('3: three nodes on the KAFKA_CLUSTER_* ports, each behind its own proxy; their direct listeners are the broker list', () => {
    const c = resolveConfig({}, { KAFKA_NODES: '3' });
    expect(c.kafka.nodeCount).toBe(3);
    expect(c.kafka.nodes.map((n) => [n.id, n.directPort, n.controllerPort, n.proxiedListenerPort, n.proxyName, n.proxyPort])).toEqual([
      [1, 19102, 19105, 19108, 'kafka-1', 29102],
      [2, 19103, 19106, 19109, 'kafka-2', 29103],
      [3, 19104, 19107, 19110, 'kafka-3', 29104],
    ]);
    expect(c.kafka.brokers).toEqual(['127.0.0.1:19102', '127.0.0.1:19103', '127.0.0.1:19104']);
    expect(c.kafka.appBrokers).toEqual(['127.0.0.1:29102', '127.0.0.1:29103', '127.0.0.1:29104']);
    expect(resolveConfig({}, { KAFKA_NODES: '3', VIA_PROXY: 'false' }).kafka.appBrokers).toEqual(c.kafka.brokers);
    // The cluster's ports are outside the ephemeral range and clear of the single node's.
    const ports = c.kafka.nodes.flatMap((n) => [n.directPort, n.controllerPort, n.proxiedListenerPort, n.proxyPort]);
    for (const p of ports) expect(p < 32768 && ![19092, 19093, 19094, 29092].includes(p), String(p)).toBe(true);
  });

  it('refuses anything but 1 or 3, naming the setting and the fix', () => {
    for (const bad of ['2', '0', '5', 'three']) {
      let err: unknown;
      try {
        resolveConfig({}, { KAFKA_NODES: bad });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(DwError);
      expect((err as DwError).code).toBe('DW_CONFIG_INVALID');
      expect((err as DwError).message).toContain(`KAFKA_NODES=${JSON.stringify(bad)}`);
      expect((err as DwError).hint).toContain('KAFKA_NODES=3');
    }
  });

  it('refuses a cluster port list that is not three ports, or a port given twice', () => {
    expect(() => resolveConfig({}, { KAFKA_NODES: '3', KAFKA_CLUSTER_PROXY_PORTS: '29102,29103' })).toThrow(/KAFKA_CLUSTER_PROXY_PORTS.*three ports/);
    expect(() => resolveConfig({}, { KAFKA_NODES: '3', KAFKA_CLUSTER_CONTROLLER_PORTS: '19102,19106,19107' })).toThrow(/Port 19102 is given twice/);
  });
});

describe('documentation stays in step with the code', () => {
  const root = findRepoRoot();
  it('documents every error code in docs/errors.md', () => {
    const doc = readFileSync(path.join(root, 'docs', 'errors.md'), 'utf8');
    const missing = Object.keys(ERROR_CODES).filter((code) => !doc.includes(`\`${code}\``));
    expect(missing).toEqual([]);
  });

  it('lists every setting in the README configuration table', () => {
    const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
    const missing = Object.keys(SETTINGS).filter((name) => !readme.includes(`\`${name}\``));
    expect(missing).toEqual([]);
  });
});

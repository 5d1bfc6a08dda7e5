/** A run's own database and topic, recreated each time, and clean proxies to start from. */
import { Kafka, logLevel } from 'kafkajs';
import pg from 'pg';
import { withDatabase, type LabConfig } from '@dual-write/config';
import { ToxicHelper, type ProxyName } from '@dual-write/faults';
import { topicSettings } from '@dual-write/stack';

/** A run that was killed mid-scenario could not undo its toxic: start from clean proxies. */
export async function clearLeftoverFaults(config: LabConfig): Promise<string[]> {
  const faults = new ToxicHelper(config.toxiproxy.url);
  const found: string[] = [];
  // The postgres proxy and the Kafka proxies of this stack: `kafka`, or kafka-1..3 on the cluster (KAFKA_NODES=3).
  for (const proxy of ['postgres', ...config.kafka.nodes.map((n) => n.proxyName)] as ProxyName[]) {
    for (const name of await faults.list(proxy)) found.push(`${proxy}/${name}`);
    if (!(await faults.proxy(proxy)).enabled) found.push(`${proxy} (disabled)`);
  }
  if (found.length) await faults.client.reset();
  return found;
}

/** Drops and creates `database`, deletes and creates `topic` (on the cluster: replication factor 3, min.insync.replicas 2): each run starts from nothing. */
export async function recreateDatabaseAndTopic(config: LabConfig, database: string, topic: string): Promise<void> {
  const admin = new pg.Client({ connectionString: withDatabase(config.database.url, 'postgres') });
  await admin.connect();
  try {
    await admin.query(`drop database if exists "${database}" with (force)`);
    await admin.query(`create database "${database}"`);
  } finally {
    await admin.end();
  }
  const kafkaAdmin = new Kafka({ clientId: 'test-scenario', brokers: config.kafka.brokers, logLevel: logLevel.NOTHING }).admin();
  await kafkaAdmin.connect();
  try {
    if ((await kafkaAdmin.listTopics()).includes(topic)) {
      await kafkaAdmin.deleteTopics({ topics: [topic] });
      // Deletion is asynchronous: wait until the name is free before creating it again.
      for (let i = 0; i < 100 && (await kafkaAdmin.listTopics()).includes(topic); i++) await new Promise((r) => setTimeout(r, 100));
    }
    await kafkaAdmin.createTopics({ topics: [{ topic, numPartitions: config.topics.orders.partitions, ...topicSettings(config) }], waitForLeaders: true });
  } finally {
    await kafkaAdmin.disconnect();
  }
}

/** Best effort: drops `database` and deletes `topic`; resolves to what could not be removed (undefined when all went). */
export async function dropDatabaseAndTopic(config: LabConfig, database: string, topic: string): Promise<string | undefined> {
  const problems: string[] = [];
  const admin = new pg.Client({ connectionString: withDatabase(config.database.url, 'postgres') });
  try {
    await admin.connect();
    await admin.query(`drop database if exists "${database}" with (force)`);
  } catch (err) {
    problems.push(`database ${database}: ${(err as Error).message}`);
  } finally {
    await admin.end().catch(() => {});
  }
  const kafkaAdmin = new Kafka({ clientId: 'scratch', brokers: config.kafka.brokers, logLevel: logLevel.NOTHING }).admin();
  try {
    await kafkaAdmin.connect();
    if ((await kafkaAdmin.listTopics()).includes(topic)) await kafkaAdmin.deleteTopics({ topics: [topic] });
  } catch (err) {
    problems.push(`topic ${topic}: ${(err as Error).message}`);
  } finally {
    await kafkaAdmin.disconnect().catch(() => {});
  }
  return problems.length ? `could not drop the scratch ${problems.join('; ')}` : undefined;
}

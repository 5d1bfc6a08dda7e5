/**
 * The store/publisher pairs the conformance suite (this folder) runs against. `npm test` runs it against the
 * pair named by RELAY_PAIR, default `postgres+kafkajs`:
 *
 *   RELAY_PAIR=postgres+kafkajs npx vitest run packages/relay/test/conformance
 *
 * To add a database or a Kafka client: implement RelayStore / RelayPublisher (src/seams.ts), register the pair
 * here, and run the suite with its name. A pair also names two store variants broken on purpose, for the negative
 * controls: one that ignores the visibility rule (gap-safety: it publishes past an open transaction of the same
 * key), one that holds everything back behind the cluster's oldest open transaction (long-transaction).
 */
import type { OutboxRow } from '@dual-write/outbox';
import { CONFLUENT_INSTALL, confluentInstalled, confluentPublisher, kafkajsPublisher, platformaticPublisher, postgresStore, SLOT_SQL, type RelayPublisherFactory, type RelayStore, type RelayStoreFactory } from '../../src/index.ts';

export interface RelayPair {
  name: string;
  store: RelayStoreFactory;
  publisher: RelayPublisherFactory;
  /** The store with its visibility rule removed (negative control only). */
  storeWithoutVisibilityRule: RelayStoreFactory;
  /** The store holding back every row behind the oldest open transaction of the cluster, as earlier versions did (negative control only). */
  storeWithClusterWideHorizon: RelayStoreFactory;
}

/** The PostgreSQL store with its read replaced by `select … from outbox o where <where> order by <order>` (slot filter kept). */
function postgresWithRead(where: string, order: string): RelayStoreFactory {
  return (ctx) =>
    wrapStore(postgresStore(ctx), (store) => ({
      async fetchBatch(slots, owned, limit) {
        if (owned.length === 0) return [];
        const pool = (store as unknown as { pool: import('pg').Pool }).pool;
        const { rows } = await pool.query<OutboxRow>(
          `select o.id, o.aggregatetype, o.aggregateid, o.type, null::jsonb as payload, o.payload::text as payload_text, o.headers, o.created_at, o.position::text as position,
                  o.transaction_id::text as transaction_id, o.attempts, o.last_error, o.next_attempt_at
           from ${ctx.options.tables.outbox} o where ${where} and ${SLOT_SQL} = any($2::int[]) order by ${order} limit $3`,
          [slots, owned, limit],
        );
        return rows;
      },
    }));
}

/** The PostgreSQL store whose read ignores the key locks: it publishes past an open transaction of the same key. */
const postgresWithoutVisibilityRule = postgresWithRead('true', 'o.position');

/**
 * The PostgreSQL store with the visibility rule of earlier versions: only rows below the oldest transaction running
 * anywhere in the cluster (pg_snapshot_xmin) — so any open transaction, in any database, holds back everything.
 */
const postgresWithClusterWideHorizon = postgresWithRead('o.transaction_id < pg_snapshot_xmin(pg_current_snapshot())', 'o.transaction_id, o.position');

export const PAIRS: readonly RelayPair[] = [
  { name: 'postgres+kafkajs', store: postgresStore, publisher: kafkajsPublisher, storeWithoutVisibilityRule: postgresWithoutVisibilityRule, storeWithClusterWideHorizon: postgresWithClusterWideHorizon },
  { name: 'postgres+platformatic', store: postgresStore, publisher: platformaticPublisher, storeWithoutVisibilityRule: postgresWithoutVisibilityRule, storeWithClusterWideHorizon: postgresWithClusterWideHorizon },
  // @confluentinc/kafka-javascript is built from source and never a workspace dependency: listed only once installed.
  ...(confluentInstalled()
    ? [{ name: 'postgres+confluent', store: postgresStore, publisher: confluentPublisher, storeWithoutVisibilityRule: postgresWithoutVisibilityRule, storeWithClusterWideHorizon: postgresWithClusterWideHorizon }]
    : []),
];

/** Pairs whose client is optional and not installed: RELAY_PAIR naming one says how to install it. */
const NOT_INSTALLED: Readonly<Record<string, string>> = confluentInstalled() ? {} : { 'postgres+confluent': `@confluentinc/kafka-javascript is not installed: run \`${CONFLUENT_INSTALL}\` first (it builds librdkafka, ≈2 min)` };

/** The pair RELAY_PAIR names (default the first). */
export function activePair(): RelayPair {
  const name = process.env.RELAY_PAIR ?? PAIRS[0]!.name;
  const pair = PAIRS.find((p) => p.name === name);
  if (!pair && NOT_INSTALLED[name]) throw new Error(`RELAY_PAIR=${name}: ${NOT_INSTALLED[name]}`);
  if (!pair) throw new Error(`RELAY_PAIR=${name} is not registered in test/conformance/pairs.ts; known: ${PAIRS.map((p) => p.name).join(', ')}`);
  return pair;
}

/**
 * A store whose methods are replaced by `override(store)`'s, the rest delegated — for broken variants in
 * negative controls. Methods are bound to the inner store, so the variant keeps its connections and state.
 */
export function wrapStore(store: RelayStore, override: (inner: RelayStore) => Partial<RelayStore>): RelayStore {
  const replaced = override(store);
  return new Proxy(store, {
    get(target, prop, receiver) {
      if (prop in replaced) return replaced[prop as keyof RelayStore];
      const value = Reflect.get(target, prop, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

/** `factory`'s store with some methods replaced (see wrapStore). */
export function brokenStore(factory: RelayStoreFactory, override: (inner: RelayStore) => Partial<RelayStore>): RelayStoreFactory {
  return (ctx) => wrapStore(factory(ctx), override);
}

/**
 * @confluentinc/kafka-javascript (librdkafka, a native addon) — an optional client the relay never depends on: it
 * builds from source (≈1-2 min, ≈300 MB), so neither the lockfile nor CI ever needs it. It is found on the normal
 * module path (an application's own `npm install @confluentinc/kafka-javascript`), else in this repository's
 * git-ignored `.stack/optional-clients/` (`npm run optional-clients -- install confluent`), searched upwards from the
 * working directory and from this file.
 *
 * Only the few parts the relay and the benchmark use are typed here (structurally): typecheck and lint pass
 * without the package installed.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { RelayError } from '../../errors.ts';

export const CONFLUENT_PACKAGE = '@confluentinc/kafka-javascript';
/** The command that installs it in this repository (scripts/optional-clients.mjs). */
export const CONFLUENT_INSTALL = 'npm run optional-clients -- install confluent';
/** Where that command installs it, relative to the repository root. */
export const OPTIONAL_CLIENTS_DIR = path.join('.stack', 'optional-clients');

/** A librdkafka error as the client raises it (lib/error.js LibrdKafkaError). */
export interface ConfluentError extends Error {
  /** librdkafka's code: Kafka's own error code when > 0, a local error when < 0 (ERR__…). */
  code: number;
  origin?: string;
  isFatal?: boolean;
  isRetriable?: boolean;
}

export interface ConfluentDeliveryReport {
  topic: string;
  partition: number;
  offset: number;
  opaque?: unknown;
}

export interface ConfluentMetadata {
  topics: { name: string; partitions: { id: number }[] }[];
}

/** The node-rdkafka style producer (lib/producer.js). */
export interface ConfluentProducer {
  connect(metadataOptions: { timeout?: number } | null, cb: (err: ConfluentError | null | undefined) => void): unknown;
  on(event: 'delivery-report', cb: (err: ConfluentError | null | undefined, report: ConfluentDeliveryReport) => void): unknown;
  on(event: 'event.error', cb: (err: ConfluentError) => void): unknown;
  produce(topic: string, partition: number, value: Buffer, key: string | Buffer, timestamp: number, opaque: unknown, headers: Record<string, string | Buffer>[]): unknown;
  setPollInBackground(set: boolean): unknown;
  getMetadata(opts: { topic?: string; timeout?: number }, cb: (err: ConfluentError | null | undefined, metadata: ConfluentMetadata) => void): void;
  flush(timeout: number, cb: (err: ConfluentError | null | undefined) => void): unknown;
  disconnect(timeout: number, cb: (err: unknown) => void): unknown;
  isConnected(): boolean;
}

export interface ConfluentModule {
  Producer: new (conf: Record<string, unknown>, topicConf?: Record<string, unknown>) => ConfluentProducer;
  CODES: { ERRORS: Record<string, number> };
  librdkafkaVersion: string;
}

/** `.stack/optional-clients` folders in `start` and its parents. */
function optionalClientDirs(start: string): string[] {
  const dirs: string[] = [];
  for (let dir = path.resolve(start); ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, OPTIONAL_CLIENTS_DIR);
    if (existsSync(path.join(candidate, 'node_modules', CONFLUENT_PACKAGE, 'package.json'))) dirs.push(candidate);
    if (path.dirname(dir) === dir) return dirs;
  }
}

/** Where the client would be loaded from, or undefined when it is not installed (nothing is loaded). */
export function resolveConfluent(): string | undefined {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const bases = [path.join(here, 'x.js'), ...[...optionalClientDirs(process.cwd()), ...optionalClientDirs(here)].map((d) => path.join(d, 'package.json'))];
  for (const base of bases) {
    try {
      return createRequire(base).resolve(CONFLUENT_PACKAGE);
    } catch {
      // not there
    }
  }
  return undefined;
}

/** True when @confluentinc/kafka-javascript can be loaded (installed and built). */
export function confluentInstalled(): boolean {
  return resolveConfluent() !== undefined;
}

let loaded: ConfluentModule | undefined;

/** Loads the client (once); DW_RELAY_INVALID_OPTION with the install command when it is not installed. */
export function loadConfluent(): ConfluentModule {
  if (loaded) return loaded;
  const file = resolveConfluent();
  if (!file) {
    throw new RelayError(
      'DW_RELAY_INVALID_OPTION',
      `The confluent publisher needs the package ${CONFLUENT_PACKAGE}, which is not installed.`,
      `In this repository run \`${CONFLUENT_INSTALL}\` (it builds librdkafka from source, ≈2 min); in your application \`npm install ${CONFLUENT_PACKAGE}@^1.10.1\`; or use the default publisher (kafkajsPublisher).`,
      { option: 'publisher' },
    );
  }
  // A CommonJS native addon: require() it from where it was found.
  loaded = createRequire(file)(file) as ConfluentModule;
  return loaded;
}

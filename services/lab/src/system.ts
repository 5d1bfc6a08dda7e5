/**
 * The whole system in one process: the order service (HTTP), the outbox relay, and the shipping and billing
 * consumers calling the order service back. The demo (`npm start`) and `test-scenario` both run it; each part
 * can also run on its own (`npm run order-service`, `npm run relay`, `npm run shipping`, `npm run billing`).
 */
import kafkajs from 'kafkajs';
import pg from 'pg';
import type { LabConfig } from '@dual-write/config';
import { detectHostageConnections, type HostageDetector } from '@dual-write/detector';
import { startBilling } from '@dual-write/billing';
import { buildApp, type App } from '@dual-write/order-service';
import { faultScenarios } from '@dual-write/order-service/lab';
import { startRelay, type Relay } from '@dual-write/relay';
import { labRelayOptions } from '@dual-write/lab-relay';
import { labDashboard } from './dashboard.ts';
import { startShipping } from '@dual-write/shipping';

export interface SystemOptions {
  config: LabConfig;
  /** Listen port; 0 picks a free one. Default config.orderService.port. */
  port?: number;
  databaseUrl?: string;
  directDatabaseUrl?: string;
  topic?: string;
  /** Suffix for the consumer group ids (a fresh group reads the topic from its beginning). */
  groupSuffix?: string;
  logger?: boolean;
  log?: (line: string) => void;
  /** The relay's /metrics and /health port; false = none (default config RELAY_PORT). */
  relayPort?: number | false;
  /** false: no relay in this process (the soak runs it as a process of its own, to kill -9 it). Default true. */
  relay?: boolean;
  /**
   * Watch for database connections held while Kafka is awaited (detectHostageConnections, @dual-write/detector):
   * each request is a unit of work; reports go to `log` and into kind=pool's report. Default true.
   */
  hostageDetector?: boolean;
  /** Relay log level (default warn: the demo's terminal stays readable). */
  relayLogLevel?: 'fatal' | 'error' | 'warn' | 'info' | 'debug';
}

export interface RunningSystem {
  app: App;
  relay: Relay | undefined;
  /** The hostage-connection detector, when on. */
  hostageDetector: HostageDetector | undefined;
  url: string;
  stop(): Promise<void>;
}

export async function startSystem(opts: SystemOptions): Promise<RunningSystem> {
  const { config } = opts;
  const log = opts.log ?? ((l: string) => console.log(l));
  // Started before the app makes its Kafka producer (the detector watches producers made after it starts).
  const detector = opts.hostageDetector === false ? undefined : detectHostageConnections({ pg, kafkajs, log });
  const relayUrls: string[] = []; // the dashboard's view of the relay (/metrics, /health), filled once it runs
  // The lab's GET /api/v1/bad-scenario: it injects faults only when config.orderService.faultInjection is on.
  const app = await buildApp({
    config,
    databaseUrl: opts.databaseUrl,
    directDatabaseUrl: opts.directDatabaseUrl,
    topic: opts.topic,
    logger: opts.logger,
    onRequest: detector ? [detector.fastifyHook] : [],
    plugins: [faultScenarios({ hostageDetector: detector }), labDashboard({ config, relays: () => relayUrls })],
  }).catch((err: unknown) => {
    detector?.stop();
    throw err;
  });
  await app.fastify.listen({ host: config.orderService.host, port: opts.port ?? config.orderService.port });
  const url = app.url();
  const common = {
    config,
    topic: opts.topic,
    databaseUrl: opts.databaseUrl,
    orderServiceUrl: url,
    log: (l: string) => log(l),
  };
  const suffix = opts.groupSuffix ? `-${opts.groupSuffix}` : '';
  const relay = opts.relay === false ? undefined : await startRelay({
    ...labRelayOptions(config),
    database: opts.databaseUrl ?? config.database.appUrl,
    topic: opts.topic ?? config.topics.orders.name,
    ...(opts.relayPort !== undefined ? { port: opts.relayPort } : {}),
    logLevel: opts.relayLogLevel ?? 'warn',
  });
  if (relay?.url) relayUrls.push(relay.url);
  const shipping = await startShipping({ ...common, groupId: `shipping${suffix}` });
  const billing = await startBilling({ ...common, groupId: `billing${suffix}` });
  return {
    app,
    relay,
    hostageDetector: detector,
    url,
    async stop() {
      await Promise.all([shipping.stop(), billing.stop()]);
      await relay?.stop();
      await app.close();
      detector?.stop();
    },
  };
}

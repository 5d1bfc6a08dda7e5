import type { ToxicHelper } from '@dual-write/faults';
import type { LabConfig } from '@dual-write/config';
import type { Database } from '../../db/database.ts';
import type { Publisher } from '../../kafka/naive-publisher.ts';
import type { Evidence } from './evidence.ts';

export interface ScenarioDeps {
  config: LabConfig;
  service: { db: Database; publisher: Publisher };
  faults: ToxicHelper;
  evidence: Evidence;
  /** The app-facing database URL (through the proxy), for the crash child process. */
  appDatabaseUrl: string;
  topic: string;
  /** Base URL of this running service, for the pool burst. */
  baseUrl: () => string;
  /** How long to wait for shipping/billing to act on a message. */
  effectTimeoutMs: number;
  toxicsLeft(): Promise<{ postgres: string[]; kafka: string[] }>;
}

export const SAMPLE_ORDER = {
  customerId: 'scenario',
  items: [
    { sku: 'BOOK-001', qty: 1, priceCents: 4599 },
    { sku: 'MUG-001', qty: 2, priceCents: 1299 },
  ],
};

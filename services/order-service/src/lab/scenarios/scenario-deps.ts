import type { ToxicHelper } from '@dual-write/faults';
import type { LabConfig } from '@dual-write/config';
import type { Database } from '../../db/database.ts';
import type { Publisher } from '../../kafka/naive-publisher.ts';
import type { CallbackWatch } from './callback-watch.ts';
import type { Evidence } from './evidence.ts';

/** What kind=pool reads of a hostage-connection detector (@dual-write/detector's HostageDetector fits). */
export interface HostageReports {
  readonly count: number;
  reports(): { heldMs: number; inTransaction: boolean; callSite: string | undefined; startedAt: string }[];
}

export interface ScenarioDeps {
  config: LabConfig;
  service: { db: Database; publisher: Publisher };
  faults: ToxicHelper;
  evidence: Evidence;
  /** The consumers' callbacks to this service, as its HTTP server sees them (kind=early). */
  callbacks: CallbackWatch;
  /** The app-facing database URL (through the proxy), for the crash child process. */
  appDatabaseUrl: string;
  topic: string;
  /** Base URL of this running service, for the pool burst. */
  baseUrl: () => string;
  /** How long to wait for shipping/billing to act on a message. */
  effectTimeoutMs: number;
  toxicsLeft(): Promise<{ postgres: string[]; kafka: string[] }>;
  /** The hostage-connection detector, when the lab runs one. */
  hostage: HostageReports | undefined;
}

export const SAMPLE_ORDER = {
  customerId: 'scenario',
  items: [
    { sku: 'BOOK-001', qty: 1, priceCents: 4599 },
    { sku: 'MUG-001', qty: 2, priceCents: 1299 },
  ],
};

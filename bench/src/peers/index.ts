/**
 * The peers the benchmark runs next to our relay. A factory that throws becomes a placeholder whose prepare()
 * says why, so the report always lists every peer — with its figures, or with the reason it did not run.
 */
import type { Peer } from '../types.ts';
import { debeziumPeer } from './debezium.ts';
import { pgTransactionalOutboxPeer } from './pg-transactional-outbox.ts';

export interface PeerEntry {
  /** Shown in the report when the peer cannot even be created. */
  name: string;
  create: () => Peer;
}

export const PEERS: readonly PeerEntry[] = [
  { name: 'Debezium outbox event router', create: debeziumPeer },
  { name: 'pg-transactional-outbox', create: pgTransactionalOutboxPeer },
];

/** A peer that cannot be created: it never runs, and says why. */
export function unavailablePeer(name: string, reason: string): Peer {
  return {
    name,
    version: 'n/a',
    prepare: async () => ({ ok: false, reason }),
    drain: async () => ({ ran: false, reason }),
    latency: async () => ({ ran: false, reason }),
    close: async () => {},
  };
}

export function loadPeers(entries: readonly PeerEntry[] = PEERS): Peer[] {
  return entries.map((e) => {
    try {
      return e.create();
    } catch (err) {
      return unavailablePeer(e.name, `could not be created: ${(err as Error).message}`);
    }
  });
}

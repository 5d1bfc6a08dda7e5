/**
 * What one unit of work (a request, a job) holds right now: the pg clients it checked out of a pool or opened a
 * transaction on. Kept in an AsyncLocalStorage, so a broker call sees only the connections of its own request,
 * never another request's.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

export type HoldKind = 'checkout' | 'transaction';

export interface Hold {
  kind: HoldKind;
  /** performance.now() when the hold began. */
  since: number;
}

export class Holdings {
  private readonly holds = new Map<object, Map<HoldKind, Hold>>();

  add(client: object, kind: HoldKind): void {
    let kinds = this.holds.get(client);
    if (!kinds) this.holds.set(client, (kinds = new Map()));
    if (!kinds.has(kind)) kinds.set(kind, { kind, since: performance.now() });
  }

  remove(client: object, kind: HoldKind): void {
    const kinds = this.holds.get(client);
    if (!kinds) return;
    kinds.delete(kind);
    if (kinds.size === 0) this.holds.delete(client);
  }

  /** The connections held now, and whether any of them is inside a transaction. */
  snapshot(): { connections: number; inTransaction: boolean } {
    let inTransaction = false;
    for (const kinds of this.holds.values()) if (kinds.has('transaction')) inTransaction = true;
    return { connections: this.holds.size, inTransaction };
  }
}

export const storage = new AsyncLocalStorage<Holdings>();

/** The current unit of work's holdings; one is started here (for the rest of this async chain) if none is. */
export function currentHoldings(): Holdings {
  let h = storage.getStore();
  if (!h) {
    h = new Holdings();
    storage.enterWith(h);
  }
  return h;
}

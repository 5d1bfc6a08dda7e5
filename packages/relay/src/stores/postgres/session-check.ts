/**
 * The start-up checks of the coordination session's URL.
 *
 * Poolers in transaction (or statement) mode — PgBouncer, RDS Proxy, Supavisor, pgcat… — hand a client connection a
 * server connection for one transaction at a time. The relay's session state lives in the server connection (the
 * backend): its session advisory locks (slot ownership, the member lock) and its LISTENs. Through such a pooler they
 * stay behind on a backend that the next transaction of this connection may not get — and that other clients then
 * get, locks and all. Nothing fails; ownership and wake-ups are simply wrong. So the relay checks, before it takes a
 * lock, that its session stays ONE backend from statement to statement, and refuses to start otherwise.
 *
 * The check (pinnedSession) proves pooling by observation, never by a product's name or port:
 *   1. the session asks for its backend (pg_backend_pid()): P;
 *   2. a second connection on the same URL opens a transaction and asks for its backend: in transaction mode it now
 *      owns that backend exclusively until it ends;
 *   3. the session asks for its backend again.
 * On a real session (a direct connection, a TCP proxy, a session-mode pooler) every connection is its own backend
 * for its whole life: (2) is never P and (3) is always P. So (2) = P (two client connections shared one backend),
 * (3) ≠ P (the session moved), or (3) waiting for a server connection while (2) holds one, each prove that session
 * state does not survive. A pooler that hands (2) another idle backend and (3) its old one again proves nothing
 * yet, so (2) is repeated with more transactions held open at once — each takes one more of the pooler's backends —
 * up to HOLDERS. PgBouncer (LIFO by default) already gives (2) the session's backend in the first round.
 */
import pg from 'pg';

/** How many transactions the check holds open at most (one more per round). */
export const HOLDERS = 3;

export type PinnedVerdict = { pinned: true; rounds: number; inconclusive?: string } | { pinned: false; evidence: string };

const TIMED_OUT = Symbol('timed out');

function within<T>(p: Promise<T>, ms: number): Promise<T | typeof TIMED_OUT> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<typeof TIMED_OUT>((resolve) => {
    timer = setTimeout(() => resolve(TIMED_OUT), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

const backendOf = async (c: pg.ClientBase): Promise<number> => (await c.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid;

/**
 * Does `session` (connected to `url`) stay one backend between statements? `session` is the relay's coordination
 * client; the check opens up to HOLDERS short-lived connections of its own on `url` and closes them before it
 * returns. A statement that waits longer than `timeoutMs` ends the check: on the session, that is proof of pooling
 * (it waited for a server connection); on a holder it is not (a session-mode pooler may be full), so the verdict is
 * `pinned` with the reason in `inconclusive`.
 */
export async function pinnedSession(session: pg.ClientBase, url: string, opts: { timeoutMs: number; applicationName: string }): Promise<PinnedVerdict> {
  const first = await backendOf(session);
  const holders: pg.Client[] = [];
  try {
    for (let round = 1; round <= HOLDERS; round++) {
      const holder = new pg.Client({ connectionString: url, application_name: opts.applicationName.slice(0, 63), connectionTimeoutMillis: opts.timeoutMs });
      holder.on('error', () => {});
      holders.push(holder);
      const held = await within(
        (async () => {
          await holder.connect();
          await holder.query('begin');
          return backendOf(holder);
        })().catch((err: Error) => err),
        opts.timeoutMs,
      );
      // A holder that cannot get a backend (a full session-mode pooler, max_connections) proves nothing either way.
      if (held === TIMED_OUT) return { pinned: true, rounds: round - 1, inconclusive: `a second connection got no backend within ${opts.timeoutMs} ms` };
      if (held instanceof Error) return { pinned: true, rounds: round - 1, inconclusive: `a second connection failed: ${held.message}` };
      if (held === first) {
        return { pinned: false, evidence: `a second connection, inside a transaction, was given the session's own backend (pid ${first}): two client connections share one PostgreSQL session` };
      }
      const now = await within(backendOf(session), opts.timeoutMs);
      if (now === TIMED_OUT) {
        return { pinned: false, evidence: `the session's next statement waited more than ${opts.timeoutMs} ms for a server connection while another connection held a transaction open` };
      }
      if (now !== first) return { pinned: false, evidence: `the session's backend changed between two statements (pid ${first}, then ${now})` };
    }
    return { pinned: true, rounds: HOLDERS };
  } finally {
    await Promise.all(
      holders.map(async (h) => {
        await within(h.query('rollback'), 1000).catch(() => {});
        await h.end().catch(() => {});
      }),
    );
  }
}

/** Which server and database a connection reaches: the same for a pooled and a direct URL of one database. */
export interface ServerIdentity {
  database: string;
  /** pg_postmaster_start_time() (epoch): tells two servers (a primary and its replica, two clusters) apart. */
  startedAt: string;
  /** inet_server_port(): the server's own port, whatever pooler or proxy sits in between (null on a Unix socket). */
  port: number | null;
}

export async function serverIdentity(db: pg.Pool | pg.ClientBase): Promise<ServerIdentity> {
  const { rows } = await db.query<ServerIdentity>(
    'select current_database() as database, extract(epoch from pg_postmaster_start_time())::text as "startedAt", inet_server_port() as port',
  );
  return rows[0]!;
}

export function sameServer(a: ServerIdentity, b: ServerIdentity): boolean {
  return a.database === b.database && a.startedAt === b.startedAt && (a.port === null || b.port === null || a.port === b.port);
}

/** A postgres:// URL with its password hidden. */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@]*:)[^@/]*@/i, '$1***@');
}

/** How an identity reads in a message: `"db" on the server on port 5432, up since 2026-01-01T00:00:00.000Z`. */
export function describeServer(s: ServerIdentity): string {
  const since = Number(s.startedAt);
  return `"${s.database}" on the server${s.port === null ? '' : ` on port ${s.port}`}, up since ${Number.isFinite(since) ? new Date(since * 1000).toISOString() : s.startedAt}`;
}

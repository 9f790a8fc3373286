/**
 * Watching a migrating backend: a poller on a second connection reading pg_locks for its pid,
 * a lock snapshot read on the migrating connection itself (inside its transaction), and the
 * relfilenode and scan counters of every user relation before and after each statement.
 */
import type pg from 'pg';
import { isLockMode, type LockMode } from './locks.js';
import type { RelationRef } from './model.js';

/** Relations created by users (FirstNormalObjectId), outside the toast schema. */
const USER_RELATIONS = `c.oid >= 16384 AND n.nspname NOT IN ('pg_toast', 'information_schema') AND n.nspname NOT LIKE 'pg\\_temp\\_%'`;

export interface RelationState {
  oid: number;
  name: string;
  kind: RelationRef['kind'];
  filenode: number;
  scans: number;
  rowsRead: number;
}

export type CatalogState = Map<number, RelationState>;

const KINDS: Record<string, RelationRef['kind']> = { r: 'table', p: 'table', m: 'table', i: 'index', I: 'index', S: 'sequence', v: 'view' };

/**
 * Every user relation with its relfilenode and seq-scan counters. Inside a transaction the
 * counters are this transaction's own (pg_stat_get_xact_*: nobody else's scans mix in); outside,
 * the server totals after a forced stats flush.
 */
export async function catalogState(client: pg.ClientBase, inTransaction: boolean): Promise<CatalogState> {
  const fn = inTransaction ? 'pg_stat_get_xact_' : 'pg_stat_get_';
  const { rows } = await client.query<{ oid: number; name: string; relkind: string; filenode: string; scans: string; rows_read: string }>(
    `SELECT c.oid::int AS oid, format('%s.%s', n.nspname, c.relname) AS name, c.relkind::text AS relkind, c.relfilenode::text AS filenode,
            CASE WHEN c.relkind IN ('r','m','p') THEN ${fn}numscans(c.oid) ELSE 0 END::text AS scans,
            CASE WHEN c.relkind IN ('r','m','p') THEN ${fn}tuples_returned(c.oid) ELSE 0 END::text AS rows_read
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE ${USER_RELATIONS} AND c.relkind IN ('r','p','m','i','I','S','v')`,
  );
  return new Map(rows.map((r) => [r.oid, { oid: r.oid, name: r.name, kind: KINDS[r.relkind] ?? 'other', filenode: Number(r.filenode), scans: Number(r.scans), rowsRead: Number(r.rows_read) }]));
}

/** Outside a transaction, scan counters reach pg_stat only when the backend flushes them: force it now. */
export async function flushStats(client: pg.ClientBase): Promise<void> {
  await client.query('SELECT pg_stat_force_next_flush()');
}

export interface HeldLock {
  oid: number;
  mode: LockMode;
  granted: boolean;
}

const LOCKS_SQL = `SELECT l.relation::int AS oid, l.mode, l.granted FROM pg_locks l
  WHERE l.pid = $1 AND l.locktype = 'relation' AND l.relation >= 16384`;

function toHeld(rows: { oid: number; mode: string; granted: boolean }[]): HeldLock[] {
  return rows.flatMap((r) => (isLockMode(r.mode) ? [{ oid: r.oid, mode: r.mode, granted: r.granted }] : []));
}

/** The relation locks the migrating transaction holds now (read on its own connection). */
export async function lockSnapshot(client: pg.ClientBase): Promise<HeldLock[]> {
  const { rows } = await client.query<{ oid: number; mode: string; granted: boolean }>(LOCKS_SQL.replace('$1', 'pg_backend_pid()'));
  return toHeld(rows);
}

export interface PollSample {
  /** performance.now() when the sample was requested. */
  at: number;
  locks: HeldLock[];
}

export interface Poller {
  stop(): Promise<PollSample[]>;
}

/** Polls pg_locks for `pid` from `client` (a second connection) until stopped. */
export function startPoller(client: pg.ClientBase, pid: number, intervalMs = 5): Poller {
  const samples: PollSample[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const at = performance.now();
      try {
        const { rows } = await client.query<{ oid: number; mode: string; granted: boolean }>(LOCKS_SQL, [pid]);
        samples.push({ at, locks: toHeld(rows) });
      } catch {
        return;
      }
      const wait = intervalMs - (performance.now() - at);
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return samples;
    },
  };
}

/** Names of relations by oid, as the given connection sees them now. */
export async function relationNames(client: pg.ClientBase, oids: readonly number[]): Promise<Map<number, { name: string; kind: RelationRef['kind'] }>> {
  if (oids.length === 0) return new Map();
  const { rows } = await client.query<{ oid: number; name: string; relkind: string }>(
    `SELECT c.oid::int AS oid, format('%s.%s', n.nspname, c.relname) AS name, c.relkind::text AS relkind
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = ANY($1::oid[])`,
    [oids],
  );
  return new Map(rows.map((r) => [r.oid, { name: r.name, kind: KINDS[r.relkind] ?? 'other' }]));
}

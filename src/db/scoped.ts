/**
 * Scoped resources: each helper releases what it took on every path (success, error,
 * interruption), so no command leaks a connection, a transaction or a lock.
 */
import type pg from 'pg';
import { connect, type ConnectOptions } from './connect.js';
import { DbkitError } from '../errors.js';
import { formatDuration } from '../core/duration.js';

export async function withClient<T>(url: string, options: ConnectOptions, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = await connect(url, options);
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => {});
  }
}

export type IsolationLevel = 'read committed' | 'repeatable read' | 'serializable';

export async function withTransaction<T>(
  client: pg.ClientBase,
  fn: (client: pg.ClientBase) => Promise<T>,
  options: { isolation?: IsolationLevel; readOnly?: boolean } = {},
): Promise<T> {
  const modes = [options.isolation ? `ISOLATION LEVEL ${options.isolation.toUpperCase()}` : '', options.readOnly ? 'READ ONLY' : ''].filter(Boolean);
  await client.query(`BEGIN${modes.length ? ` ${modes.join(' ')}` : ''}`);
  try {
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  }
}

/** A read-only snapshot: nothing inside can change the database. */
export function withReadOnly<T>(client: pg.ClientBase, fn: (client: pg.ClientBase) => Promise<T>): Promise<T> {
  return withTransaction(client, fn, { isolation: 'repeatable read', readOnly: true });
}

/** The advisory-lock key dbkit uses for a database: stable across processes and versions. */
export function lockKeyFor(databaseName: string): [number, number] {
  // Two int4 keys: a fixed namespace for dbkit and a hash of the database name, so that two
  // databases on one server (or the maintenance database holding a lock for another) never collide.
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(databaseName, 'utf8')) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193);
  }
  return [0x64626b74 | 0, hash | 0]; // 'dbkt'
}

export interface LockWaitEvents {
  onWaiting?(holder: { pid: number; application: string; since: string | null } | null): void;
}

/**
 * Holds a session-level advisory lock for the duration of `fn`. Waits at most `waitMs`, polling so
 * that the wait is bounded and the caller can say who holds the lock.
 */
export async function withAdvisoryLock<T>(
  client: pg.ClientBase,
  key: [number, number],
  waitMs: number,
  fn: () => Promise<T>,
  events: LockWaitEvents = {},
): Promise<T> {
  const deadline = Date.now() + waitMs;
  let announced = false;
  for (;;) {
    const { rows } = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1, $2) AS ok', key);
    if (rows[0]?.ok) break;
    const holder = await lockHolder(client, key);
    if (!announced) {
      events.onWaiting?.(holder);
      announced = true;
    }
    if (Date.now() >= deadline) {
      const who = holder ? `backend pid ${holder.pid} (${holder.application || 'unknown application'})` : 'another session';
      throw new DbkitError('LOCK_BUSY', `another dbkit operation on this database is running (${who}); gave up after ${formatDuration(waitMs)}`, {
        hint: 'wait for it to finish, or raise --lock-wait',
      });
    }
    await new Promise((resolve) => setTimeout(resolve, Math.min(200, Math.max(10, deadline - Date.now()))));
  }
  try {
    return await fn();
  } finally {
    await client.query('SELECT pg_advisory_unlock($1, $2)', key).catch(() => {});
  }
}

async function lockHolder(client: pg.ClientBase, key: [number, number]) {
  const { rows } = await client.query<{ pid: number; application: string; since: string | null }>(
    `SELECT l.pid, coalesce(a.application_name, '') AS application, a.backend_start::text AS since
       FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid
      WHERE l.locktype = 'advisory' AND l.granted AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
        AND l.classid = ($1::int)::oid AND l.objid = ($2::int)::oid AND l.objsubid = 2
      LIMIT 1`,
    key,
  );
  return rows[0] ?? null;
}

/**
 * Exactly-once, whatever sits between dbkit and the database. The session advisory lock
 * (session.ts) names the holder and bounds the wait, but it belongs to a server session, and a
 * transaction pooler hands one server session to several clients: each of them "gets" it. So
 * each migration's own transaction starts with a guard that does not depend on the connection
 * path: a transaction-scoped advisory lock, then a fresh read of dbkit.migrations in the same
 * transaction. A migration found applied by then (reverted, for a down) is not run: the guard
 * raises GUARD_SQLSTATE, the transaction rolls back, and the runner reports it as done by another
 * session and re-plans. A unique index on dbkit.migrations(name) is the last line of defence.
 *
 * A migration outside a transaction (pgm.noTransaction()) cannot hold a transaction-scoped lock
 * while it runs: its guard is the check alone, and only the session lock (which a transaction
 * pooler does not keep) serialises it. dbkit refuses such migrations through a transaction pooler.
 */
import type pg from 'pg';
import { DbkitError } from '../errors.js';
import { quoteLiteral } from '../db/catalog.js';
import { lockKeyFor } from '../db/scoped.js';
import { describePooler, SESSION_URL_HINT, type PoolerFacts } from '../core/pooler.js';
import { MIGRATIONS_TABLE, TRACKING_DDL, TRACKING_SCHEMA } from './tracking.js';
import type { Direction, LoadedMigration } from './load.js';

/** How a migration the guard skipped is reported. */
export const ALREADY_APPLIED = 'already applied by another session';
export const ALREADY_REVERTED = 'already reverted by another session';

/** Raised by the guard when the migration is already done: not an error of the migration. */
export const GUARD_SQLSTATE = 'DK001';

export const UNIQUE_NAME_INDEX = 'migrations_name_key';

/** The database the connection is on (a pooler may serve it under another name). */
export async function currentDatabase(client: pg.ClientBase): Promise<string> {
  return (await client.query<{ name: string }>('SELECT current_database() AS name')).rows[0]!.name;
}

/** A key of its own (not the session lock's): a session lock a pooler left on some server session must not block it. */
export function guardKeyFor(databaseName: string): [number, number] {
  const [, hash] = lockKeyFor(databaseName);
  return [0x64626b78 | 0, hash]; // 'dbkx'
}

export interface GuardSettings {
  /** current_database(): the guard's lock key. */
  databaseName: string;
  /** How long the guard waits for another dbkit's migration transaction (--lock-wait). */
  lockWaitMs: number;
  lockTimeoutMs: number;
  statementTimeoutMs: number;
}

/**
 * The first statement of a migration's transaction. The session settings are set LOCAL here too,
 * since a transaction pooler does not keep session ones (a Supabase folder's RESET ALL that
 * follows sets them again). Outside a transaction (pgm.noTransaction()) the lock ends with the
 * statement and the check alone remains.
 */
export function guardSql(migration: Pick<LoadedMigration, 'name'>, direction: Direction, settings: GuardSettings, folder: readonly string[]): string {
  const [k1, k2] = guardKeyFor(settings.databaseName);
  const name = quoteLiteral(migration.name);
  const found = `EXISTS (SELECT 1 FROM ${TRACKING_SCHEMA}.${MIGRATIONS_TABLE} WHERE name = ${name})`;
  const done = direction === 'up' ? found : `NOT ${found}`;
  const what = direction === 'up' ? 'already applied' : 'already reverted';
  // An up runs on top of every earlier migration, a down under no later one: still so?
  const at = folder.indexOf(migration.name);
  const others = direction === 'up' ? folder.slice(0, Math.max(0, at)) : folder.slice(at + 1);
  const tracked = `(SELECT count(*) FROM ${TRACKING_SCHEMA}.${MIGRATIONS_TABLE} WHERE name = ANY(${others.length === 0 ? `'{}'::text[]` : `ARRAY[${others.map(quoteLiteral).join(', ')}]::text[]`}))`;
  const moved = direction === 'up' ? `${tracked} <> ${others.length}` : `${tracked} > 0`;
  const why = direction === 'up' ? 'an earlier migration is no longer applied' : 'a later migration is applied';
  const body = `BEGIN
  PERFORM set_config('lock_timeout', '${Math.round(settings.lockWaitMs)}', true);
  PERFORM pg_advisory_xact_lock(${k1}, ${k2});
  PERFORM set_config('lock_timeout', '${Math.round(settings.lockTimeoutMs)}', true);
  PERFORM set_config('statement_timeout', '${Math.round(settings.statementTimeoutMs)}', true);
  PERFORM set_config('client_connection_check_interval', '1000', true);
  IF ${done} THEN
    RAISE EXCEPTION 'dbkit: % is ${what} by another session', ${name} USING ERRCODE = '${GUARD_SQLSTATE}';
  END IF;
  IF ${moved} THEN
    RAISE EXCEPTION 'dbkit: another session changed the applied migrations under this run: ${why}' USING ERRCODE = '${MOVED_SQLSTATE}';
  END IF;
END`;
  // A dollar-quote tag that no migration name inside the body can end early.
  let tag = '$dbkit_guard$';
  for (let n = 1; body.includes(tag); n += 1) tag = `$dbkit_guard_${n}$`;
  return `DO ${tag} ${body} ${tag};`;
}

export function isGuardSkip(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === GUARD_SQLSTATE;
}

/** Raised by the guard when the migrations around this one moved (another session reverted or applied them). */
export const MOVED_SQLSTATE = 'DK002';

export function isStateMoved(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === MOVED_SQLSTATE;
}

/** Whether the guard's wait for another dbkit's migration transaction ran out. */
export function isGuardWait(error: unknown, lastStatement: string): boolean {
  return (error as { code?: unknown } | null)?.code === '55P03' && lastStatement.startsWith('DO $dbkit_guard');
}

/**
 * Creates dbkit's tracking (or brings an existing one up to date) under the guard's lock, so
 * that concurrent first runs through a pooler do not race on CREATE: adds the unique index on
 * the migration name, refusing, with the names, when rows already hold duplicates.
 */
export async function ensureTrackingGuarded(client: pg.ClientBase): Promise<void> {
  await client.query('BEGIN');
  try {
    const [k1, k2] = guardKeyFor(await currentDatabase(client));
    await client.query(`SELECT pg_advisory_xact_lock(${k1}, ${k2})`);
    const { rows } = await client.query<{ table: boolean; index: boolean; owner: boolean }>(
      `SELECT t.oid IS NOT NULL AS "table", to_regclass('${TRACKING_SCHEMA}.${UNIQUE_NAME_INDEX}') IS NOT NULL AS "index",
              coalesce(pg_has_role(current_user, t.relowner, 'USAGE'), false) AS owner
         FROM (SELECT NULL) x LEFT JOIN pg_class t ON t.oid = to_regclass('${TRACKING_SCHEMA}.${MIGRATIONS_TABLE}')`,
    );
    const state = rows[0]!;
    if (!state.table) await client.query(TRACKING_DDL);
    // Only the table's owner can add the index; for another role the guard alone stands until the owner runs dbkit.
    else if (!state.index && state.owner) {
      await refuseDuplicates(client);
      await client.query(`CREATE UNIQUE INDEX IF NOT EXISTS ${UNIQUE_NAME_INDEX} ON ${TRACKING_SCHEMA}.${MIGRATIONS_TABLE} (name)`);
    }
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  }
}

async function refuseDuplicates(client: pg.ClientBase): Promise<void> {
  const { rows } = await client.query<{ name: string; count: number }>(
    `SELECT name, count(*)::int AS count FROM ${TRACKING_SCHEMA}.${MIGRATIONS_TABLE} GROUP BY name HAVING count(*) > 1 ORDER BY name`,
  );
  if (rows.length === 0) return;
  const list = rows.map((r) => `${r.name} (${r.count} rows)`).join(', ');
  throw new DbkitError('PREFLIGHT_FAILED', `${TRACKING_SCHEMA}.${MIGRATIONS_TABLE} records ${rows.length === 1 ? 'a migration' : `${rows.length} migrations`} more than once: ${list}`, {
    hint: `each ran more than once (concurrent runs through a transaction pooler before dbkit guarded against it): check that its effects are right, then keep one row each: DELETE FROM ${TRACKING_SCHEMA}.${MIGRATIONS_TABLE} m USING ${TRACKING_SCHEMA}.${MIGRATIONS_TABLE} d WHERE m.name = d.name AND m.id > d.id; and run the command again. No migration was run.`,
  });
}

/** Migrations outside a transaction cannot be guarded through a transaction pooler: refused before anything runs. */
export function assertGuardable(migrations: readonly LoadedMigration[], names: readonly string[], pooler: PoolerFacts, command: string): void {
  if (pooler.path !== 'transaction-pooler') return;
  const outside = migrations.filter((m) => names.includes(m.name) && m.transactional === false).map((m) => m.name);
  if (outside.length === 0) return;
  throw new DbkitError(
    'PREFLIGHT_FAILED',
    `${outside.join(', ')} ${outside.length === 1 ? 'runs' : 'run'} outside a transaction (pgm.noTransaction()), which ${command} cannot keep exactly-once through ${describePooler(pooler)}: a transaction-scoped lock ends with each statement and the pooler does not keep the session lock`,
    { hint: SESSION_URL_HINT },
  );
}

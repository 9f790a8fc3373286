/**
 * The pieces every command that changes the schema shares: pre-flight, the migration lock, and
 * validation against the declared expectations (the plan read under the lock is in context.ts).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import type pg from 'pg';
import { loadJiti } from '../lazy.js';
import { DbkitError, errorMessage } from '../errors.js';
import { connect, withDatabase } from '../db/connect.js';
import { serverInfo, type ServerInfo } from '../db/catalog.js';
import { lockKeyFor, withAdvisoryLock } from '../db/scoped.js';
import { probeConnectionPath } from '../db/pooler.js';
import { describePooler, DIRECT, type PoolerFacts } from '../core/pooler.js';
import type { DatabaseTarget } from '../db/target.js';
import { validationSnapshot } from '../db/fingerprint.js';
import type { Reporter } from '../output/terminal.js';
import { maintenanceDatabase } from '../db/connect.js';
import { rolesMentioned, validate, type CheckResult, type ExpectationSet, type ValidationTarget } from '../core/validation.js';
import { planMigrations } from './plan.js';
import { readApplied, TRACKING_SCHEMA } from './tracking.js';
import { trackingNeeds, type TrackingAccess } from './privileges.js';
import { assertPrivileges, missingPrivileges } from '../db/privileges.js';
import type { PrivilegeNeed } from '../core/privileges.js';
import type { LoadedMigration } from './load.js';

export const MIN_SERVER_VERSION_NUM = 150_000;

export interface CheckedConnection {
  client: pg.Client;
  server: ServerInfo;
  /** What sits between dbkit and the server (a direct connection for the embedded cluster). */
  pooler: PoolerFacts;
}

/** Connects, checks the server is one dbkit supports and says what sits in between. The caller owns the client. */
export async function connectChecked(target: DatabaseTarget): Promise<CheckedConnection> {
  const client = await connect(target.url, { connectTimeoutMs: target.connectTimeoutMs });
  try {
    const server = await serverInfo(client);
    if (server.versionNum < MIN_SERVER_VERSION_NUM) {
      throw new DbkitError('PREFLIGHT_FAILED', `PostgreSQL ${server.version} is not supported: dbkit needs PostgreSQL 15 or newer`, { hint: 'upgrade the server, or point DATABASE_URL at a newer one' });
    }
    const pooler = target.kind === 'embedded' ? DIRECT : await probeConnectionPath(client, target.url, { connectTimeoutMs: target.connectTimeoutMs });
    return { client, server, pooler };
  } catch (error) {
    await client.end().catch(() => {});
    throw error;
  }
}

/** The 'connect' step that opens every command working on a database. The caller owns the client. */
export async function connectStep(target: DatabaseTarget, reporter: Reporter): Promise<CheckedConnection> {
  const step = reporter.step('connect');
  try {
    const connected = await connectChecked(target);
    const via = connected.pooler.path === 'direct' ? '' : ` through ${describePooler(connected.pooler)}`;
    step.done(`PostgreSQL ${connected.server.version} as ${connected.server.user} on ${target.redactedUrl}${target.kind === 'embedded' ? ' (embedded)' : ''}${via}`);
    if (connected.pooler.path === 'transaction-pooler') {
      reporter.info(`    ${describePooler(connected.pooler)}: ${connected.pooler.evidence.join('; ')}. Each migration is kept exactly-once by a lock inside its own transaction; commands that need one session throughout refuse.`);
    }
    return connected;
  } catch (error) {
    step.fail();
    throw error;
  }
}

export interface PrivilegeScope {
  /** read: status, dry runs, planning; write: applying or reverting migrations. */
  access: TrackingAccess;
  /** What the backup the command will take first needs (backup/privileges.ts backupNeeds), or none. */
  backupNeeds: readonly PrivilegeNeed[];
  /** Names the command in the refusal: "dbkit apply". */
  purpose: string;
  /**
   * Write (and back up) only when these migrations leave something to do: an apply that finds the
   * database up to date needs read access alone.
   */
  onlyIfPending?: readonly LoadedMigration[];
}

/**
 * Pre-flight: the privileges the command needs on dbkit's bookkeeping (and for its backup),
 * checked so that it fails naming each missing one, with its GRANT, before any change.
 */
export async function checkPrivileges(client: pg.ClientBase, server: ServerInfo, scope: PrivilegeScope): Promise<void> {
  if (server.superuser) return;
  const { rows } = await client.query<{ ok: boolean }>('SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1) AS ok', [TRACKING_SCHEMA]);
  const exists = rows[0]?.ok === true;
  let backup = scope.backupNeeds;
  // Up to date needs only reading; when even that is missing, name everything a run would need.
  if (scope.access === 'write' && scope.onlyIfPending && (await missingPrivileges(client, trackingNeeds('read', exists))).missing.length === 0) {
    // dbkit's own tracking only: a migration another tool applied still needs writing (adoption
    // records it), so counting it as pending here asks for no less than the run needs.
    const plan = planMigrations(scope.onlyIfPending, await readApplied(client));
    if (plan.pending.length === 0 && plan.unrecorded.length === 0) return;
    if (plan.pending.length === 0) backup = [];
  }
  await assertPrivileges(client, [...trackingNeeds(scope.access, exists), ...backup], scope.purpose);
}

export interface LockedSession {
  /** The connection to the target database; holds the migration lock. */
  readonly client: pg.Client;
  /**
   * Closes the target connection (and its lock) so that the database can be copied, runs `fn`,
   * then reconnects and takes the lock again. Only valid when the session was opened with
   * `exclusiveCopy`, whose outer lock keeps other dbkit processes out meanwhile.
   */
  withoutTargetConnection<T>(fn: () => Promise<T>): Promise<T>;
}

export interface LockOptions {
  lockWaitMs: number;
  lockTimeoutMs: number;
  statementTimeoutMs: number;
  /** The operation will copy the database (template backup): hold the lock on the maintenance database too. */
  exclusiveCopy: boolean;
  reporter: Reporter;
  /**
   * The connection path. Through a transaction pooler neither the session lock nor session
   * settings hold (and both would stay behind on some server session that other clients get):
   * neither is taken; each migration's guard (exactly-once.ts) takes a lock and sets LOCAL instead.
   */
  pooler?: PoolerFacts;
}

async function sessionClient(target: DatabaseTarget, options: LockOptions): Promise<pg.Client> {
  const client = await connect(target.url, { connectTimeoutMs: target.connectTimeoutMs });
  await configureSession(client, options);
  return client;
}

async function configureSession(client: pg.Client, options: LockOptions): Promise<void> {
  // Fail fast instead of queueing behind application traffic; and if dbkit itself dies (SIGKILL,
  // lost laptop), let the server notice within a second and roll the migration back instead of
  // running it to completion while holding its locks.
  await client.query(sessionSettingsSql(options));
}

/**
 * The session settings every migration runs under (also re-applied after a Supabase migration's
 * RESET ALL); `local` for the transaction only (through a transaction pooler, where a session
 * setting would stay on a server session other clients get).
 */
export function sessionSettingsSql(options: { lockTimeoutMs: number; statementTimeoutMs: number }, local = false): string {
  const set = local ? 'SET LOCAL' : 'SET';
  return `${set} lock_timeout = ${Math.round(options.lockTimeoutMs)}; ${set} statement_timeout = ${Math.round(options.statementTimeoutMs)}; ${set} client_connection_check_interval = 1000`;
}

/**
 * Runs `fn` holding the migration lock of the target database. `connection`, when given, is an
 * open connection to the target that the session takes over (and closes).
 */
export async function withMigrationLock<T>(target: DatabaseTarget, options: LockOptions, fn: (session: LockedSession) => Promise<T>, connection?: pg.Client): Promise<T> {
  const key = lockKeyFor(target.databaseName);
  const onWaiting = (holder: { pid: number; application: string } | null) =>
    options.reporter.info(`Waiting up to ${Math.round(options.lockWaitMs / 1000)} s for another dbkit operation on ${target.databaseName}${holder ? ` (pid ${holder.pid}, ${holder.application || 'unknown'})` : ''} to finish...`);

  if (options.pooler?.path === 'transaction-pooler') {
    if (options.exclusiveCopy) throw new Error('a template-copy backup through a transaction pooler must be refused before the lock');
    options.reporter.info('    no session lock through a transaction pooler: each migration takes its lock inside its own transaction');
    const client = connection ?? (await connect(target.url, { connectTimeoutMs: target.connectTimeoutMs }));
    try {
      return await fn({ client, withoutTargetConnection: () => Promise.reject(new Error('withoutTargetConnection needs exclusiveCopy')) });
    } finally {
      await client.end().catch(() => {});
    }
  }
  const inner = async (): Promise<T> => {
    let client = connection ?? (await sessionClient(target, options));
    if (connection) await configureSession(connection, options);
    const lockAndRun = async <R>(c: pg.Client, body: () => Promise<R>) => withAdvisoryLock(c, key, options.lockWaitMs, body, { onWaiting });
    try {
      return await lockAndRun(client, async () => {
        const session: LockedSession = {
          get client() {
            return client;
          },
          async withoutTargetConnection(body) {
            if (!options.exclusiveCopy) throw new Error('withoutTargetConnection needs exclusiveCopy');
            await client.query('SELECT pg_advisory_unlock($1, $2)', key);
            await client.end();
            const result = await body();
            client = await sessionClient(target, options);
            const { rows } = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1, $2) AS ok', key);
            if (!rows[0]?.ok) throw new DbkitError('LOCK_BUSY', 'another process took the migration lock while the backup was copied', { hint: 'the backup is kept; re-run the command' });
            return result;
          },
        };
        return fn(session);
      });
    } finally {
      await client.end().catch(() => {});
    }
  };

  if (!options.exclusiveCopy) return inner();
  try {
    const maintenance = await connect(withDatabase(target.url, maintenanceDatabase(target.databaseName)), { connectTimeoutMs: target.connectTimeoutMs });
    try {
      return await withAdvisoryLock(maintenance, key, options.lockWaitMs, inner, { onWaiting });
    } finally {
      await maintenance.end().catch(() => {});
    }
  } finally {
    // inner() closes it; this covers failing before inner() ran.
    await connection?.end().catch(() => {});
  }
}

/**
 * Expectations declared beside the migrations (<migrations>/support/expectations.ts), if any.
 * Looked for on every call: jiti loads the module once per process, and a folder that had none
 * at the last call may have one now.
 */
export async function loadExpectations(migrationsDir: string): Promise<ExpectationSet> {
  const candidates = ['expectations.ts', 'expectations.js'].map((f) => path.join(migrationsDir, 'support', f));
  const file = candidates.find((f) => existsSync(f));
  let set: ExpectationSet = {};
  if (file) {
    try {
      const jiti = loadJiti();
      const mod = (await jiti.import(file)) as { expectations?: ExpectationSet };
      set = mod.expectations ?? {};
    } catch (error) {
      throw new DbkitError('PREFLIGHT_FAILED', `${file} cannot be loaded: ${errorMessage(error).split('\n')[0]}`);
    }
  }
  return set;
}

export async function runValidation(client: pg.ClientBase, expectations: ExpectationSet, targets: readonly ValidationTarget[]): Promise<CheckResult[]> {
  if (targets.every((t) => !expectations[t.migration])) return [];
  const snapshot = await validationSnapshot(client);
  const { rows: roles } = await client.query<{ name: string; bypassRls: boolean; superuser: boolean }>(
    'SELECT rolname AS name, rolbypassrls AS "bypassRls", rolsuper AS superuser FROM pg_roles WHERE rolname = ANY($1)',
    [rolesMentioned(expectations)],
  );
  return validate(expectations, targets, { snapshot, roles });
}

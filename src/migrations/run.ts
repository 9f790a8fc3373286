/**
 * Runs one migration, in one direction, through node-pg-migrate's programmatic runner (not a
 * fork): dbkit hands it an already-locked connection, and a loader that appends the checksum
 * bookkeeping (and the caller's hooks: the foreign history kept in step) to the migration so that
 * it commits or rolls back together with the migration.
 */
import { loadNodePgMigrate } from '../lazy.js';
import type pg from 'pg';
import { DbkitError, errorMessage, pgErrorInfo } from '../errors.js';
import { formatDuration } from '../core/duration.js';
import { locateInStatement } from '../core/sql-position.js';
import { invokeAction, renderMigration, type Direction, type LoadedMigration, type MigrationModule } from './load.js';
import { forgetChecksumSql, readApplied, recordChecksumSql, MIGRATIONS_TABLE, TRACKING_SCHEMA } from './tracking.js';
import { currentDatabase, ensureTrackingGuarded, guardSql, isGuardSkip, isGuardWait, isStateMoved, type GuardSettings } from './exactly-once.js';
import { MIGRATION_EXTENSIONS, runnerIgnorePattern, SQL_EXTENSION } from './files.js';
import { checkSteps, describeControl, TRANSACTION_CONTROL_HINT } from './sql-guard.js';
import { loadSqlParser } from '../core/sql-parse.js';
import type { MigrationBuilder } from 'node-pg-migrate';

/** A real connection that remembers the last statement sent, to point at the failing line. */
export interface RecordingClient {
  query: pg.Client['query'];
  lastStatement(): string;
  /** How many queries were sent so far. */
  sent(): number;
}

export function recordingClient(client: pg.ClientBase): RecordingClient {
  let last = '';
  let sent = 0;
  const query = ((textOrConfig: string | pg.QueryConfig, values?: unknown[]) => {
    last = typeof textOrConfig === 'string' ? textOrConfig : textOrConfig.text;
    sent += 1;
    return client.query(textOrConfig as string, values as unknown[]);
  }) as pg.Client['query'];
  return { query, lastStatement: () => last, sent: () => sent };
}

/** SQL the caller adds to each migration's own transaction, before and after the migration's statements. */
export interface StepHooks {
  before(migration: LoadedMigration, direction: Direction): string[];
  after(migration: LoadedMigration, direction: Direction): string[];
}

const NO_HOOKS: StepHooks = { before: () => [], after: () => [] };

/** What a migration built, known once it is built and before any of it is sent. */
interface Built {
  transactional: boolean;
  /** Steps sent before the migration's own (hooks). */
  ownStart: number;
  /** The migration's own steps. */
  ownSteps: number;
}

/** The last line of defence for migrations that read the database while building (pre-flight checks the others). */
function guardBuilt(migration: LoadedMigration, direction: Direction, pgm: MigrationBuilder, ownStart: number): Built {
  const steps = pgm.getSqlSteps();
  const check = checkSteps(steps.slice(ownStart));
  if (check.control) {
    throw new DbkitError('PREFLIGHT_FAILED', `${migration.name}: its ${direction} ${describeControl(check.control)}; nothing of it was run`, { hint: TRANSACTION_CONTROL_HINT });
  }
  return { transactional: pgm.isUsingTransaction(), ownStart, ownSteps: steps.length - ownStart };
}

function withBookkeeping(migration: LoadedMigration, hooks: StepHooks, guard: GuardSettings, folder: readonly string[], onBuild: (name: string) => void, onBuilt: (built: Built) => void): MigrationModule {
  const { module, name, fileChecksum, sqlChecksum } = migration;
  const down = module.down;
  const run = async (pgm: MigrationBuilder, direction: Direction, own: () => Promise<void>, bookkeeping: string) => {
    onBuild(name);
    // The guard goes first, before any hook (a Supabase folder's RESET ALL comes after it), and
    // counts as one of the steps sent before the migration's own.
    const before = [guardSql(migration, direction, guard, folder), ...hooks.before(migration, direction)];
    for (const statement of before) pgm.sql(statement);
    await own();
    onBuilt(guardBuilt(migration, direction, pgm, before.length));
    pgm.sql(bookkeeping);
    for (const statement of hooks.after(migration, direction)) pgm.sql(statement);
  };
  return {
    shorthands: module.shorthands,
    up: (pgm) => run(pgm, 'up', () => invokeAction(module.up, pgm), recordChecksumSql(name, fileChecksum, sqlChecksum)),
    down:
      down === false || migration.reversibility.kind === 'irreversible'
        ? false
        : (pgm) =>
            run(
              pgm,
              'down',
              async () => {
                if (down) return invokeAction(down, pgm);
                // No down: the one node-pg-migrate infers (the up in reverse mode), rendered as pre-flight checked it.
                const inferred = await renderMigration(module, 'down');
                if (!inferred.transactional) pgm.noTransaction();
                for (const statement of inferred.statements) pgm.sql(statement);
              },
              forgetChecksumSql(name),
            ),
  };
}

export const STEP_STATUSES = ['applied', 'reverted', 'failed', 'already-applied', 'already-reverted'] as const;
export type StepStatus = (typeof STEP_STATUSES)[number];

export interface StepOutcome {
  name: string;
  direction: Direction;
  /** already-applied / already-reverted: another session did it first; the guard kept it from running twice. */
  status: StepStatus;
  durationMs: number;
  error?: DbkitError;
  /** false: it ran outside a transaction (pgm.noTransaction()). */
  transactional: boolean;
  /** A failure outside a transaction after some of its steps committed. */
  partial?: { stepsCommitted: number; stepsTotal: number; failedStatement: string };
}

export interface RunStepsOptions {
  client: pg.ClientBase;
  migrationsDir: string;
  migrations: readonly LoadedMigration[];
  /** The migrations to run, in the order they run: pending ones oldest first for up, applied ones newest first for down. */
  names: readonly string[];
  direction: Direction;
  lockTimeoutMs: number;
  /** How long each migration's guard waits for another dbkit's migration transaction (--lock-wait; default 60 s). */
  lockWaitMs?: number;
  /** statement_timeout of each migration statement (default 0: none). */
  statementTimeoutMs?: number;
  onStart?: (name: string) => void;
  onFinish?: (outcome: StepOutcome) => void;
  log?: (line: string) => void;
  /** SQL added to each migration's transaction (the foreign history kept in step). */
  hooks?: StepHooks;
  /** The verified backup taken before this run, named in the recovery hint of a part-way failure. */
  backupId?: string | null;
}

/**
 * Runs `names` through runner() calls; node-pg-migrate gives each migration its own transaction.
 * The bookkeeping wrapper sees each migration just before it runs, which gives per-migration
 * progress and timings and guards against dbkit and the runner disagreeing on the order. When a
 * migration's guard finds it already done by another session, that migration is reported as such,
 * what is left is planned again from dbkit's tracking, and the runner starts again on it. Stops at
 * the first failure; returns one outcome per migration that was attempted.
 */
export async function runMigrationSteps(options: RunStepsOptions): Promise<StepOutcome[]> {
  const { client, direction } = options;
  const outcomes: StepOutcome[] = [];
  if (options.names.length === 0) return outcomes;
  const byPath = new Map(options.migrations.map((m) => [m.path, m]));
  const recorder = recordingClient(client);
  const log = options.log ?? (() => {});
  const report = (outcome: StepOutcome) => {
    outcomes.push(outcome);
    options.onFinish?.(outcome);
  };
  // What is left to run, in order; the head is the migration running or about to.
  let queue = [...options.names];
  type Current = { name: string; started: number; built: Built | null; sentBefore: number };
  let current: Current | null = null;
  const finishCurrent = () => {
    if (!current) return;
    report({ name: current.name, direction, status: direction === 'up' ? 'applied' : 'reverted', durationMs: performance.now() - current.started, transactional: current.built?.transactional ?? true });
    queue.shift();
    current = null;
  };
  const onBuild = (name: string) => {
    // The previous migration's transaction has committed once the runner builds the next one.
    finishCurrent();
    const expected = queue[0];
    if (name !== expected) throw new PlanMismatch(`node-pg-migrate was about to run ${name} where dbkit planned ${expected ?? 'nothing'}; nothing of it was run`);
    current = { name, started: performance.now(), built: null, sentBefore: recorder.sent() };
    options.onStart?.(name);
  };
  const onBuilt = (built: Built) => {
    if (!current) return;
    current.built = built;
    current.sentBefore = recorder.sent();
  };
  const hooks = options.hooks ?? NO_HOOKS;
  const { runner } = await loadNodePgMigrate();
  // guardBuilt parses what each migration builds.
  await loadSqlParser();
  // Created (or given its unique name index) under the guard's lock: concurrent first runs do not race.
  await ensureTrackingGuarded(client);
  const folder = options.migrations.map((m) => m.name);
  const guard: GuardSettings = {
    databaseName: await currentDatabase(client),
    lockWaitMs: options.lockWaitMs ?? 60_000,
    lockTimeoutMs: options.lockTimeoutMs,
    statementTimeoutMs: options.statementTimeoutMs ?? 0,
  };
  while (queue.length > 0) {
    try {
      await runner({
        dbClient: recorder as unknown as pg.ClientBase,
        dir: options.migrationsDir,
        migrationsSchema: TRACKING_SCHEMA,
        migrationsTable: MIGRATIONS_TABLE,
        createMigrationsSchema: true,
        direction,
        count: queue.length,
        ...(queue.length === 1 ? { file: queue[0] } : {}),
        noLock: true,
        singleTransaction: false,
        checkOrder: true,
        // The runner lists the folder itself: let it see exactly the files dbkit read.
        ignorePattern: runnerIgnorePattern(options.migrations),
        migrationLoaderStrategies: [
          {
            extensions: [...MIGRATION_EXTENSIONS, SQL_EXTENSION],
            loader: async (paths: string[]) =>
              paths.map((p) => {
                const migration = byPath.get(p);
                if (!migration) throw new Error(`${p} appeared after dbkit read the migrations folder`);
                return { id: p, filePaths: [p], actions: withBookkeeping(migration, hooks, guard, folder, onBuild, onBuilt) };
              }),
          },
        ],
        logger: { debug: () => {}, info: log, warn: log, error: () => {} },
      });
      finishCurrent();
      if (queue.length === 0) return outcomes;
      // The runner found less to do than planned: another session did some of it.
      const before = queue.join();
      queue = await replan(client, queue, null, direction, report);
      if (queue.length > 0 && queue.join() === before) {
        reportFailure(new Error(`node-pg-migrate found nothing to run where dbkit planned ${queue[0]}`));
        return outcomes;
      }
    } catch (error) {
      // The runner leaves an external client inside the failed transaction: end it.
      await client.query('ROLLBACK').catch(() => {});
      if (isGuardSkip(error) && current) {
        const skipped: Current = current;
        current = null;
        queue = await replan(client, queue, skipped, direction, report);
        continue;
      }
      if (error instanceof PlanMismatch) {
        // The runner read dbkit's tracking after another session moved it: plan again from it.
        const before = queue.join();
        queue = await replan(client, queue, null, direction, report);
        if (queue.join() !== before) continue;
        const head = queue[0] ?? '';
        current = null;
        reportFailure(
          new DbkitError('LOCK_BUSY', `${head}: another session changed the applied migrations under this run (${error.message.replace(/; nothing of it was run$/, '')})`, {
            hint: `nothing of ${head} was run; run dbkit status, then re-run the command`,
          }),
        );
        return outcomes;
      }
      reportFailure(error);
      return outcomes;
    }
  }
  return outcomes;

  function reportFailure(error: unknown): void {
    const failed: Current = (current as Current | null) ?? { name: queue[0] ?? options.names[0]!, started: performance.now(), built: null, sentBefore: recorder.sent() };
    current = null;
    const transactional = failed.built?.transactional ?? true;
    // Outside a transaction every step the server finished stays: the failing one is the last sent.
    const partial =
      !transactional && failed.built && !(error instanceof DbkitError)
        ? {
            stepsCommitted: Math.max(0, Math.min(recorder.sent() - failed.sentBefore - 1 - failed.built.ownStart, failed.built.ownSteps)),
            stepsTotal: failed.built.ownSteps,
            failedStatement: firstLine(recorder.lastStatement()),
          }
        : undefined;
    const described =
      error instanceof DbkitError
        ? error
        : isStateMoved(error)
          ? new DbkitError('LOCK_BUSY', `${failed.name}: ${errorMessage(error).replace(/^dbkit: /, '')}`, {
              hint: `nothing of ${failed.name} was run; run dbkit status, then re-run the command`,
            })
          : isGuardWait(error, recorder.lastStatement())
          ? new DbkitError('LOCK_BUSY', `${failed.name}: another dbkit session kept migrating this database for longer than --lock-wait (${formatDuration(guard.lockWaitMs)})`, {
              hint: `nothing of ${failed.name} was run; re-run when the other run has finished, or raise --lock-wait`,
            })
          : describeFailure(error, failed.name, direction, recorder.lastStatement(), options.lockTimeoutMs, partial, options.backupId ?? null);
    report({ name: failed.name, direction, status: 'failed', durationMs: performance.now() - failed.started, transactional, ...(partial ? { partial } : {}), error: described });
  }
}

/** The runner chose another migration than dbkit planned (nothing of it was sent). */
class PlanMismatch extends Error {}

/**
 * After the guard skipped `skipped`: it is reported as done by another session, and so is every
 * other queued migration that dbkit's tracking now shows done; the rest is what is left to run.
 */
async function replan(client: pg.ClientBase, queue: readonly string[], skipped: { name: string; started: number; built: Built | null } | null, direction: Direction, report: (o: StepOutcome) => void): Promise<string[]> {
  const status = direction === 'up' ? 'already-applied' : 'already-reverted';
  if (skipped) report({ name: skipped.name, direction, status, durationMs: performance.now() - skipped.started, transactional: skipped.built?.transactional ?? true });
  const applied = new Set((await readApplied(client)).map((m) => m.name));
  const left: string[] = [];
  for (const name of queue) {
    if (name === skipped?.name) continue;
    const done = direction === 'up' ? applied.has(name) : !applied.has(name);
    if (done) report({ name, direction, status, durationMs: 0, transactional: true });
    else left.push(name);
  }
  return left;
}

export interface RunStepOptions extends Omit<RunStepsOptions, 'names'> {
  name: string;
}

/** Runs a single migration in one direction (its own transaction). */
export async function runMigrationStep(options: RunStepOptions): Promise<StepOutcome> {
  const [outcome] = await runMigrationSteps({ ...options, names: [options.name] });
  return outcome!;
}

function describeFailure(error: unknown, name: string, direction: Direction, statement: string, lockTimeoutMs: number, partial: StepOutcome['partial'], backupId: string | null): DbkitError {
  const pg = pgErrorInfo(error);
  const verb = direction === 'up' ? 'migration' : 'down of migration';
  if (partial && partial.stepsCommitted > 0) return describePartial(error, name, direction, statement, partial, backupId);
  if (pg?.code === '55P03') {
    return new DbkitError('MIGRATION_FAILED', `${verb} ${name} could not take a lock within ${formatDuration(lockTimeoutMs)} (lock_timeout): another session holds a conflicting lock`, {
      pg,
      hint: `nothing of ${name} was applied; retry when traffic is lower, or raise --lock-timeout. Statement: ${firstLine(statement)}`,
    });
  }
  if (pg?.code === '57014') {
    return new DbkitError('MIGRATION_FAILED', `${verb} ${name} was cancelled (statement_timeout or cancel request)`, { pg, hint: `nothing of ${name} was applied. Statement: ${firstLine(statement)}` });
  }
  const message = errorMessage(error).replace(/^Error loading migration files: /, '');
  const where = pg?.position ? `\n${locateInStatement(statement, pg.position)}` : statement ? `\n  in: ${firstLine(statement)}` : '';
  const detail = [pg?.detail ? `detail: ${pg.detail}` : '', pg?.hint ? `hint: ${pg.hint}` : ''].filter(Boolean).join('\n  ');
  return new DbkitError('MIGRATION_FAILED', `${verb} ${name} failed: ${message}${where}${detail ? `\n  ${detail}` : ''}`, {
    pg,
    hint: partial ? `${name} ran outside a transaction but failed at its first step: nothing of it was applied` : `${name} was rolled back: the database is exactly as it was before it`,
    cause: error,
  });
}

/** A failure outside a transaction after some steps committed: say exactly what is certain and what is not. */
function describePartial(error: unknown, name: string, direction: Direction, statement: string, partial: NonNullable<StepOutcome['partial']>, backupId: string | null): DbkitError {
  const pg = pgErrorInfo(error);
  const verb = direction === 'up' ? 'migration' : 'down of migration';
  const where = pg?.position ? `\n${locateInStatement(statement, pg.position)}` : statement ? `\n  in: ${firstLine(statement)}` : '';
  const state = direction === 'up' ? 'not recorded as applied' : 'still recorded as applied';
  const restore = backupId ? `restore the verified backup taken before it (dbkit restore ${backupId} --in-place)` : 'restore a backup taken before it (dbkit backups lists them)';
  const n = partial.stepsCommitted;
  const what =
    n >= partial.stepsTotal
      ? `failed outside a transaction (pgm.noTransaction()) after all ${partial.stepsTotal} of its steps committed, while dbkit recorded it: ${errorMessage(error)}${where}\n  its steps stay in the database; ${name} is ${state}`
      : `failed outside a transaction (pgm.noTransaction()) at step ${n + 1} of ${partial.stepsTotal}: ${errorMessage(error)}${where}\n  its first ${n} step${n === 1 ? '' : 's'} committed and stay in the database; step ${n + 1} and the rest did not run; ${name} is ${state}`;
  return new DbkitError(
    'MIGRATION_PARTIAL',
    `${verb} ${name} ${what}`,
    {
      pg,
      hint: `the database is between states: dbkit status marks ${name}. Either ${restore}, or finish or undo its first ${partial.stepsCommitted} step${partial.stepsCommitted === 1 ? '' : 's'} by hand and run dbkit ${direction === 'up' ? 'apply' : 'rollback'} again`,
      cause: error,
    },
  );
}

function firstLine(text: string): string {
  const line = text.trim().split('\n')[0] ?? '';
  return line.length > 160 ? `${line.slice(0, 157)}...` : line;
}

/**
 * Runs one migration, in one direction, through node-pg-migrate's programmatic runner (not a
 * fork): dbkit hands it an already-locked connection, and a loader that appends the checksum
 * bookkeeping to the migration so that it commits or rolls back together with the migration.
 */
import { loadNodePgMigrate } from '../lazy.js';
import type pg from 'pg';
import { DbkitError, errorMessage, pgErrorInfo } from '../errors.js';
import { formatDuration } from '../core/duration.js';
import { locateInStatement } from '../core/sql-position.js';
import type { Direction, LoadedMigration, MigrationAction, MigrationModule } from './load.js';
import { forgetChecksumSql, recordChecksumSql, MIGRATIONS_TABLE, TRACKING_SCHEMA } from './tracking.js';
import { MIGRATION_EXTENSIONS } from './files.js';
import type { MigrationBuilder } from 'node-pg-migrate';

/** A real connection that remembers the last statement sent, to point at the failing line. */
export interface RecordingClient {
  query: pg.Client['query'];
  lastStatement(): string;
}

export function recordingClient(client: pg.ClientBase): RecordingClient {
  let last = '';
  const query = ((textOrConfig: string | pg.QueryConfig, values?: unknown[]) => {
    last = typeof textOrConfig === 'string' ? textOrConfig : textOrConfig.text;
    return client.query(textOrConfig as string, values as unknown[]);
  }) as pg.Client['query'];
  return { query, lastStatement: () => last };
}

async function invoke(action: MigrationAction, pgm: MigrationBuilder): Promise<void> {
  if (action.length === 2) await new Promise<void>((resolve, reject) => Promise.resolve(action(pgm, resolve)).catch(reject));
  else await action(pgm);
}

function withBookkeeping(migration: LoadedMigration, onBuild: (name: string) => void): MigrationModule {
  const { module, name, fileChecksum, sqlChecksum } = migration;
  const down = module.down;
  return {
    shorthands: module.shorthands,
    up: async (pgm) => {
      onBuild(name);
      await invoke(module.up, pgm);
      pgm.sql(recordChecksumSql(name, fileChecksum, sqlChecksum));
    },
    down:
      down === false
        ? false
        : async (pgm) => {
            onBuild(name);
            await invoke(down, pgm);
            pgm.sql(forgetChecksumSql(name));
          },
  };
}

export interface StepOutcome {
  name: string;
  direction: Direction;
  status: 'applied' | 'reverted' | 'failed';
  durationMs: number;
  error?: DbkitError;
}

export interface RunStepsOptions {
  client: pg.ClientBase;
  migrationsDir: string;
  migrations: readonly LoadedMigration[];
  /** The migrations to run, in the order they run: pending ones oldest first for up, applied ones newest first for down. */
  names: readonly string[];
  direction: Direction;
  lockTimeoutMs: number;
  onStart?: (name: string) => void;
  onFinish?: (outcome: StepOutcome) => void;
  log?: (line: string) => void;
}

/**
 * Runs `names` through one runner() call; node-pg-migrate still gives each migration its own
 * transaction. The bookkeeping wrapper sees each migration just before it runs, which gives
 * per-migration progress and timings and guards against dbkit and the runner disagreeing on the
 * order. Stops at the first failure; returns one outcome per migration that was attempted.
 */
export async function runMigrationSteps(options: RunStepsOptions): Promise<StepOutcome[]> {
  const { client, direction, names } = options;
  const outcomes: StepOutcome[] = [];
  if (names.length === 0) return outcomes;
  const byPath = new Map(options.migrations.map((m) => [m.path, m]));
  const recorder = recordingClient(client);
  const log = options.log ?? (() => {});
  let current: { name: string; started: number } | null = null;
  const finishCurrent = () => {
    if (!current) return;
    const outcome: StepOutcome = { name: current.name, direction, status: direction === 'up' ? 'applied' : 'reverted', durationMs: performance.now() - current.started };
    outcomes.push(outcome);
    options.onFinish?.(outcome);
    current = null;
  };
  const onBuild = (name: string) => {
    // The previous migration's transaction has committed once the runner builds the next one.
    finishCurrent();
    const expected = names[outcomes.length];
    if (name !== expected) throw new Error(`node-pg-migrate was about to run ${name} where dbkit planned ${expected ?? 'nothing'}; nothing of it was run`);
    current = { name, started: performance.now() };
    options.onStart?.(name);
  };
  const { runner } = await loadNodePgMigrate();
  try {
    await runner({
      dbClient: recorder as unknown as pg.ClientBase,
      dir: options.migrationsDir,
      migrationsSchema: TRACKING_SCHEMA,
      migrationsTable: MIGRATIONS_TABLE,
      createMigrationsSchema: true,
      direction,
      count: names.length,
      ...(names.length === 1 ? { file: names[0] } : {}),
      noLock: true,
      singleTransaction: false,
      checkOrder: true,
      migrationLoaderStrategies: [
        {
          extensions: [...MIGRATION_EXTENSIONS],
          loader: async (paths: string[]) =>
            paths.map((p) => {
              const migration = byPath.get(p);
              if (!migration) throw new Error(`${p} appeared after dbkit read the migrations folder`);
              return { id: p, filePaths: [p], actions: withBookkeeping(migration, onBuild) };
            }),
        },
      ],
      logger: { debug: () => {}, info: log, warn: log, error: () => {} },
    });
    finishCurrent();
  } catch (error) {
    // The runner leaves an external client inside the failed transaction: end it.
    await client.query('ROLLBACK').catch(() => {});
    const failed: { name: string; started: number } = current ?? { name: names[outcomes.length] ?? names[0]!, started: performance.now() };
    current = null;
    const outcome: StepOutcome = {
      name: failed.name,
      direction,
      status: 'failed',
      durationMs: performance.now() - failed.started,
      error: describeFailure(error, failed.name, direction, recorder.lastStatement(), options.lockTimeoutMs),
    };
    outcomes.push(outcome);
    options.onFinish?.(outcome);
  }
  return outcomes;
}

export interface RunStepOptions extends Omit<RunStepsOptions, 'names'> {
  name: string;
}

/** Runs a single migration in one direction (its own transaction). */
export async function runMigrationStep(options: RunStepOptions): Promise<StepOutcome> {
  const [outcome] = await runMigrationSteps({ ...options, names: [options.name] });
  return outcome!;
}

function describeFailure(error: unknown, name: string, direction: Direction, statement: string, lockTimeoutMs: number): DbkitError {
  const pg = pgErrorInfo(error);
  const verb = direction === 'up' ? 'migration' : 'down of migration';
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
    hint: `${name} was rolled back: the database is exactly as it was before it`,
    cause: error,
  });
}

function firstLine(text: string): string {
  const line = text.trim().split('\n')[0] ?? '';
  return line.length > 160 ? `${line.slice(0, 157)}...` : line;
}

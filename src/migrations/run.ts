/**
 * Runs one migration, in one direction, through node-pg-migrate's programmatic runner (not a
 * fork): dbkit hands it an already-locked connection, and a loader that appends the checksum
 * bookkeeping to the migration so that it commits or rolls back together with the migration.
 */
import { runner } from 'node-pg-migrate';
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

function withBookkeeping(migration: LoadedMigration): MigrationModule {
  const { module, name, fileChecksum, sqlChecksum } = migration;
  const down = module.down;
  return {
    shorthands: module.shorthands,
    up: async (pgm) => {
      await invoke(module.up, pgm);
      pgm.sql(recordChecksumSql(name, fileChecksum, sqlChecksum));
    },
    down:
      down === false
        ? false
        : async (pgm) => {
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

export interface RunStepOptions {
  client: pg.ClientBase;
  migrationsDir: string;
  migrations: readonly LoadedMigration[];
  name: string;
  direction: Direction;
  lockTimeoutMs: number;
  log?: (line: string) => void;
}

export async function runMigrationStep(options: RunStepOptions): Promise<StepOutcome> {
  const { client, name, direction } = options;
  const byPath = new Map(options.migrations.map((m) => [m.path, m]));
  const recorder = recordingClient(client);
  const log = options.log ?? (() => {});
  const started = performance.now();
  try {
    await runner({
      dbClient: recorder as unknown as pg.ClientBase,
      dir: options.migrationsDir,
      migrationsSchema: TRACKING_SCHEMA,
      migrationsTable: MIGRATIONS_TABLE,
      direction,
      file: name,
      count: direction === 'down' ? 1 : Number.POSITIVE_INFINITY,
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
              return { id: p, filePaths: [p], actions: withBookkeeping(migration) };
            }),
        },
      ],
      logger: { debug: () => {}, info: log, warn: log, error: () => {} },
    });
    return { name, direction, status: direction === 'up' ? 'applied' : 'reverted', durationMs: performance.now() - started };
  } catch (error) {
    // The runner leaves an external client inside the failed transaction: end it.
    await client.query('ROLLBACK').catch(() => {});
    return { name, direction, status: 'failed', durationMs: performance.now() - started, error: describeFailure(error, name, direction, recorder.lastStatement(), options.lockTimeoutMs) };
  }
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

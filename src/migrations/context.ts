/**
 * What apply, rollback and status share about a migrations folder and a database: the folder read
 * as its tool reads it, the migrations loaded, the state of the database (dbkit's tracking, the
 * tool's own history, part-way failures) planned into one view, the adoption step, and the SQL
 * each migration's transaction carries to keep the tool's history in step.
 */
import path from 'node:path';
import type pg from 'pg';
import type { ResolvedConfig } from '../config.js';
import { DbkitError } from '../errors.js';
import { readMigrationFolder, type MigrationFolder } from './files.js';
import { loadMigrations, type LoadedMigration } from './load.js';
import { planMigrations, type MigrationPlan } from './plan.js';
import { readApplied, type AppliedMigration } from './tracking.js';
import { describeHistory, historyKeyOf, historySourceFor, historyStepSql, readForeignHistory, type ForeignHistory, type HistorySource } from './history.js';
import { recordAdoption } from './adopt.js';
import { clearPartialSql, readPartialMarks, type PartialMark } from './partial.js';
import { sessionSettingsSql } from './session.js';
import type { StepHooks } from './run.js';
import { DIRECT, type PoolerFacts } from '../core/pooler.js';

export interface MigrationContext {
  folder: MigrationFolder;
  migrations: LoadedMigration[];
  /** The history the folder's own tool keeps, adopted and kept in step; null when there is none to keep. */
  historySource: HistorySource | null;
}

/** Reads and loads the migrations folder (pre-flight: nothing touches the database). */
export async function loadMigrationContext(config: ResolvedConfig): Promise<MigrationContext> {
  const folder = readMigrationFolder(config.migrationsDir, { cwd: config.cwd, ignorePattern: config.ignorePattern });
  const loaded = await loadMigrations(folder.files, config.cwd, folder.format);
  const historySource = historySourceFor(folder.format, config);
  const migrations = historySource ? loaded.map((m) => ({ ...m, historyKey: historyKeyOf(m, historySource.kind) })) : loaded;
  return { folder, migrations, historySource };
}

export interface DatabaseState {
  plan: MigrationPlan<LoadedMigration>;
  /** dbkit's tracking rows, in the order applied. */
  tracked: AppliedMigration[];
  /** The tool's history as read (null: no source configured). */
  history: ForeignHistory | null;
  partial: PartialMark[];
}

/** Reads dbkit's tracking, the tool's history and part-way failures, and plans. Read-only. */
export async function readState(client: pg.ClientBase, context: MigrationContext): Promise<DatabaseState> {
  const applied = await readApplied(client);
  const history = context.historySource ? await readForeignHistory(client, context.historySource) : null;
  const view = history?.exists ? { table: describeHistory(history.source), keys: history.entries.map((e) => e.key), appliedAt: history.entries.map((e) => e.appliedAt) } : null;
  return { plan: planMigrations(context.migrations, applied, view), tracked: applied, history, partial: await readPartialMarks(client) };
}

/**
 * Refuses to go on when applied migrations drifted, dbkit's tracking and the tool's history
 * disagree, or pending migrations sort before applied ones. `force` lets drift through (rollback).
 */
export function assertRunnable(state: DatabaseState, config: ResolvedConfig, force = false): void {
  const { plan } = state;
  const dir = path.relative(config.cwd, config.migrationsDir) || config.migrationsDir;
  if (plan.drift.length > 0 && !force) {
    throw new DbkitError('DRIFT', `applied migration${plan.drift.length > 1 ? 's' : ''} changed since ${plan.drift.length > 1 ? 'they were' : 'it was'} applied:\n  ${plan.drift.map((d) => `${dir}/${d.message}`).join('\n  ')}`, {
      hint: 'restore the original file (git checkout), and put new changes in a new migration. Nothing was changed.',
    });
  }
  if (plan.historyConflicts.length > 0 && state.history) {
    const table = describeHistory(state.history.source);
    throw new DbkitError('HISTORY_CONFLICT', `${plan.historyConflicts.join(', ')} ${plan.historyConflicts.length > 1 ? 'are' : 'is'} applied according to dbkit's tracking (dbkit.migrations) but not according to ${table}, which dbkit keeps in step`, {
      hint: `another tool reverted ${plan.historyConflicts.length > 1 ? 'them' : 'it'} (then restore the schema or revert with dbkit too), or ${plan.historyConflicts.length > 1 ? 'they were' : 'it was'} applied by dbkit before ${table} existed (then record ${plan.historyConflicts.length > 1 ? 'them' : 'it'} there as that tool would). Nothing was changed.`,
    });
  }
  if (plan.outOfOrder.length > 0) {
    const list = plan.outOfOrder.map((o) => `${o.name} (before ${o.before})`).join(', ');
    throw new DbkitError('PREFLIGHT_FAILED', `pending migration${plan.outOfOrder.length > 1 ? 's' : ''} ${list} sort${plan.outOfOrder.length > 1 ? '' : 's'} before ${plan.outOfOrder.length > 1 ? 'migrations' : 'a migration'} already applied`, {
      hint: 'rename them with a later timestamp prefix so they run after what is applied. Nothing was changed.',
    });
  }
}

/** The adoption step: what the tool applied is recorded in dbkit's tracking first. Returns the names adopted. */
export async function adoptStep(client: pg.ClientBase, context: MigrationContext, state: DatabaseState): Promise<string[]> {
  if (state.plan.adopt.length === 0 || !state.history) return [];
  await recordAdoption(client, context.migrations, state.plan.adopt, describeHistory(state.history.source));
  return state.plan.adopt.map((a) => a.name);
}

/**
 * What each migration's transaction carries besides its own SQL: for a Supabase folder, RESET ALL
 * first (the CLI resets the session before each file, so one file's set_config cannot leak into
 * the next) and dbkit's session settings again; after it, the tool's history row and the end of
 * an earlier part-way failure.
 */
export function stepHooks(context: MigrationContext, state: DatabaseState, config: ResolvedConfig, pooler: PoolerFacts = DIRECT): StepHooks {
  const marked = new Set(state.partial.map((p) => p.name));
  const history = state.history;
  const local = pooler.path === 'transaction-pooler';
  return {
    before: () => (context.folder.format === 'supabase' ? ['RESET ALL', sessionSettingsSql(config, local)] : []),
    after: (migration, direction) => [...(history ? historyStepSql(history, migration, direction) : []), ...(marked.has(migration.name) ? [clearPartialSql(migration.name)] : [])],
  };
}

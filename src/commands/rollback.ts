/**
 * dbkit rollback: pre-flight, plan (the last one, --count, --to, --all), confirmation, lock,
 * drift check, verified backup, each down in its own transaction, then the validation counts of
 * the state each down returns to. `rollbackMigrations` is the library API; `registerRollback`
 * the CLI.
 */
import type { Command } from 'commander';
import type { ResolvedConfig } from '../config.js';
import { DbkitError } from '../errors.js';
import type { Reporter } from '../output/terminal.js';
import { type DatabaseTarget, databaseFacts, describeTarget } from '../db/target.js';
import type { Drift } from '../migrations/plan.js';
import { checkPrivileges } from '../migrations/session.js';
import { assertRunnable, loadMigrationContext, readState, type DatabaseState, type MigrationContext } from '../migrations/context.js';
import { assertGuardable } from '../migrations/exactly-once.js';
import { BACKUP_SESSION_HINT, refuseBackupThroughPooler, type PoolerFacts } from '../core/pooler.js';
import { TOOL_NAMES } from '../migrations/history.js';
import { assertRevertible, describeSelection, parseRollbackSelection, planRollback, type BackupRef, type RollbackSelection } from '../migrations/rollback-plan.js';
import { listManifests } from '../backup/manifest.js';
import { chooseBackupStrategy } from '../backup/take.js';
import { backupNeeds } from '../backup/privileges.js';
import type { CheckResult } from '../core/validation.js';
import { formatDuration } from '../core/duration.js';
import { confirm } from '../output/confirm.js';
import type { ErrorDocument } from '../output/errors.js';
import { runtimeFor, settingOption } from '../runtime.js';
import type { BackupSummary } from '../pipeline/backup-step.js';
import { backupPlanNote } from '../pipeline/steps.js';
import { runMigrationPipeline } from '../pipeline/migration-pipeline.js';
import { validationFailure, validationStep } from '../pipeline/validation-step.js';

export interface RollbackOptions {
  selection: RollbackSelection;
  backup: boolean;
  /** Revert even when applied migration files drifted (their current down runs). */
  force: boolean;
  /** Skip the confirmation prompt. */
  yes: boolean;
}

export const ROLLBACK_RESULT_STATUSES = ['reverted', 'already-reverted', 'failed', 'skipped'] as const;
export type RollbackResultStatus = (typeof ROLLBACK_RESULT_STATUSES)[number];

export interface RollbackMigrationResult {
  name: string;
  status: RollbackResultStatus;
  durationMs: number | null;
  error?: ErrorDocument;
}

export interface RollbackReport {
  command: 'rollback';
  ok: boolean;
  database: { url: string; kind: DatabaseTarget['kind']; name: string };
  server: { version: string; versionNum: number };
  /** What sits between dbkit and the server (direct, or a pooler and how it was told). */
  connection: PoolerFacts;
  selection: RollbackSelection;
  /** Applied before the run, in the order they were applied. */
  appliedBefore: string[];
  /** What the run set out to revert, newest first. */
  toRevert: string[];
  /** Applied after the run. */
  applied: string[];
  /** Drifted migrations that --force went past. */
  drift: Drift[];
  /** Migrations the folder's own tool applied, recorded in dbkit's tracking (adopted) before reverting. */
  adopted: string[];
  backup: BackupSummary | null;
  backupSkipped: boolean;
  migrations: RollbackMigrationResult[];
  validation: CheckResult[];
  error: ErrorDocument | null;
  durationMs: number;
}

function checkRunnable(state: DatabaseState, config: ResolvedConfig, force: boolean): void {
  try {
    assertRunnable(state, config, force);
  } catch (error) {
    if (error instanceof DbkitError && error.code === 'DRIFT') {
      throw new DbkitError('DRIFT', error.message, { hint: 'restore the original file (git checkout) and retry, or pass --force to run the downs of the files as they are now. Nothing was changed.' });
    }
    throw error;
  }
}

function revertPlan(state: DatabaseState, context: MigrationContext, selection: RollbackSelection, backups: readonly BackupRef[]) {
  const rollback = planRollback(state.plan.applied, context.migrations.map((m) => m.name), selection);
  const migrations = context.migrations.map((m) => ({ name: m.name, irreversible: m.reversibility.kind === 'irreversible', ...(m.reversibility.kind === 'irreversible' ? { why: m.reversibility.why } : {}) }));
  assertRevertible(rollback.toRevert, migrations, { applied: state.plan.applied, backups });
  return rollback;
}

/** Verified backups of this database, newest first, as the refusal to cross an irreversible migration names them. */
async function backupsOf(config: ResolvedConfig, target: DatabaseTarget): Promise<BackupRef[]> {
  // A manifest still 'taking' belongs to a backup that is not finished (or was killed): never one to restore.
  return (await listManifests(config.backupDir)).filter((m) => m.status === 'done' && m.source.database === target.databaseName && m.source.kind === target.kind);
}


export function confirmationQuestion(target: DatabaseTarget, toRevert: readonly string[], backup: boolean): string {
  const n = toRevert.length;
  return [
    `Roll back ${n} migration${n === 1 ? '' : 's'} (${toRevert.join(', ')}) on ${describeTarget(target)}?`,
    ...toRevert.map((name, i) => `  ${i + 1}. revert ${name}`),
    backup ? 'A verified backup is taken first.' : 'WITHOUT a backup (--no-backup).',
  ].join('\n');
}

export async function rollbackMigrations(config: ResolvedConfig, options: RollbackOptions, reporter: Reporter): Promise<RollbackReport> {
  return runMigrationPipeline<RollbackReport>(
    config,
    {
      direction: 'down',
      reason: 'rollback',
      backup: options.backup,
      keepProbe: false,
      report: ({ target, server, pooler }) => ({
        command: 'rollback',
        ok: false,
        database: databaseFacts(target),
        server: { version: server.version, versionNum: server.versionNum },
        connection: pooler,
        selection: options.selection,
        appliedBefore: [],
        toRevert: [],
        applied: [],
        drift: [],
        adopted: [],
        backup: null,
        backupSkipped: !options.backup,
        migrations: [],
        validation: [],
        error: null,
        durationMs: 0,
      }),
      preflight: async ({ probe, server, pooler, target }, report) => {
        const context = await loadMigrationContext(config);
        await checkPrivileges(probe, server, { access: 'read', backupNeeds: [], purpose: 'dbkit rollback' });
        const state = await readState(probe, context);
        checkRunnable(state, config, options.force);
        const rollback = revertPlan(state, context, options.selection, await backupsOf(config, target));
        report.selection = rollback.selection;
        report.appliedBefore = rollback.applied;
        report.toRevert = rollback.toRevert;
        report.applied = rollback.applied;
        report.drift = state.plan.drift;
        const backupPlan = options.backup && rollback.toRevert.length > 0 ? chooseBackupStrategy(config.backupStrategy, server, config.pgBinDir) : null;
        if (backupPlan) refuseBackupThroughPooler(pooler, backupPlan.strategy, 'a backup', BACKUP_SESSION_HINT);
        assertGuardable(context.migrations, rollback.toRevert, pooler, 'dbkit rollback');
        if (rollback.toRevert.length > 0) await checkPrivileges(probe, server, { access: 'write', backupNeeds: backupPlan ? backupNeeds(backupPlan) : [], purpose: 'dbkit rollback' });
        return { context, backupPlan };
      },
      preflightDetail: (r, report) => `${report.appliedBefore.length} applied; reverting ${describeSelection(report.selection)}: ${report.toRevert.length}${backupPlanNote(r.backupPlan)}`,
      beforeLock: async (_connected, _preflight, report) => {
        for (const name of report.toRevert) reporter.info(`    ${name}`);
        if (report.drift.length > 0) reporter.warn(`--force: reverting although ${report.drift.map((d) => d.message).join('; ')}`);
        return report.toRevert.length === 0;
      },
      noBackupWarning: '--no-backup: rolling back WITHOUT a backup. If a down damages data there is nothing to restore from.',
      confirm: async ({ target }, report) => confirm(confirmationQuestion(target, report.toRevert, options.backup), { yes: options.yes }),
      plan: async (session, { context }, report, { target }) => {
        // What was shown (and confirmed) must still be what will happen.
        const assertUnchanged = async (when: string): Promise<DatabaseState> => {
          const state = await readState(session.client, context);
          checkRunnable(state, config, options.force);
          if (revertPlan(state, context, options.selection, await backupsOf(config, target)).toRevert.join() !== report.toRevert.join()) {
            throw new DbkitError('LOCK_BUSY', `the applied migrations changed ${when} (another dbkit or migration tool ran meanwhile)`, { hint: 'nothing was rolled back; run dbkit status, then re-run dbkit rollback' });
          }
          return state;
        };
        const state = await assertUnchanged('since the plan was made');
        return { state, names: report.toRevert, backup: true, backupMigrations: report.appliedBefore, afterBackup: () => assertUnchanged('while the backup was taken') };
      },
      adoptedDetail: (state) => `recorded ${state.plan.adopt.length} migration(s) applied by ${state.history ? TOOL_NAMES[state.history.source.kind] : ''} as applied, so that their downs can run`,
      afterEach: async (session, name, report, expectations) => {
        const checks = await validationStep(session.client, expectations, [{ migration: name, when: 'reverted' }], reporter);
        report.validation.push(...checks);
        if (!checks.some((c) => !c.ok)) return false;
        report.error = validationError(checks, `after reverting ${name}; stopped there`, report.backup);
        return true;
      },
      validationTargets: async (session, _outcomes, report, { context }) => {
        report.applied = (await readState(session.client, context)).plan.applied;
        const known = new Set(context.migrations.map((m) => m.name));
        return report.applied.filter((n) => known.has(n)).map((migration) => ({ migration, when: 'applied' as const }));
      },
      validation: { label: 'validation of what stays applied', where: 'for the migrations that stay applied', hint: validationHintFor },
    },
    reporter,
  );
}

function validationError(checks: CheckResult[], where: string, backup: BackupSummary | null): ErrorDocument {
  return validationFailure(checks, where, validationHintFor(backup));
}

function validationHintFor(backup: BackupSummary | null): string {
  return backup ? `inspect the database (dbkit status); dbkit restore ${backup.id} returns to the state before the rollback` : 'inspect the database (dbkit status)';
}

export function renderRollbackSummary(report: RollbackReport, reporter: Reporter): void {
  const reverted = report.migrations.filter((m) => m.status === 'reverted').length;
  const c = reporter.color;
  if (report.toRevert.length === 0) {
    reporter.info(report.appliedBefore.length === 0 ? 'Nothing to roll back: no migration is applied.' : 'Nothing to roll back.');
  } else if (report.ok) {
    const restore = report.backup ? ` Backup ${report.backup.id} was taken first (dbkit restore ${report.backup.id} --in-place returns to the state before the rollback).` : '';
    reporter.info(`${c.green(`Rolled back ${reverted} migration${reverted === 1 ? '' : 's'} in ${formatDuration(report.durationMs)}.`)} ${report.applied.length} still applied.${restore}`);
  } else {
    reporter.info(`Reverted ${reverted} of ${report.toRevert.length}; ${report.applied.length} still applied (dbkit status shows them).${report.backup ? ` Backup ${report.backup.id} was taken before any change.` : ''}`);
  }
}

export function registerRollback(program: Command): void {
  const command = program
    .command('rollback')
    .description('Revert applied migrations (the last one by default): confirmation, lock, drift check, verified backup, one transaction per down, validation of the reverted state.')
    .option('--count <n>', 'revert the last N applied migrations')
    .option('--to <migration>', 'revert every migration applied after this one (it stays applied)')
    .option('--all', 'revert every applied migration', false)
    .option('--force', 'revert even when applied migration files were edited since (their current down runs)', false)
    .option('-y, --yes', 'do not ask for confirmation (required when not in an interactive terminal)', false)
    .option('--no-backup', 'skip the backup taken first (said loudly; not recommended)');
  for (const name of ['backupStrategy', 'migrationsDir', 'ignorePattern', 'migrationsSchema', 'migrationsTable', 'backupDir', 'lockTimeout', 'lockWait', 'statementTimeout'] as const) settingOption(command, name);
  command
    .option('--json', 'print one JSON document (shape in README) instead of progress lines')
    .addHelpText('after', '\nExamples:\n  $ npx dbkit rollback                                   # the last migration, after a prompt\n  $ npx dbkit rollback --to 20251028120000_mind-attribution --yes\n  $ npx dbkit rollback --all --yes --json --db "$DATABASE_URL"')
    .action(async (opts: { count?: string; to?: string; all: boolean; force: boolean; yes: boolean; backup: boolean }, cmd: Command) => {
      const runtime = runtimeFor(cmd);
      const selection = parseRollbackSelection(opts);
      const report = await rollbackMigrations(runtime.config, { selection, backup: opts.backup, force: opts.force, yes: opts.yes }, runtime.reporter);
      runtime.finish(report, (r) => renderRollbackSummary(r, runtime.reporter));
    });
}

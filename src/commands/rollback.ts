/**
 * dbkit rollback: pre-flight, plan (the last one, --count, --to, --all), confirmation, lock,
 * drift check, verified backup, each down in its own transaction, then the validation counts of
 * the state each down returns to. `rollbackMigrations` is the library API; `registerRollback`
 * the CLI.
 */
import type { Command } from 'commander';
import type { ResolvedConfig } from '../config.js';
import { DbkitError } from '../errors.js';
import type { Reporter, Step } from '../output/terminal.js';
import { withDatabaseTarget } from '../embedded/target.js';
import { type DatabaseTarget, databaseFacts } from '../db/target.js';
import { describeTarget } from '../db/target.js';
import type { Drift } from '../migrations/plan.js';
import { runMigrationStep } from '../migrations/run.js';
import { checkPrivileges, connectStep, loadExpectations, withMigrationLock } from '../migrations/session.js';
import { adoptStep, assertRunnable, loadMigrationContext, readState, stepHooks, type DatabaseState, type MigrationContext } from '../migrations/context.js';
import { failureLabel, recordPartialFailure } from '../migrations/partial.js';
import { ALREADY_REVERTED, assertGuardable } from '../migrations/exactly-once.js';
import { BACKUP_SESSION_HINT, refuseBackupThroughPooler, type PoolerFacts } from '../core/pooler.js';
import { TOOL_NAMES } from '../migrations/history.js';
import { assertRevertible, describeSelection, parseRollbackSelection, planRollback, type BackupRef, type RollbackSelection } from '../migrations/rollback-plan.js';
import { listManifests } from '../backup/manifest.js';
import { chooseBackupStrategy, type BackupPlan } from '../backup/take.js';
import { backupNeeds } from '../backup/privileges.js';
import type { CheckResult } from '../core/validation.js';
import { formatDuration } from '../core/duration.js';
import { confirm } from '../output/confirm.js';
import { errorDocument, type ErrorDocument } from '../output/errors.js';
import { runtimeFor, settingOption } from '../runtime.js';
import { backupInSession, backupSummary, type BackupSummary } from '../pipeline/backup-step.js';
import { backupPlanNote, inStep } from '../pipeline/steps.js';
import { lockOptionsFor } from '../migrations/lock-options.js';
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
  const started = performance.now();
  return withDatabaseTarget(config, reporter, async (target) => {
    const { client: probe, server, pooler } = await connectStep(target, reporter);
    let step: Step;
    const report: RollbackReport = {
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
    };
    let context: MigrationContext;
    let backupPlan: BackupPlan | null;
    try {
      ({ context, backupPlan } = await inStep(
        reporter,
        'pre-flight',
        async () => {
          const loaded = await loadMigrationContext(config);
          await checkPrivileges(probe, server, { access: 'read', backupNeeds: [], purpose: 'dbkit rollback' });
          const state = await readState(probe, loaded);
          checkRunnable(state, config, options.force);
          const rollback = revertPlan(state, loaded, options.selection, await backupsOf(config, target));
          report.selection = rollback.selection;
          report.appliedBefore = rollback.applied;
          report.toRevert = rollback.toRevert;
          report.applied = rollback.applied;
          report.drift = state.plan.drift;
          const plan = options.backup && rollback.toRevert.length > 0 ? chooseBackupStrategy(config.backupStrategy, server, config.pgBinDir) : null;
          if (plan) refuseBackupThroughPooler(pooler, plan.strategy, 'a backup', BACKUP_SESSION_HINT);
          assertGuardable(loaded.migrations, rollback.toRevert, pooler, 'dbkit rollback');
          if (rollback.toRevert.length > 0) await checkPrivileges(probe, server, { access: 'write', backupNeeds: plan ? backupNeeds(plan) : [], purpose: 'dbkit rollback' });
          return { context: loaded, backupPlan: plan };
        },
        (r) => `${report.appliedBefore.length} applied; reverting ${describeSelection(report.selection)}: ${report.toRevert.length}${backupPlanNote(r.backupPlan)}`,
      ));
    } finally {
      await probe.end().catch(() => {});
    }
    for (const name of report.toRevert) reporter.info(`    ${name}`);
    if (report.drift.length > 0) reporter.warn(`--force: reverting although ${report.drift.map((d) => d.message).join('; ')}`);
    if (report.toRevert.length === 0) {
      report.ok = true;
      report.durationMs = performance.now() - started;
      return report;
    }
    if (!options.backup) reporter.warn('--no-backup: rolling back WITHOUT a backup. If a down damages data there is nothing to restore from.');
    await confirm(confirmationQuestion(target, report.toRevert, options.backup), { yes: options.yes });

    const lockOptions = { ...lockOptionsFor(config, reporter, backupPlan?.strategy === 'template'), pooler };
    step = reporter.step('lock');
    return withMigrationLock(target, lockOptions, async (session) => {
      step.done();
      // What was shown (and confirmed) must still be what will happen.
      const assertUnchanged = async (when: string): Promise<DatabaseState> => {
        const state = await readState(session.client, context);
        checkRunnable(state, config, options.force);
        if (revertPlan(state, context, options.selection, await backupsOf(config, target)).toRevert.join() !== report.toRevert.join()) {
          throw new DbkitError('LOCK_BUSY', `the applied migrations changed ${when} (another dbkit or migration tool ran meanwhile)`, { hint: 'nothing was rolled back; run dbkit status, then re-run dbkit rollback' });
        }
        return state;
      };
      let state = await assertUnchanged('since the plan was made');
      if (backupPlan) {
        const { manifest } = await backupInSession(session, { config, target, server, plan: backupPlan, reason: 'rollback', migrations: report.appliedBefore }, reporter);
        report.backup = backupSummary(manifest);
        state = await assertUnchanged('while the backup was taken');
      }
      if (state.plan.adopt.length > 0) {
        step = reporter.step('adopt');
        report.adopted = await adoptStep(session.client, context, state);
        step.done(`recorded ${state.plan.adopt.length} migration(s) applied by ${state.history ? TOOL_NAMES[state.history.source.kind] : ''} as applied, so that their downs can run`);
      }
      const hooks = stepHooks(context, state, config, pooler);
      const migrations = context.migrations;
      const expectations = await loadExpectations(config.migrationsDir);
      let stopped = false;
      for (const name of report.toRevert) {
        if (stopped) {
          report.migrations.push({ name, status: 'skipped', durationMs: null });
          reporter.step(`revert ${name}`).skip('skipped: stopped at an earlier migration');
          continue;
        }
        step = reporter.step(`revert ${name}`);
        const backupId = report.backup?.id ?? null;
        const outcome = await runMigrationStep({ client: session.client, migrationsDir: config.migrationsDir, migrations, name, direction: 'down', lockTimeoutMs: config.lockTimeoutMs, lockWaitMs: config.lockWaitMs, statementTimeoutMs: config.statementTimeoutMs, hooks, backupId });
        if (outcome.status === 'failed' && outcome.error) {
          stopped = true;
          const unrecorded = await recordPartialFailure(session.client, outcome, backupId);
          if (unrecorded) reporter.warn(unrecorded);
          report.error = errorDocument(outcome.error);
          report.migrations.push({ name, status: 'failed', durationMs: outcome.durationMs, error: report.error });
          step.fail(outcome.transactional ? 'failed, rolled back: the database is exactly as it was before this down' : failureLabel(outcome));
          continue;
        }
        if (outcome.status === 'already-reverted') {
          report.migrations.push({ name, status: 'already-reverted', durationMs: outcome.durationMs });
          step.skip(ALREADY_REVERTED);
          continue;
        }
        report.migrations.push({ name, status: 'reverted', durationMs: outcome.durationMs });
        step.done();
        const checks = await validationStep(session.client, expectations, [{ migration: name, when: 'reverted' }], reporter);
        report.validation.push(...checks);
        if (checks.some((c) => !c.ok)) {
          stopped = true;
          report.error = validationError(checks, `after reverting ${name}; stopped there`, report.backup);
        }
      }
      report.applied = (await readState(session.client, context)).plan.applied;
      const known = new Set(migrations.map((m) => m.name));
      const remaining = report.applied.filter((n) => known.has(n)).map((migration) => ({ migration, when: 'applied' as const }));
      const checks = await validationStep(session.client, expectations, remaining, reporter, { label: 'validation of what stays applied' });
      report.validation.push(...checks);
      if (!report.error && checks.some((c) => !c.ok)) report.error = validationError(checks, 'for the migrations that stay applied', report.backup);
      report.ok = report.error === null;
      report.durationMs = performance.now() - started;
      return report;
    });
  });
}

function validationError(checks: CheckResult[], where: string, backup: BackupSummary | null): ErrorDocument {
  return validationFailure(checks, where, backup ? `inspect the database (dbkit status); dbkit restore ${backup.id} returns to the state before the rollback` : 'inspect the database (dbkit status)');
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

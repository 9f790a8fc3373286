/**
 * dbkit apply: pre-flight, lock, drift check, backup, each pending migration in its own
 * transaction, validation counts. `applyMigrations` is the library API; `registerApply` the CLI.
 */
import type { Command } from 'commander';
import type pg from 'pg';
import type { ResolvedConfig } from '../config.js';
import { DbkitError } from '../errors.js';
import type { Reporter } from '../output/terminal.js';
import { type DatabaseTarget, databaseFacts } from '../db/target.js';
import { withReadOnly } from '../db/scoped.js';
import { renderMigration, type LoadedMigration } from '../migrations/load.js';
import { recordChecksumSql } from '../migrations/tracking.js';
import { checkPrivileges } from '../migrations/session.js';
import { assertRunnable, loadMigrationContext, readState, type DatabaseState, type MigrationContext } from '../migrations/context.js';
import { describeHistory, TOOL_NAMES } from '../migrations/history.js';
import { ALREADY_APPLIED, assertGuardable } from '../migrations/exactly-once.js';
import { BACKUP_SESSION_HINT, refuseBackupThroughPooler, type PoolerFacts } from '../core/pooler.js';
import { chooseBackupStrategy } from '../backup/take.js';
import { backupNeeds } from '../backup/privileges.js';
import type { BackupSummary } from '../pipeline/backup-step.js';
import { backupPlanNote } from '../pipeline/steps.js';
import { runMigrationPipeline } from '../pipeline/migration-pipeline.js';
import type { CheckResult } from '../core/validation.js';
import { formatDuration } from '../core/duration.js';
import { runtimeFor, settingOption } from '../runtime.js';
import type { ErrorDocument } from '../output/errors.js';
import { lintBeforeApply } from '../lint/run.js';
import type { LintFinding } from '../lint/model.js';
import { rehearseOn, type RehearseReport } from '../rehearse/rehearse.js';

export interface ApplyOptions {
  dryRun: boolean;
  backup: boolean;
  /** Rehearse the pending migrations on a disposable copy first; apply only when the rehearsal passes. */
  rehearse?: boolean;
}

export const MIGRATION_RESULT_STATUSES = ['applied', 'already-applied', 'failed', 'skipped', 'planned'] as const;
export type MigrationResultStatus = (typeof MIGRATION_RESULT_STATUSES)[number];

export interface MigrationResult {
  name: string;
  status: MigrationResultStatus;
  durationMs: number | null;
  /** Dry run only: the statements the migration would send. */
  sql?: string[];
  error?: ErrorDocument;
}

export type { BackupSummary } from '../pipeline/backup-step.js';

export interface ApplyReport {
  command: 'apply';
  ok: boolean;
  dryRun: boolean;
  database: { url: string; kind: DatabaseTarget['kind']; name: string };
  server: { version: string; versionNum: number };
  /** What sits between dbkit and the server: direct, a session pooler or a transaction pooler, and how that was told. */
  connection: PoolerFacts;
  applied: string[];
  pending: string[];
  /** Migrations applied without dbkit (no checksum yet): their checksum is recorded now. */
  adoptedChecksums: string[];
  /** The history the folder's own tool keeps (public.pgmigrations, supabase_migrations.schema_migrations), kept in step; null when none. */
  history: string | null;
  /** Migrations that tool applied, recorded in dbkit's tracking (adopted) before anything ran. */
  adopted: string[];
  backup: BackupSummary | null;
  backupSkipped: boolean;
  migrations: MigrationResult[];
  validation: CheckResult[];
  /** apply's pre-flight lint (squawk) of the pending migrations. */
  lint: LintFinding[];
  rehearsal: RehearseReport | null;
  error: ErrorDocument | null;
  durationMs: number;
}

export async function applyMigrations(config: ResolvedConfig, options: ApplyOptions, reporter: Reporter): Promise<ApplyReport> {
  let rehearsal: RehearseReport | null = null;
  return runMigrationPipeline<ApplyReport>(
    config,
    {
      direction: 'up',
      reason: 'apply',
      backup: options.backup,
      keepProbe: true,
      beforeConnect: async (target) => {
        if (options.rehearse && !options.dryRun) rehearsal = await rehearseOn(config, target, { from: 'auto', traffic: false, onTarget: false, thresholds: config.rehearseFailOn }, reporter);
      },
      report: ({ target, server, pooler }) => ({
        command: 'apply',
        ok: false,
        dryRun: options.dryRun,
        database: databaseFacts(target),
        server: { version: server.version, versionNum: server.versionNum },
        connection: pooler,
        applied: [],
        pending: [],
        adoptedChecksums: [],
        history: null,
        adopted: [],
        backup: null,
        backupSkipped: !options.backup,
        migrations: [],
        validation: [],
        lint: [],
        rehearsal,
        error: null,
        durationMs: 0,
      }),
      stopAfterConnect: (report) => {
        if (!report.rehearsal || report.rehearsal.ok) return false;
        report.error = report.rehearsal.error;
        return true;
      },
      preflight: async ({ probe, server, pooler }, report) => {
        const context = await loadMigrationContext(config);
        const backupPlan = options.backup && !options.dryRun ? chooseBackupStrategy(config.backupStrategy, server, config.pgBinDir) : null;
        if (backupPlan) refuseBackupThroughPooler(pooler, backupPlan.strategy, 'a backup', BACKUP_SESSION_HINT);
        await checkPrivileges(probe, server, { access: options.dryRun ? 'read' : 'write', backupNeeds: backupPlan ? backupNeeds(backupPlan) : [], purpose: 'dbkit apply', onlyIfPending: context.migrations });
        // After the privilege check: linting reads what is pending from dbkit's tracking.
        report.lint = await lintBeforeApply(probe, context, config, server.versionNum, reporter);
        return { context, backupPlan };
      },
      preflightDetail: (r) => `${r.context.migrations.length} migrations loadable${r.context.folder.format === 'supabase' ? ' (a Supabase CLI folder)' : ''}${backupPlanNote(r.backupPlan)}`,
      beforeLock: async ({ probe }, { context }, report) => {
        reportFolderNotes(context, reporter);
        if (!options.dryRun) return false;
        await dryRun(probe, context, report, reporter, config);
        return true;
      },
      noBackupWarning: '--no-backup: applying WITHOUT a backup. If a migration damages data there is nothing to restore from.',
      plan: async (session, { context, backupPlan }, report, { pooler }) => {
        const step = reporter.step('plan');
        const state = await readState(session.client, context);
        try {
          assertRunnable(state, config);
          assertGuardable(context.migrations, state.plan.pending.map((m) => m.name), pooler, 'dbkit apply');
        } catch (error) {
          step.fail();
          throw error;
        }
        step.done(planDetail(state, report));
        const plan = state.plan;
        for (const m of plan.pending) reporter.info(`    ${m.name}`);
        if (plan.unrecorded.length > 0) reporter.warn(`${plan.unrecorded.length} applied migration(s) have no recorded checksum (applied without dbkit); recording the current files' checksums.`);
        for (const p of state.partial) reporter.warn(`${p.name} failed part-way outside a transaction on ${p.failedAt} (${p.stepsCommitted} of ${p.stepsTotal} steps committed); it is ${p.direction === 'up' ? 'pending and runs again now' : 'still applied'}.`);
        return {
          state,
          names: report.pending,
          backup: plan.pending.length > 0,
          backupMigrations: plan.applied,
          afterBackup:
            backupPlan?.strategy === 'template'
              ? async () => {
                  // The lock was let go while the database was copied: make sure nobody applied meanwhile.
                  const again = await readState(session.client, context);
                  if (again.plan.pending.map((m) => m.name).join() !== report.pending.join()) {
                    throw new DbkitError('LOCK_BUSY', 'the migration state changed while the backup was taken (another tool applied migrations)', { hint: 'nothing was applied; re-run dbkit apply' });
                  }
                  report.applied = again.plan.applied;
                  return again;
                }
              : undefined,
        };
      },
      adoptedDetail: (state, report) => `recorded ${report.adopted.length} migration(s) applied by ${state.history ? TOOL_NAMES[state.history.source.kind] : ''} (${report.history}) as applied`,
      beforeRun: (session, state, { context }) => recordUnrecorded(session.client, context.migrations, state.plan.unrecorded),
      validationTargets: async (_session, outcomes, report) => {
        report.applied = [...report.applied, ...outcomes.filter((o) => o.status === 'applied' || o.status === 'already-applied').map((o) => o.name)];
        return report.applied.map((migration) => ({ migration, when: 'applied' as const }));
      },
      validation: {
        label: 'validation',
        always: true,
        noneDetail: 'no expectations declared',
        where: '',
        hint: (backup) => (backup ? `the migrations are applied; inspect, then roll back (dbkit rollback) or restore ${backup.id}` : 'inspect the database'),
      },
    },
    reporter,
  );
}

/** The plan step's line; also fills the report's view of the plan. */
function planDetail(state: DatabaseState, report: ApplyReport): string {
  const plan = state.plan;
  report.applied = plan.applied;
  report.pending = plan.pending.map((m) => m.name);
  report.adoptedChecksums = plan.unrecorded;
  report.history = state.history ? describeHistory(state.history.source) : null;
  const adopting = plan.adopt.length > 0 ? `, ${plan.adopt.length} to adopt from ${report.history}` : '';
  return plan.pending.length === 0 ? `nothing pending${adopting}` : `${plan.pending.length} pending, ${plan.applied.length} applied${adopting}, no drift`;
}

async function recordUnrecorded(client: pg.ClientBase, migrations: readonly LoadedMigration[], names: readonly string[]): Promise<void> {
  for (const name of names) {
    const m = migrations.find((x) => x.name === name);
    if (m) await client.query(recordChecksumSql(m.name, m.fileChecksum, m.sqlChecksum));
  }
}

/** Files the folder's tool skips, and migrations that run outside a transaction: said before anything runs. */
function reportFolderNotes(context: MigrationContext, reporter: Reporter): void {
  for (const s of context.folder.skipped) reporter.info(`    skipped ${s.file}: ${s.reason}`);
  for (const m of context.migrations.filter((x) => x.transactional === false)) {
    reporter.warn(`${m.name} runs outside a transaction (pgm.noTransaction()): if it fails half-way, its first statements stay applied.`);
  }
}

async function dryRun(client: pg.Client, context: MigrationContext, report: ApplyReport, reporter: Reporter, config: ResolvedConfig): Promise<void> {
  // Everything here runs in a READ ONLY transaction: not even dbkit's own bookkeeping is created.
  await withReadOnly(client, async (ro) => {
    const state = await readState(ro, context);
    const plan = state.plan;
    assertRunnable(state, config);
    report.applied = plan.applied;
    report.pending = plan.pending.map((m) => m.name);
    report.adoptedChecksums = plan.unrecorded;
    report.history = state.history ? describeHistory(state.history.source) : null;
    if (plan.adopt.length > 0) reporter.info(`Would adopt ${plan.adopt.length} migration(s) applied by ${state.history ? TOOL_NAMES[state.history.source.kind] : ''} (${report.history}): ${plan.adopt.map((a) => a.name).join(', ')}`);
    const db = { query: (sql: string, values?: unknown[]) => ro.query(sql, values), select: async (sql: string, values?: unknown[]) => (await ro.query(sql, values)).rows };
    for (const migration of plan.pending) {
      const rendered = await renderMigration(migration.module, 'up', db);
      report.migrations.push({ name: migration.name, status: 'planned', durationMs: null, sql: rendered.statements });
      reporter.block(reporter.color.bold(`-- ${migration.name}${rendered.transactional ? ' (one transaction)' : ' (NOT in a transaction)'}`));
      reporter.block(`${rendered.statements.join('\n')}\n`);
    }
  });
  reporter.info(report.pending.length === 0 ? 'Dry run: nothing pending.' : `Dry run: ${report.pending.length} migration(s) would be applied; nothing was changed.`);
}

export function renderApplySummary(report: ApplyReport, reporter: Reporter): void {
  if (report.dryRun) return;
  const applied = report.migrations.filter((m) => m.status === 'applied').length;
  const c = reporter.color;
  if (report.ok) {
    const already = report.migrations.filter((m) => m.status === 'already-applied').length;
    const what =
      (applied === 0 ? 'Nothing to apply: the database is up to date.' : `Applied ${applied} migration${applied === 1 ? '' : 's'} in ${formatDuration(report.durationMs)}.`) +
      (already > 0 ? ` ${already} ${ALREADY_APPLIED} meanwhile, not run again.` : '');
    reporter.info(c.green(what) + (report.backup ? ` Backup ${report.backup.id} taken first (dbkit restore ${report.backup.id} returns to it).` : ''));
  } else if (report.backup) {
    reporter.info(`Backup ${report.backup.id} was taken before any change.`);
  }
}

export function registerApply(program: Command): void {
  const command = program
    .command('apply')
    .description('Apply pending migrations: pre-flight, lock, drift check, verified backup, one transaction per migration, validation counts.')
    .option('--dry-run', 'print the SQL each pending migration would run; change nothing at all', false)
    .option('--no-backup', 'skip the pre-apply backup (said loudly; not recommended)')
    .option('--rehearse', 'first rehearse the pending migrations on a disposable copy (as dbkit rehearse); apply only if that passes --fail-on', false);
  for (const name of ['backupStrategy', 'migrationsDir', 'ignorePattern', 'migrationsSchema', 'migrationsTable', 'backupDir', 'lockTimeout', 'lockWait', 'statementTimeout', 'rehearseFailOn'] as const) settingOption(command, name);
  command
    .option('--json', 'print one JSON document (shape in README) instead of progress lines')
    .addHelpText('after', '\nExamples:\n  $ npx dbkit apply                      # embedded PostgreSQL, zero configuration\n  $ DATABASE_URL=postgres://... npx dbkit apply --dry-run\n  $ npx dbkit apply --db "$DATABASE_URL" --lock-timeout 3s --json\n  $ npx dbkit apply --rehearse --fail-on "blocking-writes>500ms"')
    .action(async (opts: { dryRun: boolean; backup: boolean; rehearse: boolean }, cmd: Command) => {
      const runtime = runtimeFor(cmd);
      const report = await applyMigrations(runtime.config, { dryRun: opts.dryRun, backup: opts.backup, rehearse: opts.rehearse }, runtime.reporter);
      runtime.finish(report, (r) => renderApplySummary(r, runtime.reporter));
    });
}

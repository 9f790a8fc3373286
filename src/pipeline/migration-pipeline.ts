/**
 * The one run that apply and rollback (and any command that runs migrations) plug into: connect,
 * the pre-flight step, the migration lock, the backup, adopting another tool's history, each
 * migration in order (skipping the rest after a failure), the validation step, the report's
 * ok and timing. A command supplies its report, its pre-flight and its plan under the lock.
 */
import type pg from 'pg';
import type { ResolvedConfig } from '../config.js';
import type { Reporter, Step } from '../output/terminal.js';
import { withDatabaseTarget } from '../embedded/target.js';
import type { DatabaseTarget } from '../db/target.js';
import type { ServerInfo } from '../db/catalog.js';
import { runMigrationSteps, type StepOutcome } from '../migrations/run.js';
import { connectStep, loadExpectations, withMigrationLock, type LockedSession } from '../migrations/session.js';
import { adoptStep, stepHooks, type DatabaseState, type MigrationContext } from '../migrations/context.js';
import { failureLabel, recordPartialFailure } from '../migrations/partial.js';
import { ALREADY_APPLIED, ALREADY_REVERTED } from '../migrations/exactly-once.js';
import { lockOptionsFor } from '../migrations/lock-options.js';
import type { PoolerFacts } from '../core/pooler.js';
import type { BackupPlan } from '../backup/take.js';
import type { CheckResult, ExpectationSet, ValidationTarget } from '../core/validation.js';
import { errorDocument, type ErrorDocument } from '../output/errors.js';
import { backupInSession, backupSummary, type BackupSummary } from './backup-step.js';
import { inStep } from './steps.js';
import { validationFailure, validationStep, type ValidationStepOptions } from './validation-step.js';

/** The fields of a command's report that the pipeline fills. */
export interface PipelineReport {
  ok: boolean;
  adopted: string[];
  backup: BackupSummary | null;
  migrations: { name: string; status: string; durationMs: number | null; error?: ErrorDocument }[];
  validation: CheckResult[];
  error: ErrorDocument | null;
  durationMs: number;
}

export interface Connected {
  target: DatabaseTarget;
  server: ServerInfo;
  pooler: PoolerFacts;
  /** The connection the pre-flight runs on (apply's dry run too); closed by the pipeline. */
  probe: pg.Client;
}

export interface Preflight {
  context: MigrationContext;
  backupPlan: BackupPlan | null;
}

/** What runs under the lock, decided by the command once it holds it. */
export interface LockedPlan {
  state: DatabaseState;
  /** The migrations to run, in order. */
  names: string[];
  /** Take the backup of the pre-flight's plan (when there is one). */
  backup: boolean;
  /** The applied migrations the backup's manifest records. */
  backupMigrations: string[];
  /** After the backup: the state again, refusing when it changed meanwhile. */
  afterBackup?: () => Promise<DatabaseState>;
}

export interface MigrationPipeline<R extends PipelineReport> {
  direction: 'up' | 'down';
  /** The backup's reason in its manifest ('apply', 'rollback'). */
  reason: string;
  /** Before connecting (apply --rehearse). */
  beforeConnect?(target: DatabaseTarget): Promise<void>;
  report(connected: Connected): R;
  /** True: end right after connecting, with the report as it stands, not ok (a failed rehearsal). */
  stopAfterConnect?(report: R): boolean;
  preflight(connected: Connected, report: R): Promise<Preflight>;
  preflightDetail(preflight: Preflight, report: R): string;
  /** Keep the pre-flight connection for the lock (apply) rather than closing it after the pre-flight. */
  keepProbe: boolean;
  /** After the pre-flight: notes, a dry run. True ends the run here (ok unless report.error). */
  beforeLock(connected: Connected, preflight: Preflight, report: R): Promise<boolean>;
  /** Said when --no-backup was given, before anything changes. */
  noBackupWarning: string;
  /** False with --no-backup. */
  backup: boolean;
  /** After the --no-backup warning, before the lock (rollback's confirmation). */
  confirm?(connected: Connected, report: R): Promise<void>;
  plan(session: LockedSession, preflight: Preflight, report: R, connected: Connected): Promise<LockedPlan>;
  adoptedDetail(state: DatabaseState, report: R): string;
  /** Under the lock, after adopting, before the first migration (apply records missing checksums). */
  beforeRun?(session: LockedSession, state: DatabaseState, preflight: Preflight): Promise<void>;
  /** After each migration that ran (rollback validates the state it returns to); true stops the run. */
  afterEach?(session: LockedSession, name: string, report: R, expectations: ExpectationSet): Promise<boolean>;
  /** After the run: what the final validation checks. */
  validationTargets(session: LockedSession, outcomes: readonly StepOutcome[], report: R, preflight: Preflight): Promise<ValidationTarget[]>;
  validation: ValidationStepOptions & { where: string; hint(backup: BackupSummary | null): string };
}

const LABELS = {
  up: { step: (name: string) => name, already: ALREADY_APPLIED, skipped: 'skipped: an earlier migration failed', failed: (o: StepOutcome) => failureLabel(o) },
  down: {
    step: (name: string) => `revert ${name}`,
    already: ALREADY_REVERTED,
    skipped: 'skipped: stopped at an earlier migration',
    failed: (o: StepOutcome) => (o.transactional ? 'failed, rolled back: the database is exactly as it was before this down' : failureLabel(o)),
  },
} as const;

export async function runMigrationPipeline<R extends PipelineReport>(config: ResolvedConfig, pipeline: MigrationPipeline<R>, reporter: Reporter): Promise<R> {
  const started = performance.now();
  return withDatabaseTarget(config, reporter, async (target) => {
    await pipeline.beforeConnect?.(target);
    const { client: probe, server, pooler } = await connectStep(target, reporter);
    const connected: Connected = { target, server, pooler, probe };
    const report = pipeline.report(connected);
    const finish = () => {
      report.ok = report.error === null;
      report.durationMs = performance.now() - started;
      return report;
    };
    const closeProbe = () => probe.end().catch(() => {});
    if (pipeline.stopAfterConnect?.(report)) {
      await closeProbe();
      report.durationMs = performance.now() - started;
      return report;
    }
    let preflight: Preflight;
    let done: boolean;
    try {
      preflight = await inStep(reporter, 'pre-flight', () => pipeline.preflight(connected, report), (r) => pipeline.preflightDetail(r, report));
      if (!pipeline.keepProbe) await closeProbe();
      done = await pipeline.beforeLock(connected, preflight, report);
    } catch (error) {
      await closeProbe();
      throw error;
    }
    if (done) {
      await closeProbe();
      return finish();
    }
    if (!pipeline.backup) reporter.warn(pipeline.noBackupWarning);
    if (pipeline.confirm) await pipeline.confirm(connected, report);

    const { backupPlan } = preflight;
    const lockOptions = { ...lockOptionsFor(config, reporter, backupPlan?.strategy === 'template'), pooler };
    const lockStep = reporter.step('lock');
    return withMigrationLock(
      target,
      lockOptions,
      async (session) => {
        lockStep.done();
        const planned = await pipeline.plan(session, preflight, report, connected);
        let state = planned.state;
        if (planned.backup && backupPlan) {
          const { manifest } = await backupInSession(session, { config, target, server, plan: backupPlan, reason: pipeline.reason, migrations: planned.backupMigrations }, reporter);
          report.backup = backupSummary(manifest);
          if (planned.afterBackup) state = await planned.afterBackup();
        }
        if (state.plan.adopt.length > 0) {
          const step = reporter.step('adopt');
          report.adopted = await adoptStep(session.client, preflight.context, state);
          step.done(pipeline.adoptedDetail(state, report));
        }
        await pipeline.beforeRun?.(session, state, preflight);
        const expectations = await loadExpectations(config.migrationsDir);
        const outcomes = await runEach(session, planned.names, state, preflight.context, pipeline, report, expectations, config, pooler, reporter);
        const targets = await pipeline.validationTargets(session, outcomes, report, preflight);
        const { where, hint, ...stepOptions } = pipeline.validation;
        const checks = await validationStep(session.client, expectations, targets, reporter, stepOptions);
        report.validation.push(...checks);
        if (!report.error && checks.some((c) => !c.ok)) report.error = validationFailure(checks, where, hint(report.backup));
        return finish();
      },
      pipeline.keepProbe ? probe : undefined,
    );
  });
}

/**
 * Runs the migrations in order: in one node-pg-migrate run, or one at a time when the command
 * checks something after each. After a failure (or a stop) the rest are reported skipped.
 */
async function runEach<R extends PipelineReport>(
  session: LockedSession,
  names: readonly string[],
  state: DatabaseState,
  context: MigrationContext,
  pipeline: MigrationPipeline<R>,
  report: R,
  expectations: ExpectationSet,
  config: ResolvedConfig,
  pooler: PoolerFacts,
  reporter: Reporter,
): Promise<StepOutcome[]> {
  const labels = LABELS[pipeline.direction];
  const hooks = stepHooks(context, state, config, pooler);
  const all: StepOutcome[] = [];
  const chunks = pipeline.afterEach ? names.map((name) => [name]) : [names];
  let stopped = false;
  for (const chunk of chunks) {
    const steps = new Map<string, Step>();
    const outcomes = stopped
      ? []
      : await runMigrationSteps({
          client: session.client,
          migrationsDir: config.migrationsDir,
          migrations: context.migrations,
          names: [...chunk],
          direction: pipeline.direction,
          lockTimeoutMs: config.lockTimeoutMs,
          lockWaitMs: config.lockWaitMs,
          statementTimeoutMs: config.statementTimeoutMs,
          hooks,
          backupId: report.backup?.id ?? null,
          onStart: (name) => steps.set(name, reporter.step(labels.step(name))),
          onFinish: (outcome) => {
            const step = steps.get(outcome.name) ?? reporter.step(labels.step(outcome.name));
            if (outcome.status === 'failed') step.fail(labels.failed(outcome));
            else if (outcome.status === 'already-applied' || outcome.status === 'already-reverted') step.skip(labels.already);
            else step.done();
          },
        });
    for (const outcome of outcomes) {
      all.push(outcome);
      if (outcome.status === 'failed' && outcome.error) {
        stopped = true;
        const unrecorded = await recordPartialFailure(session.client, outcome, report.backup?.id ?? null);
        if (unrecorded) reporter.warn(unrecorded);
        report.error = errorDocument(outcome.error);
        report.migrations.push({ name: outcome.name, status: 'failed', durationMs: outcome.durationMs, error: report.error });
        continue;
      }
      report.migrations.push({ name: outcome.name, status: outcome.status, durationMs: outcome.durationMs });
      if (pipeline.afterEach && (outcome.status === 'applied' || outcome.status === 'reverted')) stopped = await pipeline.afterEach(session, outcome.name, report, expectations);
    }
    for (const name of chunk.slice(outcomes.length)) {
      report.migrations.push({ name, status: 'skipped', durationMs: null });
      reporter.step(labels.step(name)).skip(labels.skipped);
    }
  }
  return all;
}


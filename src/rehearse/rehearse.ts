/**
 * dbkit rehearse (and apply --rehearse): the pending migrations run on a disposable copy of the
 * target, statement by statement, with their locks, rewrites, scans, durations and (with
 * --traffic) the stalls they cause measured. With onTarget, they run on the target itself inside
 * one transaction that is rolled back; the schema fingerprint before and after proves it.
 */
import type pg from 'pg';
import type { ResolvedConfig } from '../config.js';
import { DbkitError, errorMessage } from '../errors.js';
import { connect } from '../db/connect.js';
import { databaseFacts, type DatabaseFacts, type DatabaseTarget } from '../db/target.js';
import { schemaFingerprint } from '../db/fingerprint.js';
import { formatDuration } from '../core/duration.js';
import type { LoadedMigration } from '../migrations/load.js';
import { assertRunnable, loadMigrationContext, readState, type MigrationContext } from '../migrations/context.js';
import { renderStatements } from '../migrations/render-statements.js';
import { connectStep, withMigrationLock } from '../migrations/session.js';
import { refuseThroughTransactionPooler } from '../core/pooler.js';
import type { Reporter } from '../output/terminal.js';
import { errorDocument, type ErrorDocument } from '../output/errors.js';
import { lintOne, lintSettingsOf, shownPath } from '../lint/run.js';
import { findSquawk, type SquawkBinary } from '../lint/squawk.js';
import type { LintFinding } from '../lint/model.js';
import { statementTree, type MigrationSql } from '../migrations/statements.js';
import { withDisposableCopy, type CopyFacts, type CopySource } from './copy.js';
import type { MigrationRehearsal } from './model.js';
import { rehearseMigration, type RehearsalSource, type RehearseContext } from './run.js';
import { breaches } from './thresholds.js';
import { formatThreshold, type Threshold } from '../core/thresholds.js';
import { lockOptionsFor } from '../migrations/lock-options.js';

export interface RehearseOptions {
  from: CopySource;
  traffic: boolean;
  onTarget: boolean;
  thresholds: readonly Threshold[];
}

export interface RehearseReport {
  command: 'rehearse';
  ok: boolean;
  database: DatabaseFacts;
  server: { version: string; versionNum: number };
  /** Where it ran: a copy (and whether it is confirmed dropped), or the target in a rolled-back transaction. */
  ranOn: { kind: 'copy'; copy: CopyFacts } | { kind: 'target'; rolledBack: boolean; fingerprintUnchanged: boolean } | null;
  pending: string[];
  migrations: MigrationRehearsal[];
  lint: { squawk: string | null; skipped: string | null };
  failOn: string[];
  breaches: string[];
  durationMs: number;
  error: ErrorDocument | null;
}

function sourceOf(m: LoadedMigration): RehearsalSource {
  return { name: m.name, file: m.path, render: (db) => renderStatements(m, 'up', db) };
}

async function rehearseAll(ctx: RehearseContext, sources: readonly RehearsalSource[], reporter: Reporter): Promise<MigrationRehearsal[]> {
  const out: MigrationRehearsal[] = [];
  for (const source of sources) {
    if (out.some((m) => m.status === 'failed')) {
      out.push({ name: source.name, file: ctx.shownFile(source.file), transactional: true, status: 'skipped', durationMs: 0, statements: [], traffic: null, summary: [], skippedReason: 'an earlier migration failed', error: null });
      continue;
    }
    const step = reporter.step(source.name);
    const r = await rehearseMigration(ctx, source);
    out.push(r);
    if (r.status === 'failed') step.fail(r.error ?? 'failed');
    else if (r.status === 'skipped') step.skip(r.skippedReason ?? 'skipped');
    else step.done(`${r.statements.length} statement(s)`);
    for (const line of r.summary) reporter.info(`    ${line}`);
    for (const s of r.statements) {
      for (const f of s.lint) reporter.info(`    ${reporter.color.yellow('squawk')} ${f.rule} on statement ${s.index + 1}: ${f.message} ${reporter.color.dim(f.url)}`);
      for (const a of s.advice) reporter.info(`    ${reporter.color.cyan('safer:')} ${a}`);
    }
  }
  return out;
}

function linter(config: ResolvedConfig, versionNum: number, squawk: SquawkBinary | null): (sql: MigrationSql) => Promise<LintFinding[]> {
  if (!squawk) return async () => [];
  const settings = lintSettingsOf(config, versionNum);
  return async (sql) => (await lintOne(squawk, sql, settings, shownPath(config.cwd, sql.file))).findings;
}

/** Names of the roles the rehearsed statements created (CREATE ROLE / USER / GROUP, as parsed). */
function rolesCreatedBy(migrations: readonly MigrationRehearsal[]): Set<string> {
  const names = new Set<string>();
  for (const statement of migrations.flatMap((m) => m.statements)) {
    const tree = statementTree(statement.sql);
    const create = tree?.CreateRoleStmt as { role?: unknown } | undefined;
    if (typeof create?.role === 'string') names.add(create.role);
  }
  return names;
}

export async function rehearseOn(config: ResolvedConfig, target: DatabaseTarget, options: RehearseOptions, reporter: Reporter): Promise<RehearseReport> {
  const started = performance.now();
  const { client: probe, server, pooler } = await connectStep(target, reporter);
  try {
    refuseThroughTransactionPooler(pooler, 'dbkit rehearse', 'it copies the database (which needs every connection to it closed, while the pooler keeps its own open) and times locks in one session');
  } catch (error) {
    await probe.end().catch(() => {});
    throw error;
  }
  const report: RehearseReport = {
    command: 'rehearse', ok: false, database: databaseFacts(target), server: { version: server.version, versionNum: server.versionNum },
    ranOn: null, pending: [], migrations: [], lint: { squawk: null, skipped: null }, failOn: options.thresholds.map(formatThreshold), breaches: [], durationMs: 0, error: null,
  };
  let migrations: LoadedMigration[];
  let folder: MigrationContext;
  try {
    // The folder as apply reads it (typed, node-pg-migrate SQL or Supabase migrations), planned
    // against dbkit's tracking and the folder tool's own history.
    folder = await loadMigrationContext(config);
    migrations = folder.migrations;
    const state = await readState(probe, folder);
    assertRunnable(state, config);
    report.pending = state.plan.pending.map((m) => m.name);
  } finally {
    await probe.end().catch(() => {});
  }
  let squawk: SquawkBinary | null = null;
  try {
    squawk = findSquawk(config.squawkBin);
    report.lint.squawk = squawk.version;
  } catch (error) {
    report.lint.skipped = errorMessage(error);
    reporter.warn(`squawk findings are not linked: ${errorMessage(error)}`);
  }
  const byName = new Map(migrations.map((m) => [m.name, m]));
  const context = (client: pg.Client, watcher: pg.Client, url: string, commit: boolean): RehearseContext => ({
    client, watcher, copyUrl: url, connectTimeoutMs: target.connectTimeoutMs, traffic: options.traffic, commit,
    lint: linter(config, server.versionNum, squawk), shownFile: (file) => shownPath(config.cwd, file),
  });
  const withConnections = async <T>(url: string, fn: (client: pg.Client, watcher: pg.Client) => Promise<T>): Promise<T> => {
    const client = await connect(url, { connectTimeoutMs: target.connectTimeoutMs, applicationName: 'dbkit-rehearse' });
    try {
      // The session settings dbkit apply runs migrations with: a statement too slow for them fails here too.
      await client.query(`SET lock_timeout = ${Math.round(config.lockTimeoutMs)}; SET statement_timeout = ${Math.round(config.statementTimeoutMs)}`);
      const watcher = await connect(url, { connectTimeoutMs: target.connectTimeoutMs, applicationName: 'dbkit-rehearse-watch' });
      try {
        return await fn(client, watcher);
      } finally {
        await watcher.end().catch(() => {});
      }
    } finally {
      await client.end().catch(() => {});
    }
  };

  if (report.pending.length === 0) {
    reporter.info('Nothing pending: nothing to rehearse.');
  } else if (options.onTarget) {
    reporter.warn('--on-target: rehearsing on the target database itself, inside one transaction that is rolled back. Its locks are real and stall the application while it runs.');
    const lockOptions = lockOptionsFor(config, reporter, false);
    await withMigrationLock(target, lockOptions, async () =>
      withConnections(target.url, async (client, watcher) => {
        const before = (await schemaFingerprint(client, { includeDbkitSchema: true })).hash;
        await client.query('BEGIN');
        try {
          report.migrations = await rehearseAll(context(client, watcher, target.url, false), report.pending.map((n) => sourceOf(byName.get(n)!)), reporter);
        } finally {
          await client.query('ROLLBACK');
          const after = (await schemaFingerprint(client, { includeDbkitSchema: true })).hash;
          report.ranOn = { kind: 'target', rolledBack: true, fingerprintUnchanged: before === after };
        }
      }),
    );
  } else {
    const step = reporter.step('copy');
    let copyStepDone = false;
    const { copy } = await withDisposableCopy(config, target, Math.floor(server.versionNum / 10_000), options.from, async (url, made) => {
      step.done(made.detail);
      copyStepDone = true;
      return withConnections(url, async (client, watcher) => {
        // The copy may come from an older backup: what is pending there is what runs.
        const onCopy = (await readState(client, folder)).plan;
        const names = onCopy.pending.map((m) => m.name);
        const caughtUp = names.filter((n) => !report.pending.includes(n));
        if (caughtUp.length > 0) reporter.info(`    the backup predates ${caughtUp.length} applied migration(s): they are rehearsed too (${caughtUp.join(', ')})`);
        report.migrations = await rehearseAll(context(client, watcher, url, true), names.map((n) => sourceOf(byName.get(n)!)), reporter);
      });
    }, () => rolesCreatedBy(report.migrations)).catch((error: unknown) => {
      if (!copyStepDone) step.fail();
      throw error;
    });
    report.ranOn = { kind: 'copy', copy };
    if (!copy.dropped) reporter.warn(`the scratch database ${copy.database} could not be confirmed dropped: drop it by hand (DROP DATABASE ${copy.database})`);
    const kept = copy.rolesCreated.filter((r) => !copy.rolesDropped.includes(r));
    if (copy.rolesDropped.length > 0) reporter.info(`    roles are server-wide: the rehearsal created ${copy.rolesDropped.join(', ')} and dropped ${copy.rolesDropped.length === 1 ? 'it' : 'them'} again`);
    if (kept.length > 0) reporter.warn(`roles are server-wide: the rehearsal created ${kept.join(', ')}, still used on the server, so not dropped`);
    if (copy.rolesOther.length > 0) reporter.warn(`roles ${copy.rolesOther.join(', ')} appeared on the server during the rehearsal without a CREATE ROLE dbkit could see (another session's, or made inside a DO block): left alone`);
  }

  report.breaches = breaches(report.migrations, options.thresholds);
  const failed = report.migrations.filter((m) => m.status === 'failed');
  const problems = [...failed.map((m) => `${m.name} failed on the ${options.onTarget ? 'target (rolled back)' : 'copy'}: ${m.error ?? 'failed'}`), ...report.breaches];
  if (problems.length > 0) {
    report.error = errorDocument(new DbkitError('REHEARSAL_FAILED', `rehearsal failed: ${problems.join('; ')}`, { hint: 'nothing was applied to the target; see the report above (and the safer rewrites)' }));
  }
  report.ok = report.error === null;
  report.durationMs = performance.now() - started;
  reporter.info(`Rehearsed ${report.migrations.filter((m) => m.status === 'rehearsed').length} of ${report.migrations.length} migration(s) in ${formatDuration(report.durationMs)}${report.ranOn?.kind === 'copy' ? `; copy ${report.ranOn.copy.database} ${report.ranOn.copy.dropped ? 'dropped' : 'NOT confirmed dropped'}` : ''}.`);
  return report;
}

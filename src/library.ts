/**
 * dbkit's work functions as a library, with one failure channel: each returns its report when the
 * work succeeded and throws DbkitError when it did not (the CLI's adapters, which print a failed
 * report, call the commands directly). A thrown error carries the report of what was done before
 * the failure in `error.report`. The reporter is optional: by default progress is not printed and
 * warnings go to stderr (quietReporter).
 *
 * Names are verb + noun. Older names stay as deprecated aliases in index.ts.
 */
import type { ResolvedConfig } from './config.js';
import { DbkitError } from './errors.js';
import type { ErrorDocument } from './output/errors.js';
import { quietReporter, type Reporter } from './output/terminal.js';
import * as apply from './commands/apply.js';
import * as backup from './commands/backup.js';
import * as backups from './commands/backups.js';
import * as init from './commands/init.js';
import * as lint from './commands/lint.js';
import * as minds from './commands/minds.js';
import * as monitor from './commands/monitor.js';
import * as rehearse from './commands/rehearse.js';
import * as restore from './commands/restore.js';
import * as rlsAudit from './commands/rls-audit.js';
import * as rollback from './commands/rollback.js';
import * as status from './commands/status.js';
import * as sync from './commands/sync.js';
import * as test from './commands/test.js';
import * as tree from './commands/tree.js';
import * as verify from './commands/verify.js';

/** A report that succeeded: `error` is always null (a failure throws). */
export type Succeeded<R extends { error: ErrorDocument | null }> = R & { error: null };

async function settled<R extends { error: ErrorDocument | null }>(work: Promise<R>): Promise<Succeeded<R>> {
  const report = await work;
  if (report.error) throw new DbkitError(report.error.code, report.error.message, { ...(report.error.hint ? { hint: report.error.hint } : {}), report });
  return report as Succeeded<R>;
}

export type VerifyOptions = Parameters<typeof verify.verifyCourses>[1];
export type MonitorOptions = Parameters<typeof monitor.monitor>[1];
export type RehearseOptions = Parameters<typeof rehearse.rehearse>[1];
export type { ApplyOptions } from './commands/apply.js';
export type { RollbackOptions } from './commands/rollback.js';
export type { RestoreOptions } from './commands/restore.js';
export type { InitOptions } from './commands/init.js';
export type { LintOptions } from './commands/lint.js';
export type { MindAddOptions } from './commands/minds.js';
export type { AuditOptions } from './commands/rls-audit.js';
export type { SyncOptions } from './commands/sync.js';
export type { TestOptions } from './commands/test.js';

export function initProject(cwd: string, options: init.InitOptions): Promise<Succeeded<init.InitReport>> {
  return settled(init.initProject(cwd, options));
}

export function applyMigrations(config: ResolvedConfig, options: apply.ApplyOptions, reporter: Reporter = quietReporter()): Promise<Succeeded<apply.ApplyReport>> {
  return settled(apply.applyMigrations(config, options, reporter));
}

export function rollbackMigrations(config: ResolvedConfig, options: rollback.RollbackOptions, reporter: Reporter = quietReporter()): Promise<Succeeded<rollback.RollbackReport>> {
  return settled(rollback.rollbackMigrations(config, options, reporter));
}

export function lintMigrations(config: ResolvedConfig, options: lint.LintOptions, reporter: Reporter = quietReporter()): Promise<Succeeded<lint.LintReport>> {
  return settled(lint.lint(config, options, reporter));
}

export function rehearseMigrations(config: ResolvedConfig, options: RehearseOptions, reporter: Reporter = quietReporter()): Promise<Succeeded<rehearse.RehearseReport>> {
  return settled(rehearse.rehearse(config, options, reporter));
}

export function readStatus(config: ResolvedConfig, reporter: Reporter = quietReporter()): Promise<Succeeded<status.StatusReport>> {
  return settled(status.readStatus(config, reporter));
}

export function backupDatabase(config: ResolvedConfig, reporter: Reporter = quietReporter()): Promise<Succeeded<backup.BackupReport>> {
  return settled(backup.backupDatabase(config, reporter));
}

export function listBackups(config: ResolvedConfig): Promise<backups.BackupListing> {
  return backups.listBackups(config);
}

export function pruneBackups(config: ResolvedConfig, keep: number, reporter: Reporter = quietReporter()): ReturnType<typeof backups.pruneTargetBackups> {
  return backups.pruneTargetBackups(config, keep, reporter);
}

export function restoreBackup(config: ResolvedConfig, options: restore.RestoreOptions, reporter: Reporter = quietReporter()): Promise<Succeeded<restore.RestoreReport>> {
  return settled(restore.restoreBackup(config, options, reporter));
}

export function auditRls(config: ResolvedConfig, options: rlsAudit.AuditOptions, reporter: Reporter = quietReporter()): Promise<Succeeded<rlsAudit.AuditReport>> {
  return settled(rlsAudit.auditRls(config, options, reporter));
}

export function runTests(config: ResolvedConfig, options: test.TestOptions, reporter: Reporter = quietReporter()): Promise<Succeeded<test.TestReport>> {
  return settled(test.runTests(config, options, reporter));
}

export function syncCourses(config: ResolvedConfig, options: sync.SyncOptions, reporter: Reporter = quietReporter()): Promise<Succeeded<sync.SyncReport>> {
  return settled(sync.syncCourses(config, options, reporter));
}

export function verifyCourses(config: ResolvedConfig, options: VerifyOptions, reporter: Reporter = quietReporter()): Promise<Succeeded<verify.VerifyReport>> {
  return settled(verify.verifyCourses(config, options, reporter));
}

export function readCourseTree(config: ResolvedConfig, slug: string, reporter: Reporter = quietReporter()): Promise<tree.TreeReport> {
  return tree.showTree(config, slug, reporter);
}

export function monitorCourses(config: ResolvedConfig, options: MonitorOptions, reporter: Reporter = quietReporter()): Promise<Succeeded<monitor.MonitorReport>> {
  return settled(monitor.monitor(config, options, reporter));
}

export function addMind(config: ResolvedConfig, options: minds.MindAddOptions, reporter: Reporter = quietReporter()): Promise<Succeeded<minds.MindAddReport>> {
  return settled(minds.addMind(config, options, reporter));
}

export function listMinds(config: ResolvedConfig, reporter: Reporter = quietReporter()): Promise<Succeeded<minds.MindListReport>> {
  return settled(minds.listMinds(config, reporter));
}

/**
 * dbkit as a library: every command's work function (library.ts: each returns its report or
 * throws DbkitError), the config loader and the error type.
 */
export {
  initProject, applyMigrations, rollbackMigrations, lintMigrations, rehearseMigrations, readStatus, backupDatabase, listBackups, pruneBackups, restoreBackup,
  auditRls, runTests, syncCourses, verifyCourses, readCourseTree, monitorCourses, addMind, listMinds,
  type Succeeded, type ApplyOptions, type RollbackOptions, type RestoreOptions, type InitOptions, type LintOptions, type RehearseOptions, type MindAddOptions,
  type AuditOptions, type SyncOptions, type TestOptions, type VerifyOptions, type MonitorOptions,
} from './library.js';
export type { LintReport } from './commands/lint.js';
export type { RehearseReport } from './commands/rehearse.js';
/** @deprecated use pruneBackups */
export { pruneBackups as pruneTargetBackups } from './library.js';
/** @deprecated use readCourseTree */
export { readCourseTree as showTree } from './library.js';
/** @deprecated use monitorCourses */
export { monitorCourses as monitor } from './library.js';
export { loadConfig, resolveConfig, SETTINGS, BACKUP_STRATEGIES, type ResolvedConfig } from './config.js';
export { DbkitError, ERROR_CODES, type ErrorCode } from './errors.js';
export type { InitReport, InitFile } from './commands/init.js';
export type { ApplyReport, BackupSummary, MigrationResult } from './commands/apply.js';
export type { StatusReport } from './commands/status.js';
export type { BackupListEntry, BackupListing } from './commands/backups.js';
export type { RollbackReport } from './commands/rollback.js';
export type { BackupReport } from './commands/backup.js';
export type { RestoreReport } from './commands/restore.js';
export { parseRollbackSelection, type RollbackSelection } from './migrations/rollback-plan.js';
export { humanReporter, quietReporter, type Reporter } from './output/terminal.js';
export { redactUrl } from './core/redact.js';
export type { PolicyDefinition, PolicyCommand } from './core/policy.js';
export type { Check, ExpectationSet, MigrationExpectation } from './core/validation.js';
export { CoursePersister, SKIP_REASONS, type PersistResult, type PersistFailure, type PersisterStats, type SkipReason, type Written } from './persist/persister.js';
export { persistSettingsFromEnv, stderrLogger, systemClock, DEFAULT_BREAKER, DEFAULT_RETRY_DELAY_MS, type PersisterOptions, type PersistLogger, type Clock } from './persist/options.js';
export { CONTENT_TYPES, MIND_ROLES, PROJECT_STATUSES, batchProblem, type ProjectInput, type ContentInput, type LessonInput, type ContentType, type MindRole, type JsonObject } from './core/course-sql.js';
export { BREAKER_KINDS, type BreakerKind, type BreakerConfig } from './persist/breaker.js';
export { FAILURE_KINDS, type FailureKind } from './persist/classify.js';
export type { SyncReport, CourseSyncResult } from './commands/sync.js';
export type { VerifyReport, CourseVerifyResult } from './commands/verify.js';
export type { TreeReport, TreeNode } from './commands/tree.js';
export type { MonitorReport } from './commands/monitor.js';
export type { MindAddReport, MindListReport } from './commands/minds.js';
export type { Mind } from './courses/minds.js';
export { parseCourse } from './courses/parse.js';
export { readCourseFolder, expandCourseDirs } from './courses/read.js';
export type { CourseModel, CourseNode, CourseFolder, CourseProblem, ParsedCourse } from './courses/model.js';
export { MISMATCH_KINDS, type Mismatch, type MismatchKind } from './courses/diff.js';
export type { AuditReport } from './commands/rls-audit.js';
export type { TestReport } from './commands/test.js';
export { RULES } from './audit/rules/index.js';
export type { Finding, AuditRule, Level } from './audit/model.js';
export type { TenancyMap, TenantTable, Membership, SeedValues } from './audit/tenancy.js';
export type { MatrixCell } from './audit/matrix.js';

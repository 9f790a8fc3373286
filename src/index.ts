/**
 * dbkit as a library: every command's work function, the config loader and the error type.
 */
export { loadConfig, resolveConfig, SETTINGS, BACKUP_STRATEGIES, type ResolvedConfig } from './config.js';
export { DbkitError, ERROR_CODES, type ErrorCode } from './errors.js';
export { initProject, type InitReport, type InitOptions, type InitFile } from './commands/init.js';
export { applyMigrations, type ApplyReport, type ApplyOptions } from './commands/apply.js';
export { readStatus, type StatusReport } from './commands/status.js';
export { listBackups, type BackupListEntry, type BackupListing } from './commands/backups.js';
export { pruneTargetBackups } from './commands/backups.js';
export { rollbackMigrations, type RollbackReport, type RollbackOptions } from './commands/rollback.js';
export { backupDatabase, type BackupReport } from './commands/backup.js';
export { restoreBackup, type RestoreReport, type RestoreOptions } from './commands/restore.js';
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
export { syncCourses, type SyncOptions, type SyncReport, type CourseSyncResult } from './commands/sync.js';
export { verifyCourses, type VerifyReport, type CourseVerifyResult } from './commands/verify.js';
export { showTree, type TreeReport, type TreeNode } from './commands/tree.js';
export { monitor, type MonitorReport } from './commands/monitor.js';
export { addMind, listMinds, type MindAddOptions, type MindAddReport, type MindListReport } from './commands/minds.js';
export type { Mind } from './courses/minds.js';
export { parseCourse } from './courses/parse.js';
export { readCourseFolder, expandCourseDirs } from './courses/read.js';
export type { CourseModel, CourseNode, CourseFolder, CourseProblem, ParsedCourse } from './courses/model.js';
export { MISMATCH_KINDS, type Mismatch, type MismatchKind } from './courses/diff.js';
export { auditRls, type AuditReport, type AuditOptions } from './commands/rls-audit.js';
export { runTests, type TestReport, type TestOptions } from './commands/test.js';
export { RULES } from './audit/rules/index.js';
export type { Finding, AuditRule, Level } from './audit/model.js';
export type { TenancyMap, TenantTable, SeedValues } from './audit/tenancy.js';
export type { MatrixCell } from './audit/matrix.js';

/**
 * dbkit as a library: every command's work function, the config loader and the error type.
 */
export { loadConfig, resolveConfig, SETTINGS, BACKUP_STRATEGIES, type ResolvedConfig } from './config.js';
export { DbkitError, ERROR_CODES, type ErrorCode } from './errors.js';
export { applyMigrations, type ApplyReport, type ApplyOptions } from './commands/apply.js';
export { readStatus, type StatusReport } from './commands/status.js';
export { listBackups, type BackupListEntry } from './commands/backups.js';
export { pruneTargetBackups } from './commands/backups.js';
export { rollbackMigrations, type RollbackReport, type RollbackOptions } from './commands/rollback.js';
export { backupDatabase, type BackupReport } from './commands/backup.js';
export { restoreBackup, type RestoreReport, type RestoreOptions } from './commands/restore.js';
export { parseRollbackSelection, type RollbackSelection } from './migrations/rollback-plan.js';
export { humanReporter, quietReporter, type Reporter } from './output/terminal.js';
export { redactUrl } from './core/redact.js';
export type { PolicyDefinition, PolicyCommand } from './core/policy.js';
export type { Check, ExpectationSet, MigrationExpectation } from './core/validation.js';

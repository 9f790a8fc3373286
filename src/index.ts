/**
 * dbkit as a library: every command's work function, the config loader and the error type.
 */
export { loadConfig, resolveConfig, SETTINGS, BACKUP_STRATEGIES, type ResolvedConfig } from './config.js';
export { DbkitError, ERROR_CODES, type ErrorCode } from './errors.js';
export { applyMigrations, type ApplyReport, type ApplyOptions } from './commands/apply.js';
export { readStatus, type StatusReport } from './commands/status.js';
export { listBackups, type BackupListEntry } from './commands/backups.js';
export { humanReporter, quietReporter, type Reporter } from './output/terminal.js';
export { redactUrl } from './core/redact.js';
export type { PolicyDefinition, PolicyCommand } from './core/policy.js';
export type { Check, ExpectationSet, MigrationExpectation } from './core/validation.js';
export { auditRls, type AuditReport, type AuditOptions } from './commands/rls-audit.js';
export { runTests, type TestReport, type TestOptions } from './commands/test.js';
export { RULES } from './audit/rules/index.js';
export type { Finding, AuditRule, Level } from './audit/model.js';
export type { TenancyMap, TenantTable, SeedValues } from './audit/tenancy.js';
export type { MatrixCell } from './audit/matrix.js';

/**
 * Lint findings: squawk's violations mapped back to the migration, the statement and the builder
 * call (or SQL line) that produced it. Pure: no process, no file.
 */
import type { TransactionAssumption } from '../config.js';
import type { MigrationSql, StatementOrigin } from '../migrations/statements.js';
import type { SquawkViolation } from './squawk.js';

export const LINT_LEVELS = ['warning', 'error'] as const;
export type LintLevel = (typeof LINT_LEVELS)[number];

export const LINT_FAIL_ON = ['warning', 'error', 'never'] as const;
export type LintFailOn = (typeof LINT_FAIL_ON)[number];

export interface LintSettings {
  exclude: readonly string[];
  /** e.g. "15"; null lets squawk assume the newest. */
  pgVersion: string | null;
  /** auto: in a transaction unless the migration calls pgm.noTransaction(). */
  assumeTransaction: TransactionAssumption;
}

export interface LintFinding {
  migration: string;
  /** The migration file, relative to the project. */
  file: string;
  /** Line in the file the statement comes from (the builder call, or the SQL line); null when unknown. */
  line: number | null;
  statementIndex: number;
  /** The statement's first line (shortened). */
  statement: string;
  origin: StatementOrigin;
  rule: string;
  level: LintLevel;
  message: string;
  help: string | null;
  url: string;
}

export interface MigrationLint {
  migration: string;
  file: string;
  statements: number;
  /** DO blocks: squawk does not look inside them (rehearse measures what they do). */
  unlinted: number;
  findings: LintFinding[];
}

export const ruleUrl = (rule: string) => `https://squawkhq.com/docs/${rule}`;

export const shorten = (sql: string, max = 120) => {
  const line = sql.trim().split('\n')[0] ?? '';
  return line.length > max ? `${line.slice(0, max - 3)}...` : line;
};

/**
 * The SQL text squawk reads for a migration, and the 1-based line each statement starts on. A
 * migration run in a transaction is wrapped in BEGIN/COMMIT, so squawk sees the transaction
 * itself (and flags what cannot run in one, like CREATE INDEX CONCURRENTLY).
 */
export function lintText(migration: MigrationSql, inTransaction: boolean): { text: string; startLines: number[] } {
  const startLines: number[] = [];
  const parts: string[] = inTransaction ? ['BEGIN;'] : [];
  let line = inTransaction ? 3 : 1;
  for (const statement of migration.statements) {
    startLines.push(line);
    parts.push(statement.sql);
    line += statement.sql.split('\n').length + 1;
  }
  if (inTransaction) parts.push('COMMIT;');
  return { text: parts.join('\n\n'), startLines };
}

export function assumeInTransaction(migration: MigrationSql, setting: TransactionAssumption): boolean {
  switch (setting) {
    case 'auto':
      return migration.transactional;
    case 'yes':
      return true;
    case 'no':
      return false;
    default: {
      const unreachable: never = setting;
      return unreachable;
    }
  }
}

/** Maps squawk's violations (0-based lines in lintText) to findings on statements. */
export function toFindings(migration: MigrationSql, shownFile: string, startLines: readonly number[], violations: readonly SquawkViolation[]): LintFinding[] {
  return violations.map((v) => {
    const line = v.line + 1;
    let index = 0;
    for (let i = 0; i < startLines.length; i++) if (startLines[i]! <= line) index = i;
    const statement = migration.statements[index]!;
    const origin = { ...statement.origin, file: shownFile };
    const fileLine = origin.kind === 'sql-file' ? origin.line + (line - startLines[index]!) : origin.line;
    return {
      migration: migration.name,
      file: shownFile,
      line: fileLine,
      statementIndex: index,
      statement: shorten(statement.sql),
      origin,
      rule: v.rule_name,
      level: /error/i.test(v.level) ? 'error' : 'warning',
      message: v.message,
      help: v.help ?? null,
      url: ruleUrl(v.rule_name),
    };
  });
}

export function failsOn(finding: LintFinding, failOn: LintFailOn): boolean {
  switch (failOn) {
    case 'never':
      return false;
    case 'error':
      return finding.level === 'error';
    case 'warning':
      return true;
    default: {
      const unreachable: never = failOn;
      return unreachable;
    }
  }
}

/**
 * Rules dbkit itself satisfies for every migration it runs, so they are not reported:
 * require-lock-timeout (dbkit sets lock_timeout on the migration session: --lock-timeout), and
 * require-statement-timeout when a statement timeout is configured (--statement-timeout).
 */
export function impliedExclusions(session: { lockTimeoutMs: number; statementTimeoutMs: number }): string[] {
  const rules: string[] = [];
  if (session.lockTimeoutMs > 0) rules.push('require-lock-timeout');
  if (session.statementTimeoutMs > 0) rules.push('require-statement-timeout');
  return rules;
}

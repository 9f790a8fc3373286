/**
 * What a migration's SQL may not do: end (or start) the transaction dbkit runs it in. A COMMIT in
 * the middle of a migration commits its first half for good, and a later failure could then only
 * roll back the second half while dbkit says "rolled back". Found with the real parser, per
 * statement, in the SQL the migration builds. Pure once the parser is loaded.
 */
import { splitSql, type SqlStatement, type TransactionControl } from '../core/sql-split.js';

export interface TransactionControlFound {
  /** 1-based step of the rendered migration (one pgm call), or statement of a SQL file. */
  step: number;
  statement: string;
  control: TransactionControl;
}

const WHAT: Record<TransactionControl, string> = {
  begin: 'starts a transaction of its own (BEGIN)',
  commit: 'commits (COMMIT/END)',
  rollback: 'rolls back (ROLLBACK/ABORT)',
  'prepare-transaction': 'prepares the transaction for two-phase commit (PREPARE TRANSACTION)',
  'commit-prepared': 'commits a prepared transaction (COMMIT PREPARED)',
  'rollback-prepared': 'rolls back a prepared transaction (ROLLBACK PREPARED)',
};

export function describeControl(found: TransactionControlFound): string {
  const text = found.statement.replace(/\s+/g, ' ').trim();
  return `${WHAT[found.control]} in step ${found.step}: ${text.length > 80 ? `${text.slice(0, 77)}...` : text}`;
}

export interface StepsCheck {
  control: TransactionControlFound | null;
  /** Steps the parser could not read (the server would refuse them too, before running any of the step). */
  unparsable: { step: number; message: string }[];
}

/** Looks through the SQL steps a migration builds for transaction control. */
export function checkSteps(steps: readonly string[]): StepsCheck {
  const unparsable: StepsCheck['unparsable'] = [];
  for (const [index, step] of steps.entries()) {
    const split = splitSql(step);
    if (!split.ok) {
      unparsable.push({ step: index + 1, message: `${split.message} (line ${split.line})` });
      continue;
    }
    const found = split.statements.find((s: SqlStatement) => s.transaction !== null);
    if (found?.transaction) return { control: { step: index + 1, statement: found.text, control: found.transaction }, unparsable };
  }
  return { control: null, unparsable };
}

export const TRANSACTION_CONTROL_HINT =
  'dbkit runs each migration in one transaction of its own: remove the statement (for a statement that cannot run in a transaction, such as CREATE INDEX CONCURRENTLY, use pgm.noTransaction() in a migration of its own). Nothing was changed.';

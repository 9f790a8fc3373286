/**
 * A migration as the statements it sends, each mapped back to where it came from: the builder
 * call of a typed migration (file:line:column and the pgm method), or a line of an SQL file.
 * Lint and rehearse take `MigrationSql` values, so any source that can be rendered to statements
 * (typed migrations today, SQL files later) plugs into both.
 *
 * Splitting uses PostgreSQL's own parser (libpg_query), so semicolons inside strings, dollar
 * quotes and comments never split a statement.
 */
import { loadSqlParser, parseSqlSync } from '../core/sql-parse.js';
import { splitSqlSpans } from '../core/sql-split.js';

export type StatementOrigin =
  | { kind: 'call'; file: string; method: string; line: number | null; column: number | null }
  | { kind: 'sql-file'; file: string; line: number; column: number };

export interface MigrationStatement {
  /** 0-based position in the migration. */
  index: number;
  sql: string;
  origin: StatementOrigin;
}

export interface MigrationSql {
  name: string;
  /** Path of the migration file. */
  file: string;
  /** false for node-pg-migrate noTransaction() migrations: each statement commits on its own. */
  transactional: boolean;
  statements: MigrationStatement[];
}

export interface SplitStatement {
  sql: string;
  /** Offset (characters) of the statement's first character in the text. */
  offset: number;
}

/** Loads PostgreSQL's parser (the one shared loader, core/sql-parse.ts); splitStatements and parseStatements are synchronous after it. */
export const initSqlParser = loadSqlParser;

export function parseStatements(sql: string): { stmts?: { stmt: Record<string, unknown>; stmt_location?: number; stmt_len?: number }[] } {
  return parseSqlSync(sql) as ReturnType<typeof parseStatements>;
}

/** The parse tree of one statement (its top node, e.g. { AlterTableStmt: {...} }), or null when it does not parse. */
export function statementTree(sql: string): Record<string, unknown> | null {
  try {
    return parseStatements(sql).stmts?.[0]?.stmt ?? null;
  } catch {
    return null;
  }
}

/**
 * The statements a migration sends, cut by the one splitter (core/sql-split.ts): leading comments
 * and whitespace trimmed, each ending in `;`. Text that does not parse is returned whole, as one
 * statement (the server will say what is wrong with it).
 */
export function splitStatements(text: string): SplitStatement[] {
  const split = splitSqlSpans(text);
  if (!split.ok) return text.trim() === '' ? [] : [{ sql: text.trim(), offset: text.length - text.trimStart().length }];
  const out: SplitStatement[] = [];
  for (const statement of split.statements) {
    const sql = stripLeadingComments(statement.text).trim();
    if (sql === '') continue;
    out.push({ sql: sql.endsWith(';') ? sql : `${sql};`, offset: statement.offset + statement.text.indexOf(sql) });
  }
  return out;
}

function stripLeadingComments(sql: string): string {
  let rest = sql;
  for (;;) {
    const trimmed = rest.trimStart();
    if (trimmed.startsWith('--')) rest = trimmed.slice(trimmed.indexOf('\n') < 0 ? trimmed.length : trimmed.indexOf('\n') + 1);
    else if (trimmed.startsWith('/*') && trimmed.includes('*/')) rest = trimmed.slice(trimmed.indexOf('*/') + 2);
    else return trimmed;
  }
}

/** 1-based line and column of a character offset. */
export function positionOf(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset).split('\n');
  return { line: before.length, column: (before[before.length - 1]?.length ?? 0) + 1 };
}

/** Where a statement came from, as people read it: "file:line (pgm.method)". */
export function describeOrigin(origin: StatementOrigin, shownFile: string): string {
  switch (origin.kind) {
    case 'call':
      return `${shownFile}${origin.line ? `:${origin.line}` : ''} (pgm.${origin.method})`;
    case 'sql-file':
      return `${shownFile}:${origin.line}`;
    default: {
      const unreachable: never = origin;
      return String(unreachable);
    }
  }
}

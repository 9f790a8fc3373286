/**
 * SQL text cut into statements by the real PostgreSQL parser (so dollar quotes, semicolons in
 * strings, comments and BEGIN ATOMIC bodies are handled), each with its line and, for transaction
 * control, what it does to the transaction. Pure once the parser is loaded (`loadSqlParser()`).
 */
import { parseSqlSync } from './sql-parse.js';

/** Statements that end, or start, a transaction. SAVEPOINT, RELEASE and ROLLBACK TO do neither. */
export const TRANSACTION_CONTROLS = ['begin', 'commit', 'rollback', 'prepare-transaction', 'commit-prepared', 'rollback-prepared'] as const;
export type TransactionControl = (typeof TRANSACTION_CONTROLS)[number];

const CONTROL_OF: Record<string, TransactionControl> = {
  TRANS_STMT_BEGIN: 'begin',
  TRANS_STMT_START: 'begin',
  TRANS_STMT_COMMIT: 'commit',
  TRANS_STMT_ROLLBACK: 'rollback',
  TRANS_STMT_PREPARE: 'prepare-transaction',
  TRANS_STMT_COMMIT_PREPARED: 'commit-prepared',
  TRANS_STMT_ROLLBACK_PREPARED: 'rollback-prepared',
};

export interface SqlStatement {
  /** The statement as written, leading comments included, without its `;`, trimmed. */
  text: string;
  /** 1-based line of the statement's first character in the text that was split. */
  line: number;
  /** Transaction control this statement performs (COMMIT, END, ROLLBACK, ABORT, BEGIN, ...). */
  transaction: TransactionControl | null;
}

/** A statement with where it starts: the offset (characters) of its first character in the text that was split. */
export interface SqlSpan extends SqlStatement {
  offset: number;
}

export type SplitResult<S extends SqlStatement = SqlStatement> =
  | {
      ok: true;
      statements: S[];
      /** Text after the last statement's `;` (a trailing comment), trimmed; '' when none. */
      trailing: string;
    }
  | { ok: false; message: string; line: number };

interface RawStatement {
  stmt: Record<string, unknown>;
  stmt_location?: number;
  stmt_len?: number;
}

function rawStatements(tree: unknown): RawStatement[] {
  if (typeof tree !== 'object' || tree === null) return [];
  const stmts = (tree as { stmts?: unknown }).stmts;
  return Array.isArray(stmts) ? stmts.filter((s): s is RawStatement => typeof s === 'object' && s !== null && typeof (s as RawStatement).stmt === 'object') : [];
}

function lineAt(bytes: Buffer, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < bytes.length; i += 1) if (bytes[i] === 0x0a) line += 1;
  return line;
}

function controlOf(stmt: Record<string, unknown>): TransactionControl | null {
  const transaction = stmt.TransactionStmt;
  if (typeof transaction !== 'object' || transaction === null) return null;
  const kind = (transaction as { kind?: unknown }).kind;
  return typeof kind === 'string' ? (CONTROL_OF[kind] ?? null) : null;
}

/** Splits `sql` into statements with their offsets; a syntax error is returned (with its line), not thrown. */
export function splitSqlSpans(sql: string): SplitResult<SqlSpan> {
  if (sql.trim() === '') return { ok: true, statements: [], trailing: '' };
  const bytes = Buffer.from(sql, 'utf8');
  let tree: unknown;
  try {
    tree = parseSqlSync(sql);
  } catch (error) {
    const position = (error as { sqlDetails?: { cursorPosition?: number } }).sqlDetails?.cursorPosition ?? 0;
    return { ok: false, message: (error as Error).message, line: lineAt(bytes, position) };
  }
  const statements: SqlSpan[] = [];
  // libpg_query's locations are byte offsets into the UTF-8 text.
  let consumed = 0;
  for (const raw of rawStatements(tree)) {
    const start = raw.stmt_location ?? 0;
    const end = raw.stmt_len ? start + raw.stmt_len : bytes.length;
    const body = bytes.subarray(start, end).toString('utf8');
    const leading = body.length - body.trimStart().length;
    const first = start + Buffer.byteLength(body.slice(0, leading));
    statements.push({ text: body.trim(), line: lineAt(bytes, first), offset: bytes.subarray(0, first).toString('utf8').length, transaction: controlOf(raw.stmt) });
    consumed = end < bytes.length && bytes[end] === 0x3b ? end + 1 : end;
  }
  const trailing = bytes.subarray(consumed).toString('utf8').replace(/^[\s;]+/, '').trim();
  return { ok: true, statements, trailing };
}

/** Splits `sql` into statements; a syntax error is returned (with its line), not thrown. */
export function splitSql(sql: string): SplitResult {
  const split = splitSqlSpans(sql);
  return split.ok ? { ...split, statements: split.statements.map(({ text, line, transaction }) => ({ text, line, transaction })) } : split;
}

/** COMMIT, ROLLBACK, END, ABORT, PREPARE TRANSACTION, COMMIT/ROLLBACK PREPARED: statements that end a transaction. */
export const endsTransaction = (control: TransactionControl | null): boolean => control !== null && control !== 'begin';

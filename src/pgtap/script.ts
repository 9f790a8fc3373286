/**
 * A pgTAP file made ready to run statement by statement: psql meta-commands (\set, \pset) are
 * dropped, transaction control is dropped too (the runner owns the transaction, so that the file
 * is always rolled back), and every statement keeps its line for error messages. Splitting uses
 * the real PostgreSQL parser, so dollar quotes and semicolons in strings are handled.
 */
import { initParser, parseSql } from '../audit/expr.js';

export interface ScriptStatement {
  sql: string;
  line: number;
}

export interface PreparedScript {
  statements: ScriptStatement[];
  /** What was left out, with its line: meta-commands and BEGIN/COMMIT/ROLLBACK. */
  dropped: { what: string; line: number }[];
  /** A syntax error that stops the file before it runs. */
  syntaxError: { message: string; line: number } | null;
}

const OWN_TRANSACTION = ['TRANS_STMT_BEGIN', 'TRANS_STMT_START', 'TRANS_STMT_COMMIT', 'TRANS_STMT_ROLLBACK', 'TRANS_STMT_PREPARE', 'TRANS_STMT_COMMIT_PREPARED', 'TRANS_STMT_ROLLBACK_PREPARED'];

function lineAt(bytes: Buffer, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < bytes.length; i += 1) if (bytes[i] === 0x0a) line += 1;
  return line;
}

export async function prepareScript(text: string): Promise<PreparedScript> {
  await initParser();
  const dropped: PreparedScript['dropped'] = [];
  const lines = text.split('\n').map((l, i) => {
    if (/^\s*\\/.test(l)) {
      dropped.push({ what: l.trim(), line: i + 1 });
      return '';
    }
    return l;
  });
  const sql = lines.join('\n');
  const bytes = Buffer.from(sql, 'utf8');
  let tree: { stmts?: { stmt: Record<string, { kind?: string }>; stmt_location?: number; stmt_len?: number }[] };
  try {
    tree = parseSql(sql) as typeof tree;
  } catch (error) {
    const position = (error as { sqlDetails?: { cursorPosition?: number } }).sqlDetails?.cursorPosition ?? 0;
    return { statements: [], dropped, syntaxError: { message: (error as Error).message, line: lineAt(bytes, position) } };
  }
  const statements: ScriptStatement[] = [];
  for (const s of tree.stmts ?? []) {
    const start = s.stmt_location ?? 0;
    const end = s.stmt_len ? start + s.stmt_len : bytes.length;
    const body = bytes.subarray(start, end).toString('utf8');
    const leading = body.length - body.trimStart().length;
    const line = lineAt(bytes, start + Buffer.byteLength(body.slice(0, leading)));
    const transaction = s.stmt.TransactionStmt;
    if (transaction && OWN_TRANSACTION.includes(transaction.kind ?? '')) {
      dropped.push({ what: body.trim().split(/\s+/).slice(0, 2).join(' '), line });
      continue;
    }
    statements.push({ sql: body.trim(), line });
  }
  return { statements, dropped, syntaxError: null };
}

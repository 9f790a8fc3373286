/**
 * A pgTAP file made ready to run statement by statement: psql meta-commands (\set, \pset) are
 * dropped, transaction control is dropped too (the runner owns the transaction, so that the file
 * is always rolled back), and every statement keeps its line for error messages. Splitting uses
 * the real PostgreSQL parser, so dollar quotes and semicolons in strings are handled.
 */
import { loadSqlParser } from '../core/sql-parse.js';
import { splitSql } from '../core/sql-split.js';

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

export async function prepareScript(text: string): Promise<PreparedScript> {
  await loadSqlParser();
  const dropped: PreparedScript['dropped'] = [];
  const lines = text.split('\n').map((l, i) => {
    if (/^\s*\\/.test(l)) {
      dropped.push({ what: l.trim(), line: i + 1 });
      return '';
    }
    return l;
  });
  const split = splitSql(lines.join('\n'));
  if (!split.ok) return { statements: [], dropped, syntaxError: { message: split.message, line: split.line } };
  const statements: ScriptStatement[] = [];
  for (const s of split.statements) {
    if (s.transaction) {
      dropped.push({ what: s.text.split(/\s+/).slice(0, 2).join(' '), line: s.line });
      continue;
    }
    statements.push({ sql: s.text, line: s.line });
  }
  return { statements, dropped, syntaxError: null };
}

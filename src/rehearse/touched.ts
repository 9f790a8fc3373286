/**
 * The tables a migration names: relations in its parse trees, and schema-qualified names in the
 * text of statements the parser cannot see into (DO blocks, function bodies). Pure.
 */
import { statementTree } from '../migrations/statements.js';

function collect(node: unknown, out: Set<string>): void {
  if (Array.isArray(node)) {
    for (const item of node) collect(item, out);
    return;
  }
  if (typeof node !== 'object' || node === null) return;
  const record = node as Record<string, unknown>;
  if (typeof record.relname === 'string') {
    out.add(typeof record.schemaname === 'string' ? `${record.schemaname}.${record.relname}` : record.relname);
  }
  for (const value of Object.values(record)) collect(value, out);
}

export function namedRelations(sql: string): string[] {
  const out = new Set<string>();
  const tree = statementTree(sql);
  if (tree) collect(tree, out);
  if (!tree || 'DoStmt' in tree || 'CreateFunctionStmt' in tree) {
    for (const m of sql.matchAll(/\b([a-z_][a-z0-9_]*)\.([a-z_][a-z0-9_]*)\b/gi)) out.add(`${m[1]}.${m[2]}`);
  }
  return [...out];
}

/**
 * The tables a migration names: relations in its parse trees, and schema-qualified names in the
 * text of statements the parser cannot see into (DO blocks, function bodies). Pure.
 */
import { statementTree } from '../migrations/statements.js';

export interface NamedRelation {
  schema: string | null;
  name: string;
}

function collect(node: unknown, out: Map<string, NamedRelation>): void {
  if (Array.isArray(node)) {
    for (const item of node) collect(item, out);
    return;
  }
  if (typeof node !== 'object' || node === null) return;
  const record = node as Record<string, unknown>;
  if (typeof record.relname === 'string') {
    const schema = typeof record.schemaname === 'string' ? record.schemaname : null;
    out.set(JSON.stringify([schema, record.relname]), { schema, name: record.relname });
  }
  for (const value of Object.values(record)) collect(value, out);
}

/** Relation names as written (unquoted), with their schema when given. */
export function namedRelations(sql: string): NamedRelation[] {
  const out = new Map<string, NamedRelation>();
  const tree = statementTree(sql);
  if (tree) collect(tree, out);
  if (!tree || 'DoStmt' in tree || 'CreateFunctionStmt' in tree) {
    for (const m of sql.matchAll(/\b([a-z_][a-z0-9_]*)\.([a-z_][a-z0-9_]*)\b/gi)) out.set(JSON.stringify([m[1]!.toLowerCase(), m[2]!.toLowerCase()]), { schema: m[1]!.toLowerCase(), name: m[2]!.toLowerCase() });
  }
  return [...out.values()];
}

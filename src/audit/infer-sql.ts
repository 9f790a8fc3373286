/**
 * The SQL that policies are made of, read for tenancy inference: a policy's own columns marked
 * apart from a sub-select's, helper functions inlined from their bodies (parameters bound to the
 * call's arguments), caller views read through their definitions, FROM items and their columns.
 * Pure (the parser is PostgreSQL's own, through expr.ts).
 */
import { convert, mapChildren, nodes, parseSql, type Expr, type SelectExpr } from './expr.js';

export interface InferFunction {
  /** "schema.name" */
  name: string;
  /** Parameter names, in order ('' when unnamed). */
  args: string[];
  language: string;
  body: string;
}

export interface InferTableShape {
  table: string;
  columns: string[];
  /** Primary key columns. */
  key: string[];
  /** Single-column unique keys (the primary key's column when it is one). */
  unique: string[];
  foreignKeys: { columns: string[]; references: string; referencedColumns: string[] }[];
}

export interface InferContext {
  tables: ReadonlyMap<string, InferTableShape>;
  functions: ReadonlyMap<string, InferFunction>;
  /** View definitions (pg_get_viewdef, names qualified), read through like helpers: "schema.view" -> SELECT. */
  views?: ReadonlyMap<string, string>;
}

const viewSelects = new Map<string, SelectExpr | null>();

export function viewSelect(name: string, ctx: InferContext): SelectExpr | null {
  const def = ctx.views?.get(name);
  if (!def) return null;
  const cacheKey = `${name}\u0000${def}`;
  if (!viewSelects.has(cacheKey)) {
    let out: SelectExpr | null = null;
    try {
      const tree = parseSql(def) as { stmts: { stmt: Record<string, unknown> }[] };
      const stmt = tree.stmts[0]?.stmt;
      const e = stmt && 'SelectStmt' in stmt ? convert(stmt) : null;
      out = e?.kind === 'sublink' ? e.select : null;
    } catch {
      out = null;
    }
    viewSelects.set(cacheKey, out);
  }
  return viewSelects.get(cacheKey)!;
}


export const OUTER = '$outer';
export const strip = (e: Expr): Expr => (e.kind === 'cast' ? strip(e.arg) : e.kind === 'sublink' && e.type === 'EXPR' && !e.select.hasFrom && e.select.targets.length === 1 && !e.select.where ? strip(e.select.targets[0]!) : e);
export const callName = (e: Expr) => (e.kind === 'call' ? e.name.join('.') : '');

/** Every column reference mapped through `f` (sub-selects included). */
function mapColumns(e: Expr, f: (path: string[]) => Expr | null): Expr {
  return e.kind === 'column' ? (f(e.path) ?? e) : mapChildren(e, (x) => mapColumns(x, f));
}

/** Marks the policy's own columns: unqualified outside sub-selects, qualified by the table's name inside them. */
export function markOuter(e: Expr, table: string, inside = false): Expr {
  const name = table.split('.')[1]!;
  const own = (path: string[]): Expr | null => {
    if (!inside && path.length === 1 && !path[0]!.startsWith('$')) return { kind: 'column', path: [OUTER, path[0]!] };
    if (path.length === 2 && path[0] === name) return { kind: 'column', path: [OUTER, path[1]!] };
    if (path.length === 3 && `${path[0]}.${path[1]}` === table) return { kind: 'column', path: [OUTER, path[2]!] };
    return null;
  };
  if (e.kind === 'sublink') {
    return { ...e, test: e.test && markOuter(e.test, table, inside), select: { ...e.select, targets: e.select.targets.map((t) => markOuter(t, table, true)), where: e.select.where && markOuter(e.select.where, table, true), rest: e.select.rest } };
  }
  if (e.kind === 'column') return own(e.path) ?? e;
  return mapChildren(e, (x) => markOuter(x, table, inside));
}

export const outerColumn = (e: Expr): string | null => {
  const s = strip(e);
  return s.kind === 'column' && s.path[0] === OUTER ? s.path[1]! : null;
};

/** The body of a helper as an expression (no FROM: its one target) or a select (a sublink), its parameters replaced by `args`. */
export function inline(call: Extract<Expr, { kind: 'call' }>, ctx: InferContext): Expr | null {
  const fn = ctx.functions.get(call.name.join('.'));
  if (!fn) return null;
  const select = bodySelect(fn);
  if (!select) return null;
  const short = fn.name.split('.')[1]!;
  const arg = (i: number): Expr => call.args[i] ?? { kind: 'const', value: null };
  const replaced = mapColumns(select, (path) => {
    const p = path.length === 1 ? path[0]! : path.length === 2 && path[0] === short ? path[1]! : null;
    if (p === null) return null;
    const byNumber = /^\$(\d+)$/.exec(p);
    if (byNumber) return arg(Number(byNumber[1]) - 1);
    const i = fn.args.indexOf(p);
    return i >= 0 ? arg(i) : null;
  });
  if (replaced.kind === 'sublink' && !replaced.select.hasFrom && replaced.select.targets.length === 1 && !replaced.select.where) return replaced.select.targets[0]!;
  return replaced;
}

const bodies = new Map<string, Expr | null>();

function bodySelect(fn: InferFunction): Expr | null {
  const cacheKey = `${fn.name}\u0000${fn.body}`;
  if (bodies.has(cacheKey)) return bodies.get(cacheKey)!;
  let text: string | null = fn.body;
  if (fn.language === 'plpgsql') {
    // PL/pgSQL is not parsed (the WASM build has no PL/pgSQL parser): its first RETURN or SELECT, when it is plain SQL.
    const ret = /\breturn\s+(?!query\b|next\b|new\b|null\b)([\s\S]*?);/i.exec(fn.body);
    const query = /\b(?:return\s+query\s+)?(select\b[\s\S]*?);/i.exec(fn.body);
    text = ret ? `SELECT ${ret[1]}` : query ? query[1]!.replace(/\binto\s+(strict\s+)?[a-z_][a-z0-9_]*(\s*,\s*[a-z_][a-z0-9_]*)*/i, '') : null;
  } else if (fn.language !== 'sql') text = null;
  let out: Expr | null = null;
  if (text) {
    try {
      const tree = parseSql(text) as { stmts: { stmt: Record<string, unknown> }[] };
      const stmt = tree.stmts[0]?.stmt;
      if (stmt && 'SelectStmt' in stmt) out = convert(stmt);
    } catch {
      out = null;
    }
  }
  bodies.set(cacheKey, out);
  return out;
}

/** The FROM tables of a select, by the name its columns use (alias, else table name). */
export function sources(s: SelectExpr): Map<string, string> {
  const out = new Map<string, string>();
  for (const r of s.rest) {
    for (const n of nodes(r)) {
      if (n.kind !== 'other' || !n.relation) continue;
      const table = `${n.relation.schema ?? 'public'}.${n.relation.name}`;
      out.set(n.relation.alias ?? n.relation.name, table);
    }
  }
  return out;
}

/** A column of the select's FROM tables: [alias, column] or an unqualified column of its only table. */
export function innerColumn(e: Expr, from: Map<string, string>): { table: string; column: string } | null {
  const s = strip(e);
  if (s.kind !== 'column') return null;
  if (s.path.length === 2 && from.has(s.path[0]!)) return { table: from.get(s.path[0]!)!, column: s.path[1]! };
  if (s.path.length === 1 && from.size === 1 && !s.path[0]!.startsWith('$')) return { table: [...from.values()][0]!, column: s.path[0]! };
  return null;
}

export const conjuncts = (e: Expr | null): Expr[] => (!e ? [] : e.kind === 'bool' && e.op === 'and' ? e.args.flatMap(conjuncts) : [e]);

/** The select a sub-expression stands for: a sub-select with FROM, or a helper whose body is one. */

/**
 * Policy expressions, parsed by the real PostgreSQL parser (libpg_query, compiled to WASM: no
 * native build, runs on Node 20) and reduced to a small tagged tree the rules reason about.
 * Nothing here matches text: `(select auth.uid()) = a OR auth.uid() = b` is two calls, one wrapped.
 */
import { loadSqlParser, parseSqlSync } from '../core/sql-parse.js';

export type Expr =
  | { kind: 'bool'; op: 'and' | 'or'; args: Expr[] }
  | { kind: 'not'; arg: Expr }
  | { kind: 'const'; value: string | number | boolean | null }
  | { kind: 'column'; path: string[] }
  | { kind: 'call'; name: string[]; args: Expr[] }
  | { kind: 'op'; op: string; form: string; left: Expr | null; right: Expr | null }
  | { kind: 'nulltest'; arg: Expr; isNull: boolean }
  | { kind: 'cast'; arg: Expr; type: string }
  | { kind: 'sublink'; type: string; test: Expr | null; select: SelectExpr }
  | { kind: 'list'; items: Expr[] }
  | { kind: 'other'; node: string; children: Expr[]; relation?: RelationRef };

/** A table named in a FROM clause (RangeVar). */
export interface RelationRef {
  schema: string | null;
  name: string;
  alias: string | null;
}

export interface SelectExpr {
  hasFrom: boolean;
  targets: Expr[];
  where: Expr | null;
  /** Expressions elsewhere in the sub-select (FROM items, joins, set operations). */
  rest: Expr[];
}

type Raw = Record<string, unknown>;

/**
 * Loads the WASM parser once (on first use, not at start-up: `dbkit --help` should not pay for
 * it); every other function here is synchronous after it.
 */
export const initParser = loadSqlParser;

/** The parser loaded by initParser(). */
export const parseSql = parseSqlSync;

export class ExpressionSyntaxError extends Error {}

/** Parses one SQL expression (as pg_get_expr prints it, or as written in policies/). */
export function parseExpression(text: string): Expr {
  let tree: Raw;
  try {
    tree = parseSql(`SELECT (${text})`) as Raw;
  } catch (error) {
    throw new ExpressionSyntaxError(`cannot parse expression: ${(error as Error).message}`);
  }
  const stmts = tree.stmts as { stmt: Raw }[] | undefined;
  const select = stmts?.[0]?.stmt.SelectStmt as Raw | undefined;
  const target = (select?.targetList as Raw[] | undefined)?.[0]?.ResTarget as Raw | undefined;
  if (!stmts || stmts.length !== 1 || !target) throw new ExpressionSyntaxError('not a single expression');
  return convert(target.val as Raw);
}

const names = (list: unknown): string[] => ((list as Raw[] | undefined) ?? []).map((n) => ((n.String as Raw | undefined)?.sval as string | undefined) ?? '*');

function constValue(body: Raw): string | number | boolean | null {
  if (body.isnull) return null;
  if ('boolval' in body) return Boolean((body.boolval as Raw).boolval);
  if ('ival' in body) return Number((body.ival as Raw).ival ?? 0);
  if ('fval' in body) return Number((body.fval as Raw).fval);
  if ('sval' in body) return String((body.sval as Raw).sval ?? '');
  if ('bsval' in body) return String((body.bsval as Raw).bsval ?? '');
  return null;
}

function isNode(value: unknown): value is Raw {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const keys = Object.keys(value);
  return keys.length === 1 && /^[A-Z]/.test(keys[0]!);
}

function childrenOf(body: Raw): Expr[] {
  const out: Expr[] = [];
  for (const value of Object.values(body)) {
    if (isNode(value)) out.push(convert(value));
    else if (Array.isArray(value)) for (const item of value) if (isNode(item)) out.push(convert(item));
  }
  return out;
}

function convertSelect(body: Raw): SelectExpr {
  const from = (body.fromClause as Raw[] | undefined) ?? [];
  const rest: Expr[] = from.map(convert);
  for (const side of ['larg', 'rarg'] as const) if (body[side]) rest.push({ kind: 'other', node: 'SetOperation', children: [convertSelectNode(body[side] as Raw)] });
  for (const key of ['groupClause', 'havingClause', 'valuesLists'] as const) {
    const v = body[key];
    if (isNode(v)) rest.push(convert(v));
    else if (Array.isArray(v)) for (const item of v) if (isNode(item)) rest.push(convert(item));
  }
  return {
    hasFrom: from.length > 0 || Boolean(body.larg),
    targets: ((body.targetList as Raw[] | undefined) ?? []).map((t) => convert(((t.ResTarget as Raw).val ?? { A_Star: {} }) as Raw)),
    where: body.whereClause ? convert(body.whereClause as Raw) : null,
    rest,
  };
}

function convertSelectNode(body: Raw): Expr {
  return { kind: 'sublink', type: 'SELECT', test: null, select: convertSelect(body) };
}

export function convert(node: Raw): Expr {
  const [type, raw] = Object.entries(node)[0] as [string, Raw];
  const body = raw ?? {};
  switch (type) {
    case 'BoolExpr': {
      const args = ((body.args as Raw[] | undefined) ?? []).map(convert);
      if (body.boolop === 'NOT_EXPR') return { kind: 'not', arg: args[0]! };
      return { kind: 'bool', op: body.boolop === 'AND_EXPR' ? 'and' : 'or', args };
    }
    case 'A_Const':
      return { kind: 'const', value: constValue(body) };
    case 'ColumnRef':
      return { kind: 'column', path: names(body.fields) };
    case 'FuncCall':
      return { kind: 'call', name: names(body.funcname), args: ((body.args as Raw[] | undefined) ?? []).map(convert) };
    case 'A_Expr':
      return {
        kind: 'op',
        op: names(body.name).join('.'),
        form: String(body.kind ?? 'AEXPR_OP').replace(/^AEXPR_/, '').toLowerCase(),
        left: body.lexpr ? convert(body.lexpr as Raw) : null,
        right: body.rexpr ? convert(body.rexpr as Raw) : null,
      };
    case 'NullTest':
      return { kind: 'nulltest', arg: convert(body.arg as Raw), isNull: body.nulltesttype === 'IS_NULL' };
    case 'TypeCast':
      return { kind: 'cast', arg: convert(body.arg as Raw), type: names((body.typeName as Raw | undefined)?.names).filter((n) => n !== 'pg_catalog').join('.') };
    case 'SubLink':
      return {
        kind: 'sublink',
        type: String(body.subLinkType ?? '').replace(/_SUBLINK$/, ''),
        test: body.testexpr ? convert(body.testexpr as Raw) : null,
        select: convertSelect(((body.subselect as Raw).SelectStmt ?? {}) as Raw),
      };
    case 'List':
      return { kind: 'list', items: ((body.items as Raw[] | undefined) ?? []).map(convert) };
    case 'SelectStmt':
      return convertSelectNode(body);
    case 'RangeVar':
      return {
        kind: 'other', node: type, children: [],
        relation: { schema: (body.schemaname as string | undefined) ?? null, name: String(body.relname ?? ''), alias: ((body.alias as Raw | undefined)?.aliasname as string | undefined) ?? null },
      };
    case 'ParamRef':
      // $n in a function body: a column-like reference the helper inlining replaces with the argument.
      return { kind: 'column', path: [`$${String(body.number ?? 0)}`] };
    case 'SQLValueFunction':
      return { kind: 'call', name: [String(body.op ?? '').replace(/^SVFOP_/, '').toLowerCase()], args: [] };
    default:
      return { kind: 'other', node: type, children: childrenOf(body) };
  }
}

/** The direct sub-expressions of a node (sub-select parts included). */
export function children(e: Expr): Expr[] {
  switch (e.kind) {
    case 'bool':
      return e.args;
    case 'not':
    case 'nulltest':
    case 'cast':
      return [e.arg];
    case 'const':
    case 'column':
      return [];
    case 'call':
      return e.args;
    case 'op':
      return [e.left, e.right].filter((x): x is Expr => x !== null);
    case 'sublink':
      return [...(e.test ? [e.test] : []), ...e.select.targets, ...(e.select.where ? [e.select.where] : []), ...e.select.rest];
    case 'list':
      return e.items;
    case 'other':
      return e.children;
    default:
      return assertNever(e);
  }
}

export function assertNever(value: never): never {
  throw new Error(`unhandled: ${JSON.stringify(value)}`);
}

/** A stable key for structural equality. */
export const exprKey = (e: Expr): string => JSON.stringify(e);

/** `(SELECT f())`: a sub-select with no FROM, evaluated once per statement (an initPlan). */
export function isInitPlanWrapper(e: Expr): boolean {
  return e.kind === 'sublink' && e.type === 'EXPR' && !e.select.hasFrom && e.select.targets.length === 1 && e.select.where === null;
}

export interface CallSite {
  name: string;
  /** Inside a `(SELECT ...)` or `ARRAY(SELECT ...)` without FROM: evaluated once per statement. */
  wrapped: boolean;
  /** Any argument refers to a column (so it cannot be hoisted anyway). */
  usesColumns: boolean;
}

export function callSites(e: Expr, wrapped = false, out: CallSite[] = []): CallSite[] {
  if (e.kind === 'call') out.push({ name: e.name.join('.'), wrapped, usesColumns: e.args.some(mentionsColumn) });
  if (e.kind === 'sublink') {
    // Without FROM (and so without a row source of its own) a scalar or ARRAY sub-select is an
    // initPlan: `(SELECT f())` and `ARRAY(SELECT f())` both run f once per statement.
    const inner = wrapped || ((e.type === 'EXPR' || e.type === 'ARRAY') && !e.select.hasFrom);
    if (e.test) callSites(e.test, wrapped, out);
    for (const t of e.select.targets) callSites(t, inner, out);
    if (e.select.where) callSites(e.select.where, inner, out);
    for (const r of e.select.rest) callSites(r, inner, out);
    return out;
  }
  for (const c of children(e)) callSites(c, wrapped, out);
  return out;
}

export function mentionsColumn(e: Expr): boolean {
  return e.kind === 'column' || children(e).some(mentionsColumn);
}

/** Column references of the policy's own table: unqualified names outside any sub-select. */
export function outerColumns(e: Expr, out = new Set<string>()): Set<string> {
  if (e.kind === 'column' && e.path.length === 1) out.add(e.path[0]!);
  if (e.kind === 'sublink') {
    if (e.test) outerColumns(e.test, out);
    return out;
  }
  for (const c of children(e)) outerColumns(c, out);
  return out;
}

/** Every node, depth first. */
export function* nodes(e: Expr): Generator<Expr> {
  yield e;
  for (const c of children(e)) yield* nodes(c);
}

const isConstantTree = (e: Expr): boolean => e.kind !== 'column' && e.kind !== 'call' && e.kind !== 'sublink' && children(e).every(isConstantTree);

/** true / false when the expression's value does not depend on the row or the caller; null otherwise. */
export function constantTruth(e: Expr): boolean | null {
  switch (e.kind) {
    case 'const':
      if (typeof e.value === 'boolean') return e.value;
      return null;
    case 'cast':
      if (e.type === 'bool' || e.type === 'boolean') {
        if (e.arg.kind === 'const' && typeof e.arg.value === 'string') return ['t', 'true', 'yes', 'on', 'y', '1'].includes(e.arg.value.toLowerCase()) ? true : ['f', 'false', 'no', 'off', 'n', '0'].includes(e.arg.value.toLowerCase()) ? false : null;
        return constantTruth(e.arg);
      }
      return null;
    case 'not': {
      const v = constantTruth(e.arg);
      return v === null ? null : !v;
    }
    case 'bool': {
      const values = e.args.map(constantTruth);
      if (e.op === 'or') return values.includes(true) ? true : values.every((v) => v === false) ? false : null;
      return values.includes(false) ? false : values.every((v) => v === true) ? true : null;
    }
    case 'op': {
      if (e.form !== 'op' || !e.left || !e.right || !isConstantTree(e.left) || !isConstantTree(e.right)) return null;
      const same = exprKey(stripCasts(e.left)) === exprKey(stripCasts(e.right));
      const l = literal(e.left);
      const r = literal(e.right);
      if (e.op === '=') return same ? true : l !== undefined && r !== undefined && l !== null && r !== null ? l === r : null;
      if (e.op === '<>' || e.op === '!=') return same ? false : l !== undefined && r !== undefined && l !== null && r !== null ? l !== r : null;
      if (typeof l === 'number' && typeof r === 'number') {
        if (e.op === '<') return l < r;
        if (e.op === '>') return l > r;
        if (e.op === '<=') return l <= r;
        if (e.op === '>=') return l >= r;
      }
      return null;
    }
    case 'nulltest':
      if (e.arg.kind === 'const' || (e.arg.kind === 'cast' && e.arg.arg.kind === 'const')) {
        const isNull = literal(e.arg) === null;
        return e.isNull ? isNull : !isNull;
      }
      return null;
    default:
      return null;
  }
}

function literal(e: Expr): string | number | boolean | null | undefined {
  const s = stripCasts(e);
  return s.kind === 'const' ? s.value : undefined;
}

function stripCasts(e: Expr): Expr {
  return e.kind === 'cast' ? stripCasts(e.arg) : e;
}

/** `e` with `f` applied to each of its direct sub-expressions (a sub-select's targets, WHERE and the rest included). */
export function mapChildren(e: Expr, f: (x: Expr) => Expr): Expr {
  switch (e.kind) {
    case 'bool':
      return { ...e, args: e.args.map(f) };
    case 'not':
    case 'nulltest':
    case 'cast':
      return { ...e, arg: f(e.arg) } as Expr;
    case 'call':
      return { ...e, args: e.args.map(f) };
    case 'op':
      return { ...e, left: e.left && f(e.left), right: e.right && f(e.right) };
    case 'sublink':
      return { ...e, test: e.test && f(e.test), select: { ...e.select, targets: e.select.targets.map(f), where: e.select.where && f(e.select.where), rest: e.select.rest.map(f) } };
    case 'list':
      return { ...e, items: e.items.map(f) };
    case 'other':
      return { ...e, children: e.children.map(f) };
    default:
      return e;
  }
}

/** Same meaning for comparisons: `(SELECT f())` and `f()` compare equal. */
export function normalise(e: Expr): Expr {
  if (e.kind === 'sublink' && isInitPlanWrapper(e)) return normalise(e.select.targets[0]!);
  return mapChildren(e, normalise);
}

/**
 * Whether `a` provably implies `b`, by boolean structure over structurally equal atoms. false means
 * "not proven", never "proven not".
 */
export function implies(a: Expr, b: Expr): boolean {
  if (constantTruth(b) === true || constantTruth(a) === false) return true;
  if (exprKey(normalise(a)) === exprKey(normalise(b))) return true;
  if (b.kind === 'bool' && b.op === 'and') return b.args.every((arg) => implies(a, arg));
  if (a.kind === 'bool' && a.op === 'or') return a.args.every((arg) => implies(arg, b));
  if (b.kind === 'bool' && b.op === 'or' && b.args.some((arg) => implies(a, arg))) return true;
  if (a.kind === 'bool' && a.op === 'and' && a.args.some((arg) => implies(arg, b))) return true;
  return false;
}

/**
 * What one policy expression says about how its table's rows reach a user: an owner column
 * compared with auth.uid() (or the JWT's sub), a column pointing at a parent whose key a
 * sub-select returns, or a column holding a group that a membership table links to the caller
 * (EXISTS / IN / = ANY over it). Helper functions are read through their SQL bodies, with their
 * parameters replaced by the call's arguments. Pure: the functions and tables come in as data.
 */
import { nodes, normalise, type Expr, type SelectExpr } from './expr.js';
import { callName, conjuncts, inline, innerColumn, markOuter, outerColumn, sources, strip, viewSelect, type InferContext } from './infer-sql.js';

export type { InferContext, InferFunction, InferTableShape } from './infer-sql.js';


export interface MembershipGuess {
  table: string;
  groupColumn: string;
  userColumn: string;
  /** The role column the policy compares (or one named like a role), and the values it compares with. */
  roleColumn: string | null;
  roleCompared: string[];
}

export type PathCandidate =
  | { kind: 'owner'; column: string; why: string }
  | { kind: 'parent'; column: string; parent: string; parentKey: string; why: string }
  | { kind: 'group'; column: string; membership: MembershipGuess; why: string };

export interface PolicyFacts {
  candidates: PathCandidate[];
  /** Owner columns of other tables seen in sub-selects and helpers (e.g. minds.user_id in current_mind_id()). */
  anchors: { table: string; column: string }[];
  /** An OR branch (or a whole policy) that admits rows by constants only: a published row. */
  published: Record<string, string | number | boolean> | null;
  /** JWT claims other than sub the policy compares (tenancy by claim: not seeded). */
  claims: string[];
}

/** auth.uid(), the JWT's sub (auth.jwt() ->> 'sub', the request.jwt.claim.sub setting), through casts. */
function isUid(e: Expr, ctx: InferContext, depth: number): boolean {
  const s = strip(e);
  if (s.kind === 'call' && callName(s) === 'auth.uid') return true;
  if (s.kind === 'call' && callName(s).endsWith('current_setting') && s.args[0]?.kind === 'const' && s.args[0].value === 'request.jwt.claim.sub') return true;
  if (s.kind === 'op' && (s.op === '->>' || s.op === '->') && s.left && s.right && callName(strip(s.left)) === 'auth.jwt' && constValue(s.right) === 'sub') return true;
  if (s.kind === 'call' && depth < 4) {
    const body = inline(s, ctx);
    if (body && body.kind !== 'sublink') return isUid(body, ctx, depth + 1);
  }
  return false;
}

const constValue = (e: Expr): string | number | boolean | null | undefined => {
  const s = strip(e);
  return s.kind === 'const' ? s.value : undefined;
};

/** Whether a chain of -> / ->> starts at auth.jwt(). */
const fromJwt = (e: Expr): boolean => {
  const s = strip(e);
  return callName(s) === 'auth.jwt' || (s.kind === 'op' && (s.op === '->' || s.op === '->>') && s.left !== null && fromJwt(s.left));
};

/** A JWT claim other than sub compared in the expression (auth.jwt() -> 'app_metadata' ->> 'org_id' ...). */
function claimsOf(e: Expr): string[] {
  const out: string[] = [];
  for (const n of nodes(e)) {
    if (n.kind !== 'op' || (n.op !== '->>' && n.op !== '->') || !n.left || !n.right || !fromJwt(n.left)) continue;
    const key = constValue(n.right);
    if (key !== undefined && key !== null && key !== 'sub') out.push(String(key));
  }
  return [...new Set(out)];
}

function selectOf(e: Expr, ctx: InferContext, depth = 0): SelectExpr | null {
  if (depth > 4) return null;
  const s = e.kind === 'cast' ? strip(e) : e;
  if (s.kind === 'sublink') {
    if (s.select.hasFrom) return s.select;
    if (s.select.targets.length === 1) return selectOf(s.select.targets[0]!, ctx, depth + 1);
    return null;
  }
  if (s.kind === 'call') {
    const body = inline(s, ctx);
    return body ? selectOf(body, ctx, depth + 1) : null;
  }
  return null;
}

interface Link {
  table: string;
  column: string;
  userColumn: string | null;
  roleColumn: string | null;
  roleCompared: string[];
}

/** What a sub-select returns (`target`, or the column correlated with the outer row) and how it filters by user and role. */
function linkOf(select: SelectExpr, target: Expr | null, ctx: InferContext, depth = 0): Link | null {
  const from = sources(select);
  const col = target ? innerColumn(target, from) : null;
  if (!col) return null;
  // A view in FROM (a caller view such as private.caller_projects): follow its definition to the table.
  const view = depth < 4 ? viewSelect(col.table, ctx) : null;
  if (view) {
    const inner = view.targets.find((t) => {
      const s = strip(t);
      return s.kind === 'column' && s.path[s.path.length - 1] === col.column;
    }) ?? (view.targets.length === 1 ? view.targets[0]! : null);
    return inner ? linkOf(view, inner, ctx, depth + 1) : null;
  }
  let userColumn: string | null = null;
  let roleColumn: string | null = null;
  const roleCompared: string[] = [];
  for (const atom of conjuncts(select.where)) {
    for (const n of nodes(atom)) {
      if (n.kind !== 'op' || !n.left || !n.right || n.op !== '=') continue;
      const l = innerColumn(n.left, from);
      const r = innerColumn(n.right, from);
      if (l?.table === col.table && isUid(n.right, ctx, 0)) userColumn = l.column;
      else if (r?.table === col.table && isUid(n.left, ctx, 0)) userColumn = r.column;
      else if (l?.table === col.table && /role/i.test(l.column)) {
        roleColumn = l.column;
        for (const c of nodes(n.right)) if (c.kind === 'const' && typeof c.value === 'string') roleCompared.push(c.value);
      }
    }
  }
  return { table: col.table, column: col.column, userColumn, roleColumn, roleCompared };
}

function candidateOf(column: string, link: Link, ctx: InferContext, why: string, anchors: PolicyFacts['anchors']): PathCandidate | null {
  const shape = ctx.tables.get(link.table);
  if (!shape) return null;
  const isKey = shape.unique.includes(link.column);
  if (isKey) {
    if (link.userColumn) anchors.push({ table: link.table, column: link.userColumn });
    return { kind: 'parent', column, parent: link.table, parentKey: link.column, why };
  }
  if (!link.userColumn) return null;
  const roleColumn = link.roleColumn ?? shape.columns.find((c) => /(^|_)role$/.test(c)) ?? null;
  return { kind: 'group', column, membership: { table: link.table, groupColumn: link.column, userColumn: link.userColumn, roleColumn, roleCompared: link.roleColumn ? link.roleCompared : [] }, why };
}

function visit(e: Expr, ctx: InferContext, facts: PolicyFacts, depth: number): void {
  if (depth > 5) return;
  switch (e.kind) {
    case 'bool':
      for (const a of e.args) visit(a, ctx, facts, depth);
      return;
    case 'op': {
      if (!e.left || !e.right) return;
      if (e.op === '=' && (e.form === 'op' || e.form === 'op_any')) {
        for (const [a, b] of [[e.left, e.right], [e.right, e.left]] as const) {
          const c = outerColumn(a);
          if (!c) continue;
          if (e.form === 'op' && isUid(b, ctx, 0)) {
            facts.candidates.push({ kind: 'owner', column: c, why: `${c} = auth.uid()` });
            return;
          }
          const select = selectOf(b, ctx);
          if (select) {
            const link = linkOf(select, select.targets[0] ?? null, ctx);
            const cand = link && candidateOf(c, link, ctx, `${c} ${e.form === 'op_any' ? '= ANY' : '='} (SELECT ${link.column} FROM ${link.table}${link.userColumn ? ` WHERE ${link.userColumn} = auth.uid()` : ''})`, facts.anchors);
            if (cand) facts.candidates.push(cand);
            return;
          }
        }
      }
      // has_role(x) = true
      for (const side of [e.left, e.right]) if (strip(side).kind === 'call') visit(strip(side), ctx, facts, depth + 1);
      return;
    }
    case 'sublink': {
      // auth.uid() IN (SELECT m.user_id FROM members m WHERE m.group_id = t.id): a membership, correlated.
      if (e.type === 'ANY' && e.test && isUid(e.test, ctx, 0) && e.select.hasFrom) {
        const from = sources(e.select);
        const user = e.select.targets[0] ? innerColumn(e.select.targets[0], from) : null;
        for (const atom of conjuncts(e.select.where)) {
          if (!user || atom.kind !== 'op' || atom.op !== '=' || !atom.left || !atom.right) continue;
          for (const [a, b] of [[atom.left, atom.right], [atom.right, atom.left]] as const) {
            const c = outerColumn(b);
            const inner = innerColumn(a, from);
            if (!c || !inner || inner.table !== user.table) continue;
            const link = { ...linkOf(e.select, a, ctx)!, userColumn: user.column };
            const cand = candidateOf(c, link, ctx, `auth.uid() IN (SELECT ${user.column} FROM ${link.table} WHERE ${link.column} = ${c})`, facts.anchors);
            if (cand) {
              facts.candidates.push(cand);
              return;
            }
          }
        }
        return;
      }
      if (e.type === 'ANY' && e.test) {
        const c = outerColumn(e.test);
        const select = selectOf(e, ctx);
        const link = c && select ? linkOf(select, select.targets[0] ?? null, ctx) : null;
        const cand = c && link && candidateOf(c, link, ctx, `${c} IN (SELECT ${link.column} FROM ${link.table}${link.userColumn ? ` WHERE ${link.userColumn} = auth.uid()` : ''})`, facts.anchors);
        if (cand) facts.candidates.push(cand);
        return;
      }
      if (e.type === 'EXISTS') {
        const from = sources(e.select);
        for (const atom of conjuncts(e.select.where)) {
          if (atom.kind !== 'op' || atom.op !== '=' || !atom.left || !atom.right) continue;
          for (const [a, b] of [[atom.left, atom.right], [atom.right, atom.left]] as const) {
            const c = outerColumn(b);
            if (!c || !innerColumn(a, from)) continue;
            const link = linkOf(e.select, a, ctx);
            const cand = link && candidateOf(c, link, ctx, `EXISTS (SELECT FROM ${link.table} WHERE ${link.column} = ${c}${link.userColumn ? ` AND ${link.userColumn} = auth.uid()` : ''})`, facts.anchors);
            if (cand) {
              facts.candidates.push(cand);
              return;
            }
          }
        }
        return;
      }
      if (e.type === 'EXPR' && !e.select.hasFrom && e.select.targets.length === 1) visit(e.select.targets[0]!, ctx, facts, depth + 1);
      return;
    }
    case 'call': {
      const body = inline(e, ctx);
      if (body) visit(body.kind === 'sublink' && body.type === 'SELECT' ? { ...body, type: 'EXISTS' } : body, ctx, facts, depth + 1);
      return;
    }
    case 'cast':
      visit(e.arg, ctx, facts, depth);
      return;
    default:
      return;
  }
}

/** Constants only (col = const, a boolean column, IS NULL): the values that make a row readable to anyone the policy admits. */
function publishedValues(e: Expr): Record<string, string | number | boolean> | null {
  const values: Record<string, string | number | boolean> = {};
  for (const atom of conjuncts(e)) {
    const s = strip(atom);
    if (s.kind === 'nulltest') continue;
    const col = outerColumn(s);
    if (col) {
      values[col] = true;
      continue;
    }
    if (s.kind === 'op' && s.op === '=' && s.form === 'op' && s.left && s.right) {
      const c = outerColumn(s.left) ?? outerColumn(s.right);
      const k = strip(outerColumn(s.left) ? s.right : s.left);
      if (c && k.kind === 'const' && k.value !== null) {
        values[c] = k.value;
        continue;
      }
    }
    return null;
  }
  return Object.keys(values).length > 0 ? values : null;
}

export function analysePolicy(expression: string | null, table: string, ctx: InferContext, parse: (text: string) => Expr): PolicyFacts {
  const facts: PolicyFacts = { candidates: [], anchors: [], published: null, claims: [] };
  if (!expression) return facts;
  let tree: Expr;
  try {
    tree = markOuter(normalise(parse(expression)), table);
  } catch {
    return facts;
  }
  facts.claims = claimsOf(tree);
  const branches = tree.kind === 'bool' && tree.op === 'or' ? tree.args : [tree];
  for (const branch of branches) {
    const before = facts.candidates.length;
    visit(branch, ctx, facts, 0);
    if (facts.candidates.length === before && !facts.published && ![...nodes(branch)].some((n) => isUid(n, ctx, 0))) facts.published = publishedValues(branch);
  }
  return facts;
}


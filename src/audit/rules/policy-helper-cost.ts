/**
 * What a policy's helper functions cost per statement (issue 12, measured on CreatorOS):
 * - a SQL-language helper with SECURITY DEFINER or SET search_path is never inlined, and
 *   PostgreSQL (15 to 17) plans its body again on every call: 0.1-0.15 ms, ten times the cost of
 *   reading one row by its key;
 * - a policy whose sub-select reads a table with RLS runs that table's policies too (nested RLS),
 *   so a helper both of them call runs at least twice per statement.
 * The fix that measured best reads the caller's rows through a view owned by a role that bypasses
 * RLS, in a schema the API does not expose: planned with the statement, no call, no nesting.
 * Helpers of managed schemas (auth.uid() and the like) are the platform's, not flagged.
 */
import { callSites, ExpressionSyntaxError, parseSql } from '../expr.js';
import type { AuditRule, CatalogFunction, CatalogPolicy, CatalogRelation, Finding } from '../model.js';
import { appliesToRole, expr, finding, isManaged, policyName, tableName } from './helpers.js';

const expressions = (p: CatalogPolicy) => [p.using, p.withCheck].filter((t): t is string => t !== null);

/** A SQL function PostgreSQL cannot inline, so that it plans its body on each call. */
const replanned = (f: CatalogFunction) => f.language === 'sql' && (f.securityDefiner || f.pinnedSearchPath);
/** Any function that runs as a call of its own (not inlined into the statement). */
const notInlined = (f: CatalogFunction) => f.language !== 'sql' || f.securityDefiner || f.pinnedSearchPath;

/** "schema.table" of every relation the expression's sub-selects read (FROM, JOIN). */
export function relationsRead(text: string): string[] {
  const found = new Set<string>();
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) {
      for (const item of node) walk(item);
      return;
    }
    if (typeof node !== 'object' || node === null) return;
    for (const [key, value] of Object.entries(node)) {
      if (key === 'RangeVar' && typeof value === 'object' && value !== null) {
        const rv = value as { schemaname?: unknown; relname?: unknown };
        if (typeof rv.relname === 'string') found.add(typeof rv.schemaname === 'string' ? `${rv.schemaname}.${rv.relname}` : rv.relname);
      }
      walk(value);
    }
  };
  let tree: unknown;
  try {
    tree = parseSql(`SELECT (${text})`);
  } catch (error) {
    throw new ExpressionSyntaxError(`cannot parse expression: ${(error as Error).message}`);
  }
  walk(tree);
  return [...found];
}

export const policyHelperCost: AuditRule = {
  id: 'policy-helper-cost',
  level: 'info',
  splinter: null,
  title: 'Policy helper planned on every call, or run again through nested RLS',
  description:
    'A policy calls a helper that PostgreSQL plans again on every call (LANGUAGE sql with SECURITY DEFINER or SET search_path: never inlined), or one that the policies of a table its sub-select reads call as well (nested RLS runs it again). Each costs a fixed time per statement, many times that of a one-row read.',
  fixture: {
    hole: ['public.h18_replanned.h18_sql_helper', 'public.h18_nested.h18_nested_rows'],
    safe: ['public.s18_plpgsql', 'public.s18_owner_view', 'public.s18_nested_platform'],
  },
  check(catalog, settings) {
    const helpers = new Map<string, CatalogFunction>();
    for (const f of catalog.functions) if (!isManaged(f.schema, settings) && f.language !== 'internal' && f.language !== 'c') helpers.set(`${f.schema}.${f.name}`, f);
    const relations = new Map(catalog.relations.map((r) => [tableName(r), r]));
    const called = (text: string) => [...new Set(callSites(expr(text)).map((c) => c.name))].filter((n) => helpers.has(n));
    const out: Finding[] = [];
    for (const r of catalog.relations) {
      if (r.kind !== 'table' || isManaged(r.schema, settings)) continue;
      for (const p of r.policies) {
        const calls = [...new Set(expressions(p).flatMap(called))];
        const slow = calls.filter((n) => replanned(helpers.get(n)!));
        const nested = nestedRuns(p, calls.filter((n) => notInlined(helpers.get(n)!)), relations, called);
        if (slow.length === 0 && nested.length === 0) continue;
        out.push(finding(this, { object: policyName(r, p), objectType: 'policy', ...describe(p, r, slow, nested) }));
      }
    }
    return out;
  },
};

/** The helpers `calls` that also run in the SELECT policies (for p's roles) of the RLS tables p's sub-selects read. */
function nestedRuns(p: CatalogPolicy, calls: string[], relations: ReadonlyMap<string, CatalogRelation>, called: (text: string) => string[]): { helper: string; table: string }[] {
  if (calls.length === 0) return [];
  const out: { helper: string; table: string }[] = [];
  for (const name of new Set(expressions(p).flatMap(relationsRead))) {
    const read = relations.get(name);
    if (!read || read.kind !== 'table' || !read.rls) continue;
    const applying = read.policies.filter((q) => (q.command === 'SELECT' || q.command === 'ALL') && p.roles.some((role) => appliesToRole(q, role)));
    const inner = new Set(applying.flatMap((q) => (q.using === null ? [] : called(q.using))));
    for (const helper of calls) if (inner.has(helper)) out.push({ helper, table: name });
  }
  return out;
}

function describe(p: CatalogPolicy, r: CatalogRelation, slow: string[], nested: { helper: string; table: string }[]): { message: string; fix: string } {
  const parts: string[] = [];
  if (slow.length > 0) parts.push(`${slow.map((n) => `${n}()`).join(', ')} ${slow.length === 1 ? 'is' : 'are'} planned again on every call (LANGUAGE sql with SECURITY DEFINER or SET: never inlined)`);
  for (const { helper, table } of nested) parts.push(`${helper}() runs again in the policies of ${table}, which its sub-select reads (nested RLS)`);
  const tables = [...new Set(nested.map((n) => n.table))];
  const fix = [
    "read the caller's rows through a view owned by a role that bypasses RLS, in a schema the API does not expose (planned with the statement: no call, no nesting)",
    slow.length > 0 ? `or rewrite ${slow.map((n) => `${n}()`).join(', ')} in PL/pgSQL (plans cached per session)` : '',
    tables.length > 0 ? `or have one SECURITY DEFINER helper return the ids read from ${tables.join(', ')}, so that its policies do not run inside this one` : '',
  ].filter(Boolean);
  return { message: `policy ${p.name} on ${tableName(r)}: ${parts.join('; ')}`, fix: fix.join('; ') };
}

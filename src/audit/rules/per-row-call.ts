/**
 * auth.uid(), auth.jwt(), current_setting() and STABLE helpers called bare in a policy run once per
 * row; wrapped as `(select f())` Postgres evaluates them once per statement (an initPlan). Found
 * on the parse tree, so `(select auth.uid()) = a OR auth.uid() = b` is caught.
 */
import type { AuditCatalog, AuditRule, Finding } from '../model.js';
import { callSites } from '../expr.js';
import { expr, finding, isManaged, policyName, tableName } from './helpers.js';

const ALWAYS_PER_STATEMENT = ['auth.uid', 'auth.jwt', 'auth.role', 'auth.email', 'current_setting'];

function perStatementFunctions(catalog: AuditCatalog): Set<string> {
  const names = new Set(ALWAYS_PER_STATEMENT);
  for (const f of catalog.functions) if (f.volatility === 'stable') names.add(`${f.schema}.${f.name}`);
  return names;
}

export const perRowCall: AuditRule = {
  id: 'per-row-call',
  level: 'warn',
  splinter: 'auth_rls_initplan',
  title: 'Per-statement function called once per row',
  description: 'A policy calls auth.uid(), auth.jwt(), auth.role(), current_setting() or a STABLE helper without wrapping it in (select ...), so Postgres evaluates it for every row scanned instead of once per statement.',
  fixture: { hole: ['public.h07_unwrapped.h07_mixed'], safe: ['public.s07_wrapped.s07_wrapped'] },
  check(catalog, settings) {
    const targets = perStatementFunctions(catalog);
    const out: Finding[] = [];
    for (const r of catalog.relations) {
      if (r.kind !== 'table' || isManaged(r.schema, settings)) continue;
      for (const p of r.policies) {
        const bare = [p.using, p.withCheck]
          .filter((t): t is string => t !== null)
          .flatMap((t) => callSites(expr(t)))
          .filter((c) => !c.wrapped && !c.usesColumns && targets.has(c.name));
        const calls = [...new Set(bare.map((c) => `${c.name}()`))];
        if (calls.length === 0) continue;
        out.push(finding(this, {
          object: policyName(r, p),
          objectType: 'policy',
          message: `policy ${p.name} on ${tableName(r)} calls ${calls.join(', ')} once per row (${bare.length} bare call${bare.length === 1 ? '' : 's'})`,
          fix: `wrap each call in a sub-select: ${calls.map((c) => `(select ${c})`).join(', ')}`,
        }));
      }
    }
    return out;
  },
};

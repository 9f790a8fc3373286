/**
 * An UPDATE (or ALL) policy whose WITH CHECK does not imply its USING lets a caller take a row it
 * may touch and rewrite it into rows it may not: the row moves into another tenant. USING alone is
 * safe (Postgres reuses it as the check). Decided by boolean structure over parsed atoms; what
 * cannot be proven either way is a warning.
 */
import type { AuditRule, Finding } from '../model.js';
import { constantTruth, implies, outerColumns } from '../expr.js';
import { expr, finding, isManaged, policyName, tableName } from './helpers.js';

export const updateCheckWeaker: AuditRule = {
  id: 'update-check-weaker',
  level: 'error',
  splinter: null,
  title: 'WITH CHECK weaker than USING on UPDATE',
  description: 'The policy lets a caller update rows matched by USING into rows that only satisfy a weaker WITH CHECK, so a row can be moved into another tenant.',
  fixture: {
    hole: ['public.h06_move.h06_move_anywhere', 'public.h06_move_weak.h06_move_not_null'],
    safe: ['public.s06_update_using_only.s06_update_own', 'public.s06_or_published.s06_rw'],
  },
  check(catalog, settings) {
    const out: Finding[] = [];
    for (const r of catalog.relations) {
      if (r.kind !== 'table' || isManaged(r.schema, settings)) continue;
      for (const p of r.policies) {
        if (!p.permissive || (p.command !== 'UPDATE' && p.command !== 'ALL') || p.using === null || p.withCheck === null) continue;
        const using = expr(p.using);
        const check = expr(p.withCheck);
        if (implies(check, using)) continue;
        const usingCols = outerColumns(using);
        const shared = [...outerColumns(check)].filter((c) => usingCols.has(c));
        const proven = constantTruth(check) === true || shared.length === 0;
        out.push(finding(this, {
          level: proven ? 'error' : 'warn',
          object: policyName(r, p),
          objectType: 'policy',
          message: proven
            ? `policy ${p.name} on ${tableName(r)}: WITH CHECK (${p.withCheck}) does not constrain ${[...usingCols].join(', ') || 'what USING checks'}, so an updated row can be moved out of the caller's rows`
            : `policy ${p.name} on ${tableName(r)}: WITH CHECK cannot be shown to imply USING, so an updated row may be moved out of the caller's rows`,
          fix: `make WITH CHECK at least as strict as USING (or drop WITH CHECK: Postgres then checks new rows with USING)`,
        }));
      }
    }
    return out;
  },
};

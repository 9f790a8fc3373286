/**
 * The columns a policy filters on should lead an index, or every query through RLS scans the whole
 * table. Judged on the parse tree of USING: an AND is index-usable when one of its parts is, an OR
 * only when all of its arms are; comparisons of a column with something row-independent, IN
 * sub-selects and IS NULL tests are the filters.
 */
import type { AuditRule, Finding } from '../model.js';
import { mentionsColumn, outerColumns, type Expr } from '../expr.js';
import { expr, finding, isManaged, policyName, quoted, tableName } from './helpers.js';

type Usability = { kind: 'none' } | { kind: 'ok' } | { kind: 'missing'; columns: string[] };

const columnOf = (e: Expr | null): string | null => {
  if (!e) return null;
  if (e.kind === 'cast') return columnOf(e.arg);
  return e.kind === 'column' && e.path.length === 1 ? e.path[0]! : null;
};

const rowIndependent = (e: Expr | null) => e === null || outerColumns(e).size === 0;

export function indexUsability(e: Expr, indexed: (column: string) => boolean): Usability {
  const atom = (column: string): Usability => (indexed(column) ? { kind: 'ok' } : { kind: 'missing', columns: [column] });
  switch (e.kind) {
    case 'op': {
      const l = columnOf(e.left);
      const r = columnOf(e.right);
      if (l && rowIndependent(e.right)) return atom(l);
      if (r && rowIndependent(e.left)) return atom(r);
      return { kind: 'none' };
    }
    case 'nulltest': {
      const c = columnOf(e.arg);
      return c ? atom(c) : { kind: 'none' };
    }
    case 'sublink': {
      const c = columnOf(e.test);
      return e.type === 'ANY' && c ? atom(c) : { kind: 'none' };
    }
    case 'bool': {
      const parts = e.args.map((a) => indexUsability(a, indexed));
      const missing = parts.flatMap((p) => (p.kind === 'missing' ? p.columns : []));
      if (e.op === 'and') {
        if (parts.some((p) => p.kind === 'ok')) return { kind: 'ok' };
        return missing.length > 0 ? { kind: 'missing', columns: missing } : { kind: 'none' };
      }
      if (parts.some((p) => p.kind === 'none')) return { kind: 'none' };
      return missing.length > 0 ? { kind: 'missing', columns: missing } : { kind: 'ok' };
    }
    default:
      return { kind: 'none' };
  }
}

export const policyColumnUnindexed: AuditRule = {
  id: 'policy-column-unindexed',
  level: 'warn',
  splinter: null,
  title: 'Policy filters on a column no index leads',
  description: 'USING filters rows on a column that is not the leading column of any index, so every query through RLS reads the whole table.',
  fixture: { hole: ['public.h15_unindexed.h15_by_owner'], safe: ['public.s15_indexed.s15_by_owner'] },
  check(catalog, settings) {
    const out: Finding[] = [];
    for (const r of catalog.relations) {
      if (r.kind !== 'table' || !r.rls || isManaged(r.schema, settings)) continue;
      const indexed = (c: string) => r.indexLeadingColumns.includes(c);
      for (const p of r.policies) {
        if (p.using === null) continue;
        const e = expr(p.using);
        if (!mentionsColumn(e)) continue;
        const u = indexUsability(e, indexed);
        if (u.kind !== 'missing') continue;
        const cols = [...new Set(u.columns)];
        out.push(finding(this, {
          object: policyName(r, p),
          objectType: 'policy',
          message: `policy ${p.name} on ${tableName(r)} filters on ${cols.join(', ')}, which no index leads: reads through RLS scan the table`,
          fix: cols.map((c) => `CREATE INDEX ON ${quoted(tableName(r))} (${c})`).join('; '),
        }));
      }
    }
    return out;
  },
};

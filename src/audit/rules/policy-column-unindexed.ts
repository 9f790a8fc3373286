/**
 * The columns a policy filters on should lead an index, or every query through RLS scans the whole
 * table. Judged on the parse tree of USING: an AND is index-usable when one of its parts is, an OR
 * only when all of its arms are; comparisons of a column with something row-independent, IN
 * sub-selects and IS NULL tests are the filters. `col IN (SELECT ...)` is usable on its own (a
 * semi-join) but not inside an OR, where Postgres runs it as a hashed sub-plan on every row of a
 * sequential scan; `col = ANY (ARRAY(SELECT ...))` is computed once and can use the index there.
 */
import type { AuditRule, Finding } from '../model.js';
import { mentionsColumn, outerColumns, type Expr } from '../expr.js';
import { quoteIdent } from '../../core/sql.js';
import { expr, finding, isManaged, policyName, sqlRelation, tableName } from './helpers.js';

type Usability = { kind: 'none' } | { kind: 'ok' } | { kind: 'missing'; columns: string[] } | { kind: 'subplan'; columns: string[] };

const columnOf = (e: Expr | null): string | null => {
  if (!e) return null;
  if (e.kind === 'cast') return columnOf(e.arg);
  return e.kind === 'column' && e.path.length === 1 ? e.path[0]! : null;
};

const rowIndependent = (e: Expr | null) => e === null || outerColumns(e).size === 0;

export function indexUsability(e: Expr, indexed: (column: string) => boolean, inOr = false): Usability {
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
      if (e.type !== 'ANY' || !c) return { kind: 'none' };
      return inOr ? { kind: 'subplan', columns: [c] } : atom(c);
    }
    case 'bool': {
      const nested = inOr || e.op === 'or';
      const parts = e.args.map((a) => indexUsability(a, indexed, nested));
      const columnsOf = (kind: 'missing' | 'subplan') => parts.flatMap((p) => (p.kind === kind ? p.columns : []));
      if (e.op === 'and' && parts.some((p) => p.kind === 'ok')) return { kind: 'ok' };
      if (e.op === 'or' && parts.some((p) => p.kind === 'none')) return { kind: 'none' };
      if (columnsOf('subplan').length > 0) return { kind: 'subplan', columns: columnsOf('subplan') };
      if (columnsOf('missing').length > 0) return { kind: 'missing', columns: columnsOf('missing') };
      return { kind: e.op === 'and' ? 'none' : 'ok' };
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
  description: 'USING filters rows on a column that is not the leading column of any index, or tests it with IN (SELECT ...) inside an OR, so every query through RLS reads the whole table.',
  fixture: { hole: ['public.h15_unindexed.h15_by_owner', 'public.h15_or_subquery.h15_or_in'], safe: ['public.s15_indexed.s15_by_owner', 'public.s15_or_any_array.s15_or_any'] },
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
        if (u.kind !== 'missing' && u.kind !== 'subplan') continue;
        const cols = [...new Set(u.columns)];
        out.push(finding(this, u.kind === 'missing'
          ? {
              object: policyName(r, p),
              objectType: 'policy',
              message: `policy ${p.name} on ${tableName(r)} filters on ${cols.join(', ')}, which no index leads: reads through RLS scan the table`,
              fix: cols.map((c) => `CREATE INDEX ON ${sqlRelation(r)} (${quoteIdent(c)})`).join('; '),
            }
          : {
              object: policyName(r, p),
              objectType: 'policy',
              message: `policy ${p.name} on ${tableName(r)} tests ${cols.join(', ')} with IN (SELECT ...) inside an OR: Postgres checks it per row in a sequential scan, whatever the indexes`,
              fix: cols.map((c) => `write ${c} = ANY (ARRAY(SELECT ...)) instead of ${c} IN (SELECT ...)`).join('; '),
            }));
      }
    }
    return out;
  },
};

/**
 * Table contents and row counts as the tests compare them: every row of every table, as JSON,
 * sorted, so that two databases (or one database at two moments) can be compared exactly.
 */
import { query } from './db.ts';
import { quoteQualified } from '../../src/core/sql.ts';

export const CREATOROS_TABLES = ['minds', 'content_projects', 'contents', 'audience_profiles', 'content_minds', 'content_tags'];

export async function tableRows(url: string, tables: readonly string[] = CREATOROS_TABLES): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const t of tables) {
    const rows = await query<{ r: unknown }>(url, `SELECT to_jsonb(t) AS r FROM public.${t} t`);
    out[t] = rows.map(({ r }) => JSON.stringify(r)).sort();
  }
  return out;
}

/** Exact row count of every user table, the way backup manifests record them. */
export async function exactRowCounts(url: string): Promise<Record<string, number>> {
  const tables = await query<{ t: string }>(
    url,
    `SELECT format('%s.%s', n.nspname, c.relname) AS t FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast') AND n.nspname NOT LIKE 'pg_temp%'`,
  );
  const counts: Record<string, number> = {};
  for (const { t } of tables) {
    const [schema, name] = t.split('.');
    counts[t] = (await query<{ n: number }>(url, `SELECT count(*)::int AS n FROM ONLY ${quoteQualified({ schema: schema!, name: name! })}`))[0]!.n;
  }
  return counts;
}

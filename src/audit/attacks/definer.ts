/**
 * SECURITY DEFINER functions in the exposed schemas that anon or authenticated may execute (with
 * USAGE on the schema: without it the API cannot reach them): call each as tenant A (or anon when
 * only anon may) with tenant B's ids where a parameter takes them, and report what it returned
 * and changed. A leak is a result that holds B's data (a key or a value of B's seeded rows, or B's
 * user id) or a change to B's rows; a refusal (an exception) is not.
 */
import { quoteQualified } from '../../core/sql.js';
import type { MatrixCell } from '../matrix.js';
import { inventValue } from '../seed-values.js';
import type { SeededRow } from '../seed.js';
import { attack, type AttackEnv } from './probe.js';

export interface DefinerFunction {
  schema: string;
  name: string;
  signature: string;
  args: { name: string; type: string }[];
  returns: string;
  callableBy: { anon: boolean; authenticated: boolean };
}

const FUNCTIONS_SQL = `
SELECT n.nspname AS schema, p.proname AS name, p.oid::regprocedure::text AS signature,
       p.proargnames AS names, p.proargmodes::text[] AS modes,
       (SELECT array_agg(format_type(u.t, NULL) ORDER BY u.o) FROM unnest(coalesce(p.proallargtypes, p.proargtypes::oid[])) WITH ORDINALITY AS u(t, o)) AS types,
       format_type(p.prorettype, NULL) AS returns,
       json_build_object('anon', has_function_privilege($2, p.oid, 'EXECUTE') AND has_schema_privilege($2, n.oid, 'USAGE'),
                         'authenticated', has_function_privilege($3, p.oid, 'EXECUTE') AND has_schema_privilege($3, n.oid, 'USAGE')) AS "callableBy"
  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
 WHERE p.prosecdef AND p.prokind = 'f' AND n.nspname = ANY($1::text[])
   AND p.prorettype NOT IN ('trigger'::regtype, 'event_trigger'::regtype)
   AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')
 ORDER BY 1, 3`;

const bare = (name: string) => name.replace(/^(p_|_|in_|arg_|param_)/, '').toLowerCase();
const singular = (word: string) => word.replace(/ies$/, 'y').replace(/s$/, '');

/** The value of B's rows a parameter names: a key (account_id -> B's account), a column of a map table, else B's user id for a uuid. Pure. */
export function argumentFor(param: { name: string; type: string }, theirs: readonly SeededRow[], keys: ReadonlyMap<string, string>, uid: string): string | null {
  const name = bare(param.name);
  if (/^(user|uid|user_id|member_id|owner_id|profile_id)$/.test(name)) return uid;
  for (const row of theirs) {
    const table = row.table.split('.')[1]!;
    const key = keys.get(row.table) ?? 'id';
    if ((name === `${singular(table)}_id` || name === `${table}_id` || (name === 'id' && theirs.length === 1)) && row.data[key] != null) return String(row.data[key]);
  }
  for (const row of theirs) if (name in row.data && row.data[name] != null && name !== 'id') return String(row.data[name]);
  return param.type === 'uuid' ? uid : null;
}

/** Values of B's rows that a result must not contain (long enough not to match by chance). */
function theirValues(rows: readonly SeededRow[], uid: string): string[] {
  const out = new Set([uid]);
  for (const r of rows) for (const v of Object.values(r.data)) if ((typeof v === 'string' && v.length >= 8) || (typeof v === 'number' && v >= 1_000_000)) out.add(String(v));
  return [...out];
}

export async function definerCalls(env: AttackEnv): Promise<MatrixCell[]> {
  const { client, tenancy, seeder, recorder } = env;
  const { rows: raw } = await client.query<Omit<DefinerFunction, 'args'> & { names: string[] | null; modes: string[] | null; types: string[] | null }>(FUNCTIONS_SQL, [env.exposedSchemas, tenancy.roles.anon, tenancy.roles.authenticated]);
  const functions: DefinerFunction[] = raw.map(({ names, modes, types, ...f }) => ({
    ...f,
    args: (types ?? []).flatMap((type, i) => (['i', 'b', 'v'].includes(modes?.[i] ?? 'i') ? [{ name: names?.[i] ?? '', type }] : [])),
  }));
  const theirs = seeder.rows.filter((r) => r.tenant === 'b' && !r.published && !r.outsider);
  const keys = new Map(tenancy.tables.map((t) => [t.table, t.key]));
  keys.set(tenancy.root.table, tenancy.root.key);
  const values = theirValues(theirs, seeder.uids.b);
  const fingerprintSql = () => {
    const byTable = [...new Set(theirs.map((r) => r.table))];
    return byTable.map((t) => `SELECT ${quoteLiteralText(t)} AS t, md5(coalesce(string_agg(to_jsonb(x)::text, ',' ORDER BY to_jsonb(x)::text), '')) AS h, count(*) AS n FROM ${quoteQualified(t)} x WHERE ${recorder.match(t, theirs.filter((r) => r.table === t))}`).join(' UNION ALL ');
  };
  const cells: MatrixCell[] = [];
  for (const fn of functions) {
    if (!fn.callableBy.anon && !fn.callableBy.authenticated) continue;
    const identity = fn.callableBy.authenticated ? 'tenant-a' : 'anon';
    const args: string[] = [];
    let counter = 0;
    for (const p of fn.args) {
      const v = argumentFor(p, theirs, keys, seeder.uids.b) ?? inventValue({ name: p.name, type: p.type, category: p.type.endsWith('[]') ? 'A' : /int|numeric|real|double/.test(p.type) ? 'N' : /text|char/.test(p.type) ? 'S' : p.type === 'boolean' ? 'B' : /time|date/.test(p.type) ? 'D' : '', enumLabels: null }, undefined, ++counter, 'b');
      args.push(v ?? '');
    }
    const call = `${quoteQualified(`${fn.schema}.${fn.name}`)}(${fn.args.map((p, i) => `$${i + 1}::${p.type}`).join(', ')})`;
    const sql = fn.returns === 'void' ? `SELECT ${call}::text AS result` : `SELECT coalesce(jsonb_agg(to_jsonb(r)), '[]'::jsonb)::text AS result FROM ${call} AS r`;
    const before = theirs.length ? (await client.query<{ t: string; h: string; n: string }>(fingerprintSql())).rows : [];
    cells.push(await attack(env, {
      relation: fn.signature, kind: 'function', target: fn.args.length ? `called with B's ids` : 'called', identity, operation: 'definer-call', sql, params: args,
      success: '', refusedOnAnyError: true,
      fix: `${fn.signature} runs as its owner, bypassing RLS: check inside it that the caller may act on the ids it is given (e.g. membership of auth.uid()), or make it SECURITY INVOKER, or REVOKE EXECUTE FROM ${identity === 'anon' ? tenancy.roles.anon : tenancy.roles.authenticated}`,
      judge: async (result) => {
        const text = String(result[0]?.result ?? '');
        const leaked = values.filter((v) => text.includes(v));
        await client.query('RESET ROLE');
        const after = theirs.length ? (await client.query<{ t: string; h: string; n: string }>(fingerprintSql())).rows : [];
        const changed = before.filter((b) => after.find((a) => a.t === b.t)?.h !== b.h).map((b) => `${b.t} (${b.n} -> ${after.find((a) => a.t === b.t)?.n ?? 0} rows)`);
        const shown = text.length > 120 ? `${text.slice(0, 117)}...` : text;
        if (leaked.length + changed.length === 0) return { actual: 'deny', detail: `returned ${shown || 'nothing'}; B's rows unchanged` };
        return { actual: 'allow', detail: [leaked.length ? `returned B's data (${leaked.length} value(s) of B's rows): ${shown}` : '', changed.length ? `changed B's rows in ${changed.join(', ')}` : ''].filter(Boolean).join('; ') };
      },
    }));
  }
  return cells;
}

const quoteLiteralText = (s: string) => `'${s.replaceAll("'", "''")}'`;

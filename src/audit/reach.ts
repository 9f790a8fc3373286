/**
 * Who reads what, beyond a relation's own grants: views and materialized views over a relation
 * (pg_depend, through their rewrite rules), functions that read it or call other functions (a SQL
 * function's body parsed by libpg_query; a BEGIN ATOMIC body through the dependencies PostgreSQL
 * records), and the grants held by PUBLIC. The rule rls-disabled-reachable follows these edges.
 * PL/pgSQL bodies are not followed: libpg_query's WASM build has no PL/pgSQL parser.
 */
import type pg from 'pg';
import { parseSql } from './expr.js';
import type { CatalogReach, CatalogRead } from './model.js';

const REACH_SQL = `
WITH ns AS (
  SELECT n.oid, n.nspname FROM pg_namespace n
   WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
     AND n.nspname NOT LIKE 'pg_temp_%' AND n.nspname NOT LIKE 'pg_toast_temp_%'
), ext AS (
  SELECT classid, objid FROM pg_depend WHERE deptype = 'e'
), fns AS (
  SELECT p.oid, ns.nspname, p.proname, pg_get_function_identity_arguments(p.oid) AS args, l.lanname, p.prosrc, p.prosqlbody IS NOT NULL AS atomic,
         (SELECT substr(s, length('search_path=') + 1) FROM unnest(p.proconfig) s WHERE s LIKE 'search_path=%' LIMIT 1) AS search_path
    FROM pg_proc p JOIN ns ON ns.oid = p.pronamespace JOIN pg_language l ON l.oid = p.prolang
   WHERE p.prokind IN ('f', 'p') AND NOT EXISTS (SELECT 1 FROM ext WHERE ext.classid = 'pg_proc'::regclass AND ext.objid = p.oid)
)
SELECT json_build_object(
  'views', (SELECT coalesce(json_agg(DISTINCT jsonb_build_object(
        'reader', vn.nspname || '.' || v.relname, 'readerSchema', vn.nspname,
        'readerType', CASE v.relkind WHEN 'm' THEN 'materialized view' ELSE 'view' END,
        'reads', tn.nspname || '.' || t.relname)), '[]'::json)
      FROM pg_depend d JOIN pg_rewrite r ON r.oid = d.objid JOIN pg_class v ON v.oid = r.ev_class
      JOIN pg_namespace vn ON vn.oid = v.relnamespace
      JOIN pg_class t ON t.oid = d.refobjid JOIN ns tn ON tn.oid = t.relnamespace
     WHERE d.classid = 'pg_rewrite'::regclass AND d.refclassid = 'pg_class'::regclass AND t.oid <> v.oid
       AND v.relkind IN ('v', 'm') AND t.relkind IN ('r', 'p', 'v', 'm', 'f')),
  'atomic', (SELECT coalesce(json_agg(DISTINCT jsonb_build_object(
        'reader', f.nspname || '.' || f.proname || '(' || f.args || ')', 'readerSchema', f.nspname, 'readerType', 'function',
        'reads', coalesce((SELECT tn.nspname || '.' || t.relname FROM pg_class t JOIN pg_namespace tn ON tn.oid = t.relnamespace WHERE d.refclassid = 'pg_class'::regclass AND t.oid = d.refobjid),
                          (SELECT cn.nspname || '.' || c.proname FROM pg_proc c JOIN pg_namespace cn ON cn.oid = c.pronamespace WHERE d.refclassid = 'pg_proc'::regclass AND c.oid = d.refobjid)))), '[]'::json)
      FROM pg_depend d JOIN fns f ON f.oid = d.objid
     WHERE d.classid = 'pg_proc'::regclass AND d.refclassid IN ('pg_class'::regclass, 'pg_proc'::regclass) AND d.deptype = 'n' AND f.atomic),
  'bodies', (SELECT coalesce(json_agg(json_build_object(
        'reader', f.nspname || '.' || f.proname || '(' || f.args || ')', 'schema', f.nspname, 'body', f.prosrc, 'searchPath', f.search_path)), '[]'::json)
      FROM fns f WHERE f.lanname = 'sql' AND NOT f.atomic),
  'publicRelations', (SELECT coalesce(json_agg(ns.nspname || '.' || c.relname), '[]'::json)
      FROM pg_class c JOIN ns ON ns.oid = c.relnamespace
     WHERE c.relkind IN ('r', 'p', 'v', 'm') AND EXISTS (SELECT 1 FROM aclexplode(c.relacl) a WHERE a.grantee = 0)),
  'names', (SELECT coalesce(json_agg(x), '[]'::json) FROM (
      SELECT ns.nspname || '.' || c.relname AS x FROM pg_class c JOIN ns ON ns.oid = c.relnamespace WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')
      UNION SELECT f.nspname || '.' || f.proname FROM fns f) names),
  'publicSchemas', (SELECT coalesce(json_agg(ns.nspname), '[]'::json)
      FROM ns JOIN pg_namespace n ON n.oid = ns.oid
     WHERE EXISTS (SELECT 1 FROM aclexplode(n.nspacl) a WHERE a.grantee = 0 AND a.privilege_type = 'USAGE'))
) AS reach`;

interface RawReach {
  views: CatalogRead[];
  atomic: (Omit<CatalogRead, 'reads'> & { reads: string | null })[];
  bodies: { reader: string; schema: string; body: string; searchPath: string | null }[];
  publicRelations: string[];
  publicSchemas: string[];
  names: string[];
}

/** Reads the edges (inside the caller's read-only snapshot) and parses the SQL function bodies. */
export async function readReach(client: pg.ClientBase): Promise<CatalogReach> {
  const { rows } = await client.query<{ reach: RawReach }>(REACH_SQL);
  const raw = rows[0]!.reach;
  const reads: CatalogRead[] = [...raw.views, ...raw.atomic.flatMap((a) => (a.reads ? [{ ...a, reads: a.reads }] : []))];
  const names = new Set(raw.names);
  for (const f of raw.bodies) {
    for (const name of bodyReads(f.body, parseSearchPath(f.searchPath), (n) => names.has(n))) reads.push({ reader: f.reader, readerType: 'function', readerSchema: f.schema, reads: name });
  }
  return { reads, publicRelations: raw.publicRelations, publicSchemas: raw.publicSchemas };
}

/** proconfig's search_path value ("a, \"B\"", "''") as schema names; "$user" is left out. */
export function parseSearchPath(value: string | null): string[] | null {
  if (value === null) return null;
  const out: string[] = [];
  for (const part of value.split(',').map((p) => p.trim()).filter(Boolean)) {
    const name = part.startsWith('"') ? part.slice(1, -1).replaceAll('""', '"') : part.toLowerCase();
    if (name && name !== '$user' && name !== "''") out.push(name);
  }
  return out;
}

type Node = Record<string, unknown>;
const str = (n: unknown) => ((n as { String?: { sval?: string } }).String?.sval ?? '');

/**
 * The relations a SQL function body reads (or writes) and the functions it calls, as "schema.name". A name
 * written without a schema resolves to the first schema of the function's pinned search_path (or
 * else of the default one, public) where `exists` finds it; a CTE's name is not a relation. A
 * body that does not parse (or is empty) reads nothing that can be told. Pure, after the parser
 * is loaded.
 */
export function bodyReads(body: string, searchPath: string[] | null, exists: (name: string) => boolean): string[] {
  let tree: unknown;
  try {
    tree = parseSql(body);
  } catch {
    return [];
  }
  const path = searchPath ?? ['public'];
  const ctes = new Set<string>();
  const found: string[][] = [];
  const walk = (value: unknown): void => {
    if (Array.isArray(value)) {
      for (const v of value) walk(v);
      return;
    }
    if (typeof value !== 'object' || value === null) return;
    const node = value as Node;
    if (node.CommonTableExpr) ctes.add(String((node.CommonTableExpr as Node).ctename ?? ''));
    // A RangeVar: wrapped ({ RangeVar: {...} }) in FROM lists, bare as the target of INSERT/UPDATE/DELETE.
    const rv = (node.RangeVar ?? (typeof node.relname === 'string' ? node : null)) as Node | null;
    if (rv) found.push(rv.schemaname ? [String(rv.schemaname), String(rv.relname)] : [String(rv.relname)]);
    if (node.FuncCall) found.push(((node.FuncCall as Node).funcname as unknown[]).map(str));
    for (const v of Object.values(node)) walk(v);
  };
  walk(tree);
  const out = new Set<string>();
  for (const parts of found) {
    if (parts.length === 2) {
      if (exists(`${parts[0]}.${parts[1]}`)) out.add(`${parts[0]}.${parts[1]}`);
    } else if (parts.length === 1 && !ctes.has(parts[0]!)) {
      const schema = path.find((s) => exists(`${s}.${parts[0]}`));
      if (schema) out.add(`${schema}.${parts[0]}`);
    }
  }
  return [...out];
}

/**
 * Reads what tenancy inference needs beyond the audit catalog: keys and foreign keys of the user's
 * tables, the bodies of the functions policies may call (helpers are read, not guessed), and the
 * values role columns may hold. Then runs the pure inference (infer-tenancy.ts).
 */
import type pg from 'pg';
import { checkDomains } from './seed-values.js';
import { parseExpression } from './expr.js';
import type { AuditCatalog } from './model.js';
import { inferTenancy, type InferInput, type InferredTenancy } from './infer-tenancy.js';

const SHAPES_SQL = `
SELECT n.nspname || '.' || c.relname AS "table",
       coalesce((SELECT array_agg(a.attname::text ORDER BY k.ord) FROM pg_index i CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
                   JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum WHERE i.indrelid = c.oid AND i.indisprimary), '{}') AS key,
       coalesce((SELECT array_agg(DISTINCT a.attname::text) FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
                  WHERE i.indrelid = c.oid AND i.indisunique AND i.indnkeyatts = 1 AND i.indpred IS NULL), '{}') AS "unique",
       coalesce((SELECT json_agg(json_build_object(
            'columns', (SELECT array_agg(a.attname::text ORDER BY u.o) FROM unnest(k.conkey) WITH ORDINALITY u(n, o) JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.n),
            'references', rn.nspname || '.' || rc.relname,
            'referencedColumns', (SELECT array_agg(a.attname::text ORDER BY u.o) FROM unnest(k.confkey) WITH ORDINALITY u(n, o) JOIN pg_attribute a ON a.attrelid = k.confrelid AND a.attnum = u.n)))
          FROM pg_constraint k JOIN pg_class rc ON rc.oid = k.confrelid JOIN pg_namespace rn ON rn.oid = rc.relnamespace
         WHERE k.conrelid = c.oid AND k.contype = 'f'), '[]'::json) AS "foreignKeys",
       coalesce((SELECT json_object_agg(a.attname, (SELECT array_agg(e.enumlabel::text ORDER BY e.enumsortorder) FROM pg_enum e WHERE e.enumtypid = a.atttypid))
                   FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped AND a.attname ~* 'role'
                    AND EXISTS (SELECT 1 FROM pg_enum e WHERE e.enumtypid = a.atttypid)), '{}'::json) AS enums,
       coalesce((SELECT array_agg(pg_get_constraintdef(k.oid)) FROM pg_constraint k WHERE k.conrelid = c.oid AND k.contype = 'c'), '{}') AS checks
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('r', 'p') AND n.nspname || '.' || c.relname = ANY($1::text[])`;

const FUNCTIONS_SQL = `
SELECT n.nspname || '.' || p.proname AS name, coalesce(p.proargnames, '{}') AS args, l.lanname AS language,
       coalesce(CASE WHEN p.prosqlbody IS NOT NULL THEN regexp_replace(pg_get_functiondef(p.oid), '^.*?BEGIN ATOMIC(.*)END\\s*$', '\\1', 's') END, p.prosrc) AS body
  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace JOIN pg_language l ON l.oid = p.prolang
 WHERE p.prokind = 'f' AND l.lanname IN ('sql', 'plpgsql') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
   AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')`;

const VIEWS_SQL = `
SELECT n.nspname || '.' || c.relname AS name, pg_get_viewdef(c.oid) AS def
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('v', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema')`;

interface RawShape {
  table: string;
  key: string[];
  unique: string[];
  foreignKeys: InferInput['tables'][number]['foreignKeys'];
  enums: Record<string, string[]>;
  checks: string[];
}

/** The inference input, from the audit catalog and three catalog reads. */
export async function readInferInput(client: pg.ClientBase, catalog: AuditCatalog, settings: { managedSchemas: readonly string[]; exposedSchemas: readonly string[] }): Promise<InferInput> {
  const userTables = catalog.relations.filter((r) => r.kind === 'table' && !settings.managedSchemas.includes(r.schema));
  const names = userTables.map((r) => `${r.schema}.${r.name}`);
  const { rows: shapes } = await client.query<RawShape>(SHAPES_SQL, [[...names, 'auth.users', 'storage.objects']]);
  const byName = new Map(shapes.map((s) => [s.table, s]));
  const { rows: functions } = await client.query<{ name: string; args: string[]; language: string; body: string }>(FUNCTIONS_SQL);
  // View definitions with every name qualified (an empty search_path for this read only).
  await client.query('BEGIN READ ONLY');
  let viewDefs: { name: string; def: string }[];
  try {
    await client.query("SELECT set_config('search_path', '', true)");
    ({ rows: viewDefs } = await client.query<{ name: string; def: string }>(VIEWS_SQL));
  } finally {
    await client.query('ROLLBACK');
  }
  const roleValues = new Map<string, string[]>();
  for (const s of shapes) {
    for (const [col, labels] of Object.entries(s.enums ?? {})) roleValues.set(`${s.table}.${col}`, labels);
    for (const [col, d] of checkDomains(s.checks)) if (/role/i.test(col) && d.allowed) roleValues.set(`${s.table}.${col}`, d.allowed);
  }
  const tables: InferInput['tables'] = userTables.map((r) => {
    const table = `${r.schema}.${r.name}`;
    const s = byName.get(table);
    const key = s?.key ?? [];
    return {
      table, rls: r.rls, policies: r.policies, columns: r.columns.map((c) => c.name), key,
      unique: [...new Set([...(s?.unique ?? []), ...(key.length === 1 ? key : [])])],
      foreignKeys: s?.foreignKeys ?? [],
    };
  });
  const present = new Set(catalog.relations.map((r) => `${r.schema}.${r.name}`));
  const readable = (r: AuditCatalog['relations'][number]) => Object.entries(r.privileges).some(([role, p]) => role !== 'service_role' && p.select);
  const views = catalog.relations
    .filter((r) => r.kind === 'view' && settings.exposedSchemas.includes(r.schema) && readable(r))
    .map((r) => {
      const view = `${r.schema}.${r.name}`;
      return { view, columns: r.columns.map((c) => c.name), reads: catalog.reach.reads.filter((x) => x.reader === view).map((x) => x.reads) };
    });
  return { tables, functions, views, viewDefs: new Map(viewDefs.map((v) => [v.name, v.def])), usersTable: present.has('auth.users') || byName.has('auth.users') ? 'auth.users' : null, roleValues };
}

export async function inferFromCatalog(client: pg.ClientBase, catalog: AuditCatalog, settings: { managedSchemas: readonly string[]; exposedSchemas: readonly string[] }): Promise<InferredTenancy> {
  return inferTenancy(await readInferInput(client, catalog, settings), parseExpression);
}

/**
 * Reads everything the lint rules need from the catalogs, in one statement inside a read-only
 * transaction. Expressions are deparsed with an empty search_path, so every table and function
 * name in them comes out schema-qualified (only pg_catalog stays implicit).
 */
import type pg from 'pg';
import { withReadOnly } from '../db/scoped.js';
import { POLICY_COMMANDS, POLCMD, type PolicyCommand } from '../core/policy.js';
import type { ApiRoles, AuditCatalog, CatalogFunction, CatalogRelation, CatalogRole } from './model.js';
import { initParser } from './expr.js';
import { readReach } from './reach.js';

const CATALOG_SQL = `
WITH api AS (
  SELECT r.rolname FROM pg_roles r WHERE r.rolname = ANY($1::text[])
), ext AS (
  SELECT classid, objid FROM pg_depend WHERE deptype = 'e'
), ns AS (
  SELECT n.oid, n.nspname FROM pg_namespace n
   WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
     AND n.nspname NOT LIKE 'pg_temp_%' AND n.nspname NOT LIKE 'pg_toast_temp_%'
)
SELECT json_build_object(
  'apiRolesPresent', (SELECT coalesce(json_agg(rolname ORDER BY rolname), '[]'::json) FROM api),
  'relations', (SELECT coalesce(json_agg(json_build_object(
      'schema', ns.nspname, 'name', c.relname,
      'kind', CASE c.relkind WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view' ELSE 'table' END,
      'owner', o.rolname, 'ownerBypassesRls', o.rolsuper OR o.rolbypassrls,
      'rls', c.relrowsecurity, 'forceRls', c.relforcerowsecurity,
      'options', coalesce(to_json(c.reloptions), '[]'::json),
      'columns', (SELECT coalesce(json_agg(json_build_object('name', a.attname, 'type', format_type(a.atttypid, a.atttypmod)) ORDER BY a.attnum), '[]'::json)
                    FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped),
      'indexLeadingColumns', (SELECT coalesce(json_agg(DISTINCT a.attname), '[]'::json)
                    FROM pg_index x JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = x.indkey[0]
                   WHERE x.indrelid = c.oid AND x.indisvalid),
      'policies', (SELECT coalesce(json_agg(json_build_object(
            'name', p.polname, 'command', p.polcmd, 'permissive', p.polpermissive,
            'roles', (SELECT coalesce(json_agg(CASE WHEN r = 0 THEN 'public' ELSE pg_get_userbyid(r) END ORDER BY 1), '[]'::json) FROM unnest(p.polroles) r),
            'using', pg_get_expr(p.polqual, p.polrelid), 'withCheck', pg_get_expr(p.polwithcheck, p.polrelid)) ORDER BY p.polname), '[]'::json)
          FROM pg_policy p WHERE p.polrelid = c.oid),
      'privileges', (SELECT coalesce(json_object_agg(api.rolname, json_build_object(
            'select', has_table_privilege(api.rolname, c.oid, 'SELECT'),
            'insert', has_table_privilege(api.rolname, c.oid, 'INSERT'),
            'update', has_table_privilege(api.rolname, c.oid, 'UPDATE'),
            'delete', has_table_privilege(api.rolname, c.oid, 'DELETE'),
            'truncate', has_table_privilege(api.rolname, c.oid, 'TRUNCATE'),
            'selectableColumns', (SELECT coalesce(json_agg(a.attname ORDER BY a.attnum), '[]'::json) FROM pg_attribute a
                WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped AND has_column_privilege(api.rolname, c.oid, a.attnum, 'SELECT')))), '{}'::json) FROM api),
      'schemaUsage', (SELECT coalesce(json_object_agg(api.rolname, has_schema_privilege(api.rolname, ns.oid, 'USAGE')), '{}'::json) FROM api)
    ) ORDER BY ns.nspname, c.relname), '[]'::json)
    FROM pg_class c JOIN ns ON ns.oid = c.relnamespace JOIN pg_roles o ON o.oid = c.relowner
   WHERE c.relkind IN ('r', 'p', 'v', 'm')
     AND NOT EXISTS (SELECT 1 FROM ext WHERE ext.classid = 'pg_class'::regclass AND ext.objid = c.oid)),
  'functions', (SELECT coalesce(json_agg(json_build_object(
      'schema', ns.nspname, 'name', p.proname, 'args', pg_get_function_identity_arguments(p.oid), 'argCount', p.pronargs,
      'securityDefiner', p.prosecdef,
      'pinnedSearchPath', EXISTS (SELECT 1 FROM unnest(p.proconfig) s WHERE s LIKE 'search_path=%'),
      'volatility', CASE p.provolatile WHEN 'i' THEN 'immutable' WHEN 's' THEN 'stable' ELSE 'volatile' END,
      'language', l.lanname,
      'returnsTrigger', p.prorettype IN ('trigger'::regtype, 'event_trigger'::regtype),
      'executableBy', (SELECT coalesce(json_agg(g.who), '[]'::json) FROM (
          SELECT api.rolname AS who FROM api WHERE has_function_privilege(api.rolname, p.oid, 'EXECUTE')
          UNION ALL
          SELECT 'public' WHERE p.proacl IS NULL OR EXISTS (SELECT 1 FROM aclexplode(p.proacl) a WHERE a.grantee = 0 AND a.privilege_type = 'EXECUTE')) g)
    ) ORDER BY ns.nspname, p.proname), '[]'::json)
    FROM pg_proc p JOIN ns ON ns.oid = p.pronamespace JOIN pg_language l ON l.oid = p.prolang
   WHERE p.prokind IN ('f', 'p')
     AND NOT EXISTS (SELECT 1 FROM ext WHERE ext.classid = 'pg_proc'::regclass AND ext.objid = p.oid)),
  'roles', (SELECT coalesce(json_agg(json_build_object('name', r.rolname, 'superuser', r.rolsuper, 'bypassRls', r.rolbypassrls, 'canLogin', r.rolcanlogin) ORDER BY r.rolname), '[]'::json)
    FROM pg_roles r WHERE r.rolname NOT LIKE 'pg\\_%')
) AS catalog`;

const COMMAND_OF: Record<string, PolicyCommand> = Object.fromEntries(POLICY_COMMANDS.map((c) => [POLCMD[c], c]));

interface RawCatalog extends Omit<AuditCatalog, 'relations'> {
  relations: (Omit<CatalogRelation, 'policies'> & { policies: (Omit<CatalogRelation['policies'][number], 'command'> & { command: string })[] })[];
}

/** Reads the catalog in a read-only snapshot. */
export async function readAuditCatalog(client: pg.ClientBase, roles: ApiRoles): Promise<AuditCatalog> {
  return withReadOnly(client, async (ro) => {
    await ro.query("SELECT set_config('search_path', '', true)");
    const { rows } = await ro.query<{ catalog: RawCatalog }>(CATALOG_SQL, [[roles.anon, roles.authenticated, roles.service]]);
    const raw = rows[0]!.catalog;
    await initParser();
    const reach = await readReach(ro);
    return {
      reach,
      apiRolesPresent: raw.apiRolesPresent,
      roles: raw.roles as CatalogRole[],
      functions: raw.functions as CatalogFunction[],
      relations: raw.relations.map((r) => ({ ...r, policies: r.policies.map((p) => ({ ...p, command: COMMAND_OF[p.command] ?? 'ALL' })) })),
    };
  });
}

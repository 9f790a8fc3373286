/**
 * Reads the schema snapshot the fingerprint is computed from: every object a migration can touch
 * (columns, types, defaults, constraints, indexes, triggers, views, functions, policies, RLS and
 * FORCE flags, grants), in a canonical order. Objects owned by extensions are represented by the
 * extension. dbkit's own bookkeeping schema is left out by default.
 */
import type pg from 'pg';
import { SYSTEM_SCHEMAS } from './catalog.js';
import { fingerprintOf, type SchemaSnapshot, type Fingerprint } from '../core/fingerprint.js';
import type { ValidationSnapshot } from '../core/validation.js';

export const DBKIT_SCHEMA = 'dbkit';

// Grants are compared as exploded (grantee, privilege, grantable) triples with NULL ACLs replaced
// by the owner default, so that "GRANT then REVOKE" equals "never granted".
const aclOf = (acl: string, kindSql: string, owner: string) => `(
  SELECT coalesce(json_agg(g ORDER BY g), '[]'::json) FROM (
    SELECT DISTINCT (CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee) END) || ':' || a.privilege_type || (CASE WHEN a.is_grantable THEN '*' ELSE '' END) AS g
      FROM aclexplode(coalesce(${acl}, acldefault(${kindSql}, ${owner}))) a) x)`;

const SNAPSHOT_SQL = `
WITH ns AS (
  SELECT n.oid, n.nspname, n.nspowner, n.nspacl FROM pg_namespace n
   WHERE n.nspname <> ALL($1::text[]) AND n.nspname NOT LIKE 'pg_temp_%' AND n.nspname NOT LIKE 'pg_toast_temp_%'
     AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_namespace'::regclass AND d.objid = n.oid AND d.deptype = 'e')
), ext AS (
  SELECT classid, objid FROM pg_depend WHERE deptype = 'e'
)
SELECT json_build_object(
  'schemas', (SELECT coalesce(json_agg(json_build_object('name', ns.nspname, 'owner', pg_get_userbyid(ns.nspowner), 'grants', ${aclOf('ns.nspacl', "'n'", 'ns.nspowner')}) ORDER BY ns.nspname), '[]'::json) FROM ns),
  'extensions', (SELECT coalesce(json_agg(json_build_object('name', e.extname, 'schema', e.extnamespace::regnamespace::text) ORDER BY e.extname), '[]'::json) FROM pg_extension e),
  'relations', (SELECT coalesce(json_agg(json_build_object(
      'name', ns.nspname || '.' || c.relname,
      'kind', c.relkind,
      'owner', pg_get_userbyid(c.relowner),
      'rls', c.relrowsecurity,
      'forceRls', c.relforcerowsecurity,
      'options', (SELECT coalesce(json_agg(o ORDER BY o), '[]'::json) FROM unnest(c.reloptions) o),
      'grants', ${aclOf('c.relacl', `(CASE WHEN c.relkind = 'S' THEN 's' ELSE 'r' END)::"char"`, 'c.relowner')},
      'viewDef', CASE WHEN c.relkind IN ('v', 'm') THEN pg_get_viewdef(c.oid) END,
      'columns', (SELECT coalesce(json_agg(json_build_object(
          'name', a.attname, 'type', format_type(a.atttypid, a.atttypmod), 'notNull', a.attnotnull,
          'default', pg_get_expr(ad.adbin, ad.adrelid), 'identity', a.attidentity, 'generated', a.attgenerated,
          'grants', (SELECT coalesce(json_agg(g ORDER BY g), '[]'::json) FROM (
              SELECT DISTINCT (CASE WHEN x.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(x.grantee) END) || ':' || x.privilege_type AS g
                FROM aclexplode(a.attacl) x) y)
        ) ORDER BY a.attnum), '[]'::json)
        FROM pg_attribute a LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
        WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped),
      'constraints', (SELECT coalesce(json_agg(json_build_object('name', k.conname, 'type', k.contype, 'def', pg_get_constraintdef(k.oid)) ORDER BY k.conname), '[]'::json)
        FROM pg_constraint k WHERE k.conrelid = c.oid),
      'indexes', (SELECT coalesce(json_agg(json_build_object('name', i.relname, 'def', pg_get_indexdef(x.indexrelid), 'valid', x.indisvalid) ORDER BY i.relname), '[]'::json)
        FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid WHERE x.indrelid = c.oid),
      'triggers', (SELECT coalesce(json_agg(json_build_object('name', t.tgname, 'def', pg_get_triggerdef(t.oid), 'enabled', t.tgenabled) ORDER BY t.tgname), '[]'::json)
        FROM pg_trigger t WHERE t.tgrelid = c.oid AND NOT t.tgisinternal),
      'policies', (SELECT coalesce(json_agg(json_build_object(
          'name', p.polname, 'permissive', p.polpermissive, 'command', p.polcmd,
          'roles', (SELECT coalesce(json_agg(CASE WHEN r = 0 THEN 'public' ELSE pg_get_userbyid(r) END ORDER BY 1), '[]'::json) FROM unnest(p.polroles) r),
          'using', pg_get_expr(p.polqual, p.polrelid), 'check', pg_get_expr(p.polwithcheck, p.polrelid)) ORDER BY p.polname), '[]'::json)
        FROM pg_policy p WHERE p.polrelid = c.oid)
    ) ORDER BY ns.nspname, c.relname), '[]'::json)
    FROM pg_class c JOIN ns ON ns.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f', 'c')
      AND NOT EXISTS (SELECT 1 FROM ext WHERE ext.classid = 'pg_class'::regclass AND ext.objid = c.oid)),
  'functions', (SELECT coalesce(json_agg(json_build_object(
      'name', ns.nspname || '.' || p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')',
      'kind', p.prokind, 'result', pg_get_function_result(p.oid), 'language', l.lanname, 'volatility', p.provolatile,
      'securityDefiner', p.prosecdef, 'config', (SELECT coalesce(json_agg(s ORDER BY s), '[]'::json) FROM unnest(p.proconfig) s),
      'owner', pg_get_userbyid(p.proowner), 'sourceMd5', md5(p.prosrc),
      'grants', ${aclOf('p.proacl', "'f'", 'p.proowner')}
    ) ORDER BY ns.nspname, p.proname, pg_get_function_identity_arguments(p.oid)), '[]'::json)
    FROM pg_proc p JOIN ns ON ns.oid = p.pronamespace JOIN pg_language l ON l.oid = p.prolang
    WHERE NOT EXISTS (SELECT 1 FROM ext WHERE ext.classid = 'pg_proc'::regclass AND ext.objid = p.oid)),
  'types', (SELECT coalesce(json_agg(json_build_object(
      'name', ns.nspname || '.' || t.typname, 'kind', t.typtype,
      'labels', (SELECT json_agg(e.enumlabel ORDER BY e.enumsortorder) FROM pg_enum e WHERE e.enumtypid = t.oid),
      'base', CASE WHEN t.typtype = 'd' THEN format_type(t.typbasetype, t.typtypmod) END
    ) ORDER BY ns.nspname, t.typname), '[]'::json)
    FROM pg_type t JOIN ns ON ns.oid = t.typnamespace
    WHERE t.typtype IN ('e', 'd')
      AND NOT EXISTS (SELECT 1 FROM ext WHERE ext.classid = 'pg_type'::regclass AND ext.objid = t.oid))
) AS snapshot`;

export async function schemaSnapshot(client: pg.ClientBase, options: { includeDbkitSchema?: boolean } = {}): Promise<SchemaSnapshot> {
  const excluded = [...SYSTEM_SCHEMAS, ...(options.includeDbkitSchema ? [] : [DBKIT_SCHEMA])];
  const { rows } = await client.query<{ snapshot: SchemaSnapshot }>(SNAPSHOT_SQL, [excluded]);
  return rows[0]!.snapshot;
}

export async function schemaFingerprint(client: pg.ClientBase, options: { includeDbkitSchema?: boolean } = {}): Promise<Fingerprint> {
  return fingerprintOf(await schemaSnapshot(client, options));
}

// The few facts validation checks read, without deparsing views, constraints or function bodies:
// a fraction of the full snapshot's cost, paid after every apply.
const VALIDATION_SQL = `
SELECT json_build_object(
  'relations', (SELECT coalesce(json_agg(json_build_object(
      'name', n.nspname || '.' || c.relname, 'kind', c.relkind, 'rls', c.relrowsecurity, 'forceRls', c.relforcerowsecurity,
      'options', coalesce(to_json(c.reloptions), '[]'::json),
      'grants', ${aclOf('c.relacl', `'r'`, 'c.relowner')},
      'columns', (SELECT coalesce(json_agg(json_build_object('name', a.attname)), '[]'::json) FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped),
      'indexes', (SELECT coalesce(json_agg(json_build_object('name', i.relname, 'valid', x.indisvalid)), '[]'::json) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid WHERE x.indrelid = c.oid),
      'constraints', (SELECT coalesce(json_agg(json_build_object('name', k.conname)), '[]'::json) FROM pg_constraint k WHERE k.conrelid = c.oid),
      'policies', (SELECT coalesce(json_agg(json_build_object('name', p.polname)), '[]'::json) FROM pg_policy p WHERE p.polrelid = c.oid)
    )), '[]'::json)
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p', 'v', 'm') AND n.nspname <> ALL($1::text[]) AND n.nspname NOT LIKE 'pg_%'),
  'functions', (SELECT coalesce(json_agg(json_build_object('name', n.nspname || '.' || p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')')), '[]'::json)
    FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
    WHERE n.nspname <> ALL($1::text[]) AND n.nspname NOT LIKE 'pg_%')
) AS snapshot`;

export async function validationSnapshot(client: pg.ClientBase): Promise<ValidationSnapshot> {
  const { rows } = await client.query<{ snapshot: ValidationSnapshot }>(VALIDATION_SQL, [[...SYSTEM_SCHEMAS, DBKIT_SCHEMA]]);
  return rows[0]!.snapshot;
}

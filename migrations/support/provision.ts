/**
 * Brownfield-safe changes with an exact undo.
 *
 * Every change a CreatorOS migration makes goes through `change()`: it happens only when its
 * condition holds (the object is missing, say), and at that moment the SQL that undoes exactly
 * that change is written to a ledger, dbkit.provisioned_objects, in the same transaction. A down
 * replays its migration's ledger backwards. So on Supabase, where the roles and auth schema
 * already exist, the compatibility migration creates and later drops nothing; on a database that
 * already holds v0.7.0 tables, the baseline adopts them and its down leaves them (and their rows)
 * alone; grants and RLS flags are restored to what they were, not to a guess.
 */
import type { MigrationBuilder } from 'node-pg-migrate';
import { quoteIdent, quoteLiteral, quoteQualified } from 'dbkit/migrate';

export const LEDGER = 'dbkit.provisioned_objects';

/** dbkit's one quoting function (PostgreSQL's rules, keywords included), under the names migrations use. */
export const lit = quoteLiteral;
export const ident = quoteIdent;
/** "public.contents" -> public.contents, each part quoted where needed. */
export const qname = (qualified: string) => quoteQualified(qualified);

export function ensureLedger(pgm: MigrationBuilder): void {
  pgm.sql(`CREATE SCHEMA IF NOT EXISTS dbkit;
REVOKE ALL ON SCHEMA dbkit FROM PUBLIC;
CREATE TABLE IF NOT EXISTS ${LEDGER} (
  id bigserial PRIMARY KEY,
  migration text NOT NULL,
  kind text NOT NULL,
  name text NOT NULL,
  undo_sql text NOT NULL,
  recorded_at timestamptz NOT NULL DEFAULT now()
);`);
}

export interface Change {
  kind: string;
  name: string;
  /** SQL boolean: apply only when true (e.g. the object is absent). */
  when: string;
  /** SQL to run (executed with EXECUTE, so it may contain dollar-quoted bodies). */
  apply: string;
  /** How to undo: fixed SQL, or an SQL expression evaluated before `apply` that yields the undo SQL. */
  undo: { sql: string } | { expression: string };
}

export function change(pgm: MigrationBuilder, migration: string, c: Change): void {
  const undo = 'sql' in c.undo ? lit(c.undo.sql) : `(${c.undo.expression})`;
  pgm.sql(`DO $dbkit$
BEGIN
  IF ${c.when} THEN
    INSERT INTO ${LEDGER} (migration, kind, name, undo_sql) VALUES (${lit(migration)}, ${lit(c.kind)}, ${lit(c.name)}, ${undo});
    EXECUTE ${lit(c.apply)};
  END IF;
END
$dbkit$;`);
}

/** Replays the ledger of `migration` backwards and forgets it. */
export function undoChanges(pgm: MigrationBuilder, migration: string): void {
  pgm.sql(`DO $dbkit$
DECLARE r record;
BEGIN
  FOR r IN SELECT id, undo_sql FROM ${LEDGER} WHERE migration = ${lit(migration)} ORDER BY id DESC LOOP
    EXECUTE r.undo_sql;
    DELETE FROM ${LEDGER} WHERE id = r.id;
  END LOOP;
END
$dbkit$;`);
}

// ---- common kinds of change ------------------------------------------------------------------

export const relationAbsent = (qualified: string) => `to_regclass(${lit(qualified)}) IS NULL`;
export const functionAbsent = (signature: string) => `to_regprocedure(${lit(signature)}) IS NULL`;
export const schemaAbsent = (name: string) => `NOT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = ${lit(name)})`;
export const columnAbsent = (qualified: string, column: string) =>
  `to_regclass(${lit(qualified)}) IS NOT NULL AND NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass(${lit(qualified)}) AND attname = ${lit(column)} AND NOT attisdropped)`;
export const policyAbsent = (qualified: string, policy: string) =>
  `NOT EXISTS (SELECT 1 FROM pg_policy WHERE polrelid = to_regclass(${lit(qualified)}) AND polname = ${lit(policy)})`;

/**
 * Drops a table the migration created, but never one that holds rows: a down must not silently
 * destroy data written after the up (restore a backup, or empty the table, first).
 */
export function dropTableIfEmptySql(qualified: string): string {
  return `DO $undo$
BEGIN
  IF EXISTS (SELECT 1 FROM ${qname(qualified)} LIMIT 1) THEN
    RAISE EXCEPTION 'dbkit: refusing to drop ${qualified}: it holds rows written after it was created'
      USING HINT = 'restore a backup taken before the apply (dbkit restore), or empty the table first';
  END IF;
  DROP TABLE ${qname(qualified)};
END
$undo$`;
}

/**
 * Drops a role the migration created, unless something in any database of the cluster still
 * depends on it (roles are cluster-wide; another database may have been granted it since).
 */
export function dropRoleIfUnusedSql(role: string): string {
  const oid = `(SELECT oid FROM pg_roles WHERE rolname = ${lit(role)})`;
  return `DO $undo$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = ${lit(role)})
     AND NOT EXISTS (SELECT 1 FROM pg_shdepend WHERE refclassid = 'pg_authid'::regclass AND refobjid = ${oid})
     AND NOT EXISTS (SELECT 1 FROM pg_auth_members WHERE roleid = ${oid} OR member = ${oid}) THEN
    EXECUTE 'DROP ROLE ${ident(role)}';
  ELSE
    RAISE NOTICE 'dbkit: kept role ${role}: it is still used elsewhere in the cluster';
  END IF;
END
$undo$`;
}

/** Creates a role when absent. A concurrent creation elsewhere in the cluster is not an error. */
export function provisionRole(pgm: MigrationBuilder, migration: string, role: string, options: string): void {
  pgm.sql(`DO $dbkit$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = ${lit(role)}) THEN
    BEGIN
      EXECUTE ${lit(`CREATE ROLE ${ident(role)} ${options}`)};
      INSERT INTO ${LEDGER} (migration, kind, name, undo_sql) VALUES (${lit(migration)}, 'role', ${lit(role)}, ${lit(dropRoleIfUnusedSql(role))});
    EXCEPTION WHEN duplicate_object OR unique_violation THEN
      NULL; -- created by a concurrent session meanwhile: not ours to drop later
    END;
  END IF;
END
$dbkit$;`);
}

const granteeSql = (oid: string) => `CASE WHEN ${oid} = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(${oid})) END`;

/**
 * Static SQL that revokes every privilege held on a table or view by anyone but its owner (a
 * table-level REVOKE ALL also clears column-level grants).
 */
export function revokeAllButOwnerSql(qualified: string): string {
  return `DO $revoke$
DECLARE g record;
BEGIN
  FOR g IN
    SELECT DISTINCT a.grantee FROM pg_class c, aclexplode(coalesce(c.relacl, acldefault('r', c.relowner))) a
     WHERE c.oid = ${lit(qualified)}::regclass AND a.grantee <> c.relowner
    UNION
    SELECT DISTINCT a.grantee FROM pg_attribute t, aclexplode(t.attacl) a
     WHERE t.attrelid = ${lit(qualified)}::regclass AND t.attnum > 0
  LOOP
    EXECUTE format('REVOKE ALL ON TABLE ${qname(qualified)} FROM %s', ${granteeSql('g.grantee')});
  END LOOP;
END
$revoke$`;
}

/**
 * SQL expression, evaluated at up time, yielding SQL that puts the grants on a table or view
 * (table-level and column-level) back to what they are at that moment.
 */
export function grantsRestoreExpression(qualified: string): string {
  const rel = `to_regclass(${lit(qualified)})`;
  const target = lit(qname(qualified));
  return `${lit(revokeAllButOwnerSql(qualified))} || '; '
    || coalesce((SELECT string_agg(format('GRANT %s ON TABLE %s TO %s%s; ', a.privilege_type, ${target}, ${granteeSql('a.grantee')},
                                          CASE WHEN a.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END), '')
                   FROM pg_class c, aclexplode(coalesce(c.relacl, acldefault('r', c.relowner))) a
                  WHERE c.oid = ${rel} AND a.grantee <> c.relowner), '')
    || coalesce((SELECT string_agg(format('GRANT %s (%s) ON TABLE %s TO %s; ', a.privilege_type, quote_ident(t.attname), ${target}, ${granteeSql('a.grantee')}), '')
                   FROM pg_attribute t, aclexplode(t.attacl) a
                  WHERE t.attrelid = ${rel} AND t.attnum > 0 AND NOT t.attisdropped), '')`;
}

/** SQL expression yielding SQL that restores a table's RLS and FORCE RLS flags to what they are now. */
export function rlsRestoreExpression(qualified: string): string {
  return `(SELECT format('ALTER TABLE %s %s ROW LEVEL SECURITY; ALTER TABLE %s %s ROW LEVEL SECURITY',
      ${lit(qname(qualified))}, CASE WHEN relrowsecurity THEN 'ENABLE' ELSE 'DISABLE' END,
      ${lit(qname(qualified))}, CASE WHEN relforcerowsecurity THEN 'FORCE' ELSE 'NO FORCE' END)
    FROM pg_class WHERE oid = to_regclass(${lit(qualified)}))`;
}

/** SQL expression yielding SQL that restores a schema's grants to what they are now. */
export function schemaGrantsRestoreExpression(schema: string): string {
  const revokeAll = `DO $revoke$
DECLARE g record;
BEGIN
  FOR g IN SELECT DISTINCT a.grantee FROM pg_namespace n, aclexplode(coalesce(n.nspacl, acldefault('n', n.nspowner))) a
            WHERE n.nspname = ${lit(schema)} AND a.grantee <> n.nspowner
  LOOP
    EXECUTE format('REVOKE ALL ON SCHEMA ${ident(schema)} FROM %s', ${granteeSql('g.grantee')});
  END LOOP;
END
$revoke$`;
  return `${lit(revokeAll)} || '; '
    || coalesce((SELECT string_agg(format('GRANT %s ON SCHEMA ${ident(schema)} TO %s; ', a.privilege_type, ${granteeSql('a.grantee')}), '')
                   FROM pg_namespace n, aclexplode(coalesce(n.nspacl, acldefault('n', n.nspowner))) a
                  WHERE n.nspname = ${lit(schema)} AND a.grantee <> n.nspowner), '')`;
}

/**
 * SQL expression: a DO block that runs the statement `sqlExpression` yields (text pg_get_expr or
 * pg_get_functiondef printed, which leaves names visible in the search_path unqualified) under the
 * search_path it was printed with, then puts the caller's back. So the names resolve on replay
 * exactly as they did when captured. Quoted with format's %L throughout: no dollar quote that the
 * captured text could close.
 */
const underCapturedSearchPath = (sqlExpression: string) =>
  `format('DO %L', format('DECLARE sp text := current_setting(''search_path''); BEGIN PERFORM set_config(''search_path'', %L, true); EXECUTE %L; PERFORM set_config(''search_path'', sp, true); END', current_setting('search_path'), ${sqlExpression}))`;

const POLICY_COMMAND_SQL = `CASE p.polcmd WHEN 'r' THEN 'SELECT' WHEN 'a' THEN 'INSERT' WHEN 'w' THEN 'UPDATE' WHEN 'd' THEN 'DELETE' ELSE 'ALL' END`;

/**
 * SQL expression yielding SQL that puts a policy back exactly as it is now: drops whatever holds
 * its name by then, and recreates it (mode, command, roles, USING, WITH CHECK as the catalog has
 * them) when it exists now. For a change that replaces a policy.
 */
export function policyRestoreExpression(qualified: string, policy: string): string {
  const create = `format('CREATE POLICY %I ON %s AS %s FOR %s TO %s%s%s', p.polname, ${lit(qname(qualified))},
      CASE WHEN p.polpermissive THEN 'PERMISSIVE' ELSE 'RESTRICTIVE' END, ${POLICY_COMMAND_SQL},
      (SELECT string_agg(CASE WHEN u.r = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(u.r)) END, ', ' ORDER BY u.i) FROM unnest(p.polroles) WITH ORDINALITY AS u(r, i)),
      CASE WHEN p.polqual IS NULL THEN '' ELSE ' USING (' || pg_get_expr(p.polqual, p.polrelid) || ')' END,
      CASE WHEN p.polwithcheck IS NULL THEN '' ELSE ' WITH CHECK (' || pg_get_expr(p.polwithcheck, p.polrelid) || ')' END)`;
  return `${lit(`DROP POLICY IF EXISTS ${ident(policy)} ON ${qname(qualified)}`)}
    || coalesce((SELECT '; ' || ${underCapturedSearchPath(create)} FROM pg_policy p WHERE p.polrelid = to_regclass(${lit(qualified)}) AND p.polname = ${lit(policy)}), '')`;
}

/** SQL expression yielding SQL that puts a function back exactly as it is now (CREATE OR REPLACE of its full definition). */
export function functionRestoreExpression(signature: string): string {
  return underCapturedSearchPath(`pg_get_functiondef(to_regprocedure(${lit(signature)}))`);
}

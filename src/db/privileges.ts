/**
 * Pre-flight privilege checks: asks the catalogs whether the connected role meets each need
 * (src/core/privileges.ts), and refuses with every missing privilege and its GRANT before any
 * work. Only catalog functions are used (has_*_privilege on oids, pg_has_role), so the check
 * itself never fails for lack of a privilege. A need on an object that does not exist is met: the
 * command says what is missing in its own words.
 */
import type pg from 'pg';
import { DbkitError } from '../errors.js';
import { describeNeed, privilegeProblem, type Grantee, type MissingPrivilege, type PrivilegeNeed } from '../core/privileges.js';
import { SYSTEM_SCHEMAS } from './catalog.js';

const split = (qualified: string): [string, string] => {
  const dot = qualified.indexOf('.');
  return dot < 0 ? ['public', qualified] : [qualified.slice(0, dot), qualified.slice(dot + 1)];
};

async function one(client: pg.ClientBase, sql: string, values: unknown[]): Promise<boolean | null> {
  const { rows } = await client.query<{ ok: boolean | null }>(sql, values);
  return rows.length === 0 ? null : rows[0]!.ok;
}

const RELATION_OID = `SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2`;

/** Tables among `tables` (or every user table) whose rows row-level security hides from the current role. */
async function rlsHidden(client: pg.ClientBase, tables: readonly string[] | 'all'): Promise<string[]> {
  const { rows } = await client.query<{ name: string }>(
    `SELECT n.nspname || '.' || c.relname AS name
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace, pg_roles me
      WHERE me.rolname = current_user AND NOT (me.rolsuper OR me.rolbypassrls)
        AND c.relkind IN ('r', 'p') AND c.relrowsecurity AND (c.relforcerowsecurity OR c.relowner <> me.oid)
        AND n.nspname <> ALL($2::text[]) AND ($1::text[] IS NULL OR n.nspname || '.' || c.relname = ANY($1::text[]))
      ORDER BY 1`,
    [tables === 'all' ? null : tables, [...SYSTEM_SCHEMAS]],
  );
  return rows.map((r) => r.name);
}

/** Schemas, tables and sequences a backup reads (pg_dump, or the row counts of a copy) that the current role may not. */
async function undumpable(client: pg.ClientBase): Promise<string[]> {
  const { rows } = await client.query<{ name: string }>(
    `SELECT 'schema ' || n.nspname AS name, n.nspname AS s, 0 AS k FROM pg_namespace n
      WHERE n.nspname <> ALL($1::text[]) AND n.nspname NOT LIKE 'pg\\_%' AND NOT has_schema_privilege(n.oid, 'USAGE')
     UNION ALL
     SELECT n.nspname || '.' || c.relname, n.nspname, 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'p', 'S') AND n.nspname <> ALL($1::text[]) AND n.nspname NOT LIKE 'pg\\_%'
        AND NOT has_table_privilege(c.oid, 'SELECT')
        AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
      ORDER BY 3, 2, 1`,
    [[...SYSTEM_SCHEMAS]],
  );
  return rows.map((r) => r.name);
}

/** Whether the current role meets `need`: true, false, or (for itemised needs) the items it lacks. */
async function meets(client: pg.ClientBase, need: PrivilegeNeed, versionNum: number): Promise<boolean | string[]> {
  switch (need.on) {
    case 'database':
      return (await one(client, 'SELECT has_database_privilege(current_database(), $1) AS ok', [need.privilege])) ?? true;
    case 'database-owner':
      return (await one(client, "SELECT pg_has_role(d.datdba, 'MEMBER') AS ok FROM pg_database d WHERE d.datname = current_database()", [])) ?? true;
    case 'schema':
      return (await one(client, 'SELECT has_schema_privilege(n.oid, $2) AS ok FROM pg_namespace n WHERE n.nspname = $1', [need.name, need.privilege])) ?? true;
    case 'table': {
      const [schema, name] = split(need.name);
      const { rows } = await client.query<{ privilege: string; ok: boolean }>(
        `SELECT p AS privilege, has_table_privilege((${RELATION_OID}), p) AS ok FROM unnest($3::text[]) p WHERE EXISTS (${RELATION_OID})`,
        [schema, name, need.privileges],
      );
      return rows.every((r) => r.ok);
    }
    case 'sequence': {
      const [schema, name] = split(need.name);
      return (await one(client, `SELECT has_sequence_privilege(c.oid, $3) AS ok FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind = 'S'`, [schema, name, need.privilege])) ?? true;
    }
    case 'role':
      // PostgreSQL 16 made SET ROLE an option of the membership.
      return (await one(client, 'SELECT pg_has_role(r.oid, $2) AS ok FROM pg_roles r WHERE r.rolname = $1', [need.name, versionNum >= 160_000 ? 'SET' : 'MEMBER'])) ?? true;
    case 'attribute':
      return (await one(client, 'SELECT rolsuper OR rolcreatedb AS ok FROM pg_roles WHERE rolname = current_user', [])) ?? false;
    case 'rls-bypass': {
      const hidden = await rlsHidden(client, need.tables);
      return hidden.length === 0 ? true : hidden;
    }
    case 'dump': {
      const denied = await undumpable(client);
      return denied.length === 0 ? true : denied;
    }
    default: {
      const unhandled: never = need;
      throw new Error(`unhandled privilege need ${JSON.stringify(unhandled)}`);
    }
  }
}

/** The needs the current role does not meet (USAGE on the schema of each table and sequence is implied). */
export async function missingPrivileges(client: pg.ClientBase, needs: readonly PrivilegeNeed[]): Promise<{ who: Grantee; missing: MissingPrivilege[] }> {
  const { rows } = await client.query<{ role: string; database: string; versionNum: number }>(
    `SELECT current_user AS role, current_database() AS database, current_setting('server_version_num')::int AS "versionNum"`,
  );
  const { role, database, versionNum } = rows[0]!;
  const who = { role, database };
  const implied: PrivilegeNeed[] = [];
  for (const need of needs) {
    if (need.on !== 'table' && need.on !== 'sequence') continue;
    const schema = split(need.name)[0];
    if (!implied.some((n) => n.on === 'schema' && n.name === schema && n.privilege === 'USAGE')) implied.push({ on: 'schema', name: schema, privilege: 'USAGE' });
  }
  const all = [...implied.filter((i) => !needs.some((n) => JSON.stringify(n) === JSON.stringify(i))), ...needs];
  const missing: MissingPrivilege[] = [];
  for (const need of all) {
    const result = await meets(client, need, versionNum);
    if (result === true) continue;
    missing.push(describeNeed(need, who, result === false ? [] : result));
  }
  return { who, missing };
}

/** Refuses (PREFLIGHT_FAILED, exit 7) unless the current role meets every need; `purpose` reads "dbkit apply", say. */
export async function assertPrivileges(client: pg.ClientBase, needs: readonly PrivilegeNeed[], purpose: string, extraHint = ''): Promise<void> {
  if (needs.length === 0) return;
  const { who, missing } = await missingPrivileges(client, needs);
  if (missing.length === 0) return;
  const problem = privilegeProblem(missing, who, purpose);
  throw new DbkitError('PREFLIGHT_FAILED', problem.message, { hint: `${problem.hint}${extraHint}` });
}

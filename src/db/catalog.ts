/**
 * Read-only questions dbkit asks the catalogs: who am I, what can I do, how many rows.
 */
import type pg from 'pg';
import { quoteLiteral, quoteQualified } from '../core/sql.js';

export interface ServerInfo {
  versionNum: number;
  version: string;
  database: string;
  user: string;
  superuser: boolean;
  createRole: boolean;
  createDb: boolean;
  bypassRls: boolean;
  canCreateSchema: boolean;
}

export async function serverInfo(client: pg.ClientBase): Promise<ServerInfo> {
  const { rows } = await client.query<ServerInfo>(`
    SELECT current_setting('server_version_num')::int AS "versionNum",
           split_part(current_setting('server_version'), ' ', 1) AS version,
           current_database() AS database,
           current_user AS "user",
           r.rolsuper AS superuser, r.rolcreaterole AS "createRole", r.rolcreatedb AS "createDb", r.rolbypassrls AS "bypassRls",
           has_database_privilege(current_database(), 'CREATE') AS "canCreateSchema"
      FROM pg_roles r WHERE r.rolname = current_user`);
  const info = rows[0];
  if (!info) throw new Error('current_user has no pg_roles row');
  return info;
}

export const SYSTEM_SCHEMAS = ['pg_catalog', 'information_schema', 'pg_toast'] as const;

export interface TableRef {
  schema: string;
  name: string;
}

export const qualified = (t: TableRef) => `${t.schema}.${t.name}`;
// The one quoting module (core/sql), re-exported for the callers that read the catalog through here.
export { quoteIdent, quoteLiteral, quoteQualified } from '../core/sql.js';

export async function listTables(client: pg.ClientBase, excludeSchemas: readonly string[] = []): Promise<TableRef[]> {
  const { rows } = await client.query<TableRef>(
    `SELECT n.nspname AS schema, c.relname AS name
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'p')
        AND n.nspname <> ALL($1::text[]) AND n.nspname NOT LIKE 'pg_temp_%' AND n.nspname NOT LIKE 'pg_toast_temp_%'
      ORDER BY 1, 2`,
    [[...SYSTEM_SCHEMAS, ...excludeSchemas]],
  );
  return rows;
}

/** Exact row count of every user table ("schema.table" -> count), in one statement. */
export async function rowCounts(client: pg.ClientBase, excludeSchemas: readonly string[] = []): Promise<Record<string, number>> {
  const tables = await listTables(client, excludeSchemas);
  if (tables.length === 0) return {};
  const parts = tables.map((t) => `SELECT ${quoteLiteral(qualified(t))} AS t, count(*)::bigint AS n FROM ONLY ${quoteQualified(t)}`);
  const { rows } = await client.query<{ t: string; n: string }>(parts.join('\nUNION ALL\n'));
  const counts: Record<string, number> = {};
  for (const row of rows) counts[row.t] = Number(row.n);
  return counts;
}

export interface SessionActivity {
  pid: number;
  application: string;
  user: string;
  state: string;
}

/** Other sessions connected to `database` (never their query text, which may hold secrets). */
export async function otherSessions(client: pg.ClientBase, database: string): Promise<SessionActivity[]> {
  const { rows } = await client.query<SessionActivity>(
    `SELECT pid, coalesce(application_name, '') AS application, coalesce(usename, '') AS "user", coalesce(state, '') AS state
       FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid() ORDER BY pid`,
    [database],
  );
  return rows;
}

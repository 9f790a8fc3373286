/**
 * Read-only questions dbkit asks the catalogs: who am I, what can I do, how many rows.
 */
import type pg from 'pg';
import { quoteQualified } from '../core/sql.js';
import { DbkitError, errorMessage } from '../errors.js';

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

/**
 * Exact row count of every user table ("schema.table" -> count): the rows a backup holds. A table that belongs to an extension is the extension's: pg_dump archives none of
 * its rows (CREATE EXTENSION makes it anew on restore), unless the extension marked it as a
 * configuration table (pg_extension_config_dump), and then only the rows its filter keeps. Counted
 * the same way here (left out, or counted through that filter), so that an archive of a database
 * with PostGIS's spatial_ref_sys, pg_net's queue or pg_cron's job table verifies. The filter is the
 * WHERE clause the extension script gave, as pg_dump uses it, in a statement of its own sent with
 * a parameter, so that it can only ever be one statement; one the server cannot run is refused
 * (BACKUP_FAILED), as pg_dump would fail on it.
 */
export async function rowCounts(client: pg.ClientBase, excludeSchemas: readonly string[] = []): Promise<Record<string, number>> {
  const { rows: tables } = await client.query<TableRef & { member: boolean; filter: string | null }>(
    `SELECT n.nspname AS schema, c.relname AS name,
            EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e') AS member,
            (SELECT coalesce(u.cond, '') FROM pg_extension e, unnest(e.extconfig, e.extcondition) AS u(cfg, cond) WHERE u.cfg = c.oid LIMIT 1) AS filter
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'p')
        AND n.nspname <> ALL($1::text[]) AND n.nspname NOT LIKE 'pg_temp_%' AND n.nspname NOT LIKE 'pg_toast_temp_%'
      ORDER BY 1, 2`,
    [[...SYSTEM_SCHEMAS, ...excludeSchemas]],
  );
  const counted = tables.filter((t) => !t.member || t.filter !== null);
  const plain = counted.filter((t) => !t.member || t.filter === '');
  const counts: Record<string, number> = {};
  if (plain.length > 0) {
    const parts = plain.map((t, i) => `SELECT $${i + 1}::text AS t, count(*)::bigint AS n FROM ONLY ${quoteQualified(t)}`);
    const { rows } = await client.query<{ t: string; n: string }>(parts.join('\nUNION ALL\n'), plain.map(qualified));
    for (const row of rows) counts[row.t] = Number(row.n);
  }
  for (const t of counted.filter((c) => c.member && c.filter !== '')) {
    // The filter is the extension's text: a statement of its own (so that a bad one is named), sent
    // with a parameter, so that the server parses it as exactly one statement.
    try {
      const { rows } = await client.query<{ n: string }>(`SELECT $1::text AS t, count(*)::bigint AS n FROM ONLY ${quoteQualified(t)} ${t.filter}`, [qualified(t)]);
      counts[qualified(t)] = Number(rows[0]!.n);
    } catch (error) {
      throw new DbkitError('BACKUP_FAILED', `cannot count the rows of ${qualified(t)} through the filter its extension recorded for pg_dump (${JSON.stringify(t.filter)}): ${errorMessage(error).split('\n')[0]}`, {
        hint: 'pg_dump cannot archive that table either; nothing was changed. Repair or reinstall the extension that owns it',
      });
    }
  }
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
       FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid() AND backend_type IS DISTINCT FROM 'autovacuum worker' ORDER BY pid`,
    [database],
  );
  return rows;
}

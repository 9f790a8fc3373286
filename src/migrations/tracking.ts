/**
 * dbkit's bookkeeping lives in its own schema, `dbkit`, outside the API-exposed `public`:
 * node-pg-migrate's table (dbkit.migrations, same layout the runner expects) and the checksum of
 * every applied migration (dbkit.migration_checksums), written in the migration's own transaction.
 * A unique index on the migration name is the last line of defence against running one twice
 * (migrations/exactly-once.ts adds it to databases tracked before it existed).
 */
import type pg from 'pg';
import { quoteLiteral } from '../db/catalog.js';

export const TRACKING_SCHEMA = 'dbkit';
export const MIGRATIONS_TABLE = 'migrations';
export const CHECKSUMS_TABLE = 'migration_checksums';

const CHECKSUMS_DDL = `REVOKE ALL ON SCHEMA ${TRACKING_SCHEMA} FROM PUBLIC;
CREATE TABLE IF NOT EXISTS ${TRACKING_SCHEMA}.${CHECKSUMS_TABLE} (
  name text PRIMARY KEY,
  file_checksum text NOT NULL,
  sql_checksum text,
  recorded_at timestamptz NOT NULL DEFAULT now(),
  recorded_by text NOT NULL DEFAULT current_user
);`;

export const TRACKING_DDL = `
CREATE SCHEMA IF NOT EXISTS ${TRACKING_SCHEMA};
CREATE TABLE IF NOT EXISTS ${TRACKING_SCHEMA}.${MIGRATIONS_TABLE} (
  id serial PRIMARY KEY,
  name varchar(255) NOT NULL,
  run_on timestamp NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS migrations_name_key ON ${TRACKING_SCHEMA}.${MIGRATIONS_TABLE} (name);
${CHECKSUMS_DDL}`;

export interface AppliedMigration {
  name: string;
  runOn: string;
  fileChecksum: string | null;
  sqlChecksum: string | null;
}

export async function trackingExists(client: pg.ClientBase): Promise<boolean> {
  const { rows } = await client.query<{ ok: boolean }>(`SELECT to_regclass('${TRACKING_SCHEMA}.${MIGRATIONS_TABLE}') IS NOT NULL AS ok`);
  return rows[0]?.ok === true;
}

export async function ensureTracking(client: pg.ClientBase): Promise<void> {
  await client.query(`BEGIN; ${TRACKING_DDL} COMMIT;`);
}

/** Applied migrations in the order they were applied; empty when dbkit never ran here. */
export async function readApplied(client: pg.ClientBase): Promise<AppliedMigration[]> {
  if (!(await trackingExists(client))) return [];
  const { rows: hasChecksums } = await client.query<{ ok: boolean }>(`SELECT to_regclass('${TRACKING_SCHEMA}.${CHECKSUMS_TABLE}') IS NOT NULL AS ok`);
  const join = hasChecksums[0]?.ok
    ? `LEFT JOIN ${TRACKING_SCHEMA}.${CHECKSUMS_TABLE} c ON c.name = m.name`
    : 'LEFT JOIN (SELECT NULL::text AS name, NULL::text AS file_checksum, NULL::text AS sql_checksum) c ON false';
  const { rows } = await client.query<AppliedMigration>(
    `SELECT m.name, m.run_on::text AS "runOn", c.file_checksum AS "fileChecksum", c.sql_checksum AS "sqlChecksum"
       FROM ${TRACKING_SCHEMA}.${MIGRATIONS_TABLE} m ${join}
      ORDER BY m.run_on, m.id`,
  );
  return rows;
}

/** Bookkeeping appended to a migration's up: creates the checksum table on first use (in the same transaction) and records the checksum. */
export function recordChecksumSql(name: string, fileChecksum: string, sqlChecksum: string | null): string {
  return `${CHECKSUMS_DDL}
INSERT INTO ${TRACKING_SCHEMA}.${CHECKSUMS_TABLE} (name, file_checksum, sql_checksum) VALUES (${quoteLiteral(name)}, ${quoteLiteral(fileChecksum)}, ${
    sqlChecksum === null ? 'NULL' : quoteLiteral(sqlChecksum)
  }) ON CONFLICT (name) DO UPDATE SET file_checksum = EXCLUDED.file_checksum, sql_checksum = EXCLUDED.sql_checksum, recorded_at = now(), recorded_by = current_user;`;
}

export function forgetChecksumSql(name: string): string {
  return `DELETE FROM ${TRACKING_SCHEMA}.${CHECKSUMS_TABLE} WHERE name = ${quoteLiteral(name)};`;
}

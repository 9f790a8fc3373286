/**
 * Backup as a copy of the database inside the same cluster (CREATE DATABASE ... TEMPLATE): the
 * strategy for the embedded cluster, where no pg_dump as new as PostgreSQL 17 exists. Postgres
 * requires that nobody is connected to the source while it is copied. The copy carries dbkit's
 * marker (COMMENT ON DATABASE) and its content is summed per table on the server, so that a copy
 * altered afterwards is refused.
 */
import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { DbkitError, pgErrorInfo } from '../errors.js';
import { listTables, qualified, quoteIdent, quoteLiteral, quoteQualified, rowCounts } from '../db/catalog.js';
import { schemaFingerprint } from '../db/fingerprint.js';
import { withClient } from '../db/scoped.js';
import { withDatabase } from '../db/connect.js';

export interface SnapshotFacts {
  rowCounts: Record<string, number>;
  fingerprint: string;
  /** Per table content checksum (null when not computed). */
  contentChecksums: Record<string, string> | null;
}

/** A new secret key for a backup's content checksums (kept in its 0600 manifest only). */
export const newChecksumKey = () => randomBytes(16).toString('hex');

/**
 * Column types whose hash function tells apart exactly the values whose text differs (integers,
 * text under a deterministic collation, uuid, timestamps, ...). Other columns (numeric, whose hash
 * equates 1.0 and 1.00; jsonb; floats; arrays; domains) are hashed through their text.
 */
const EXACT_HASH_TYPES = [16, 17, 18, 20, 21, 23, 25, 26, 1042, 1043, 1082, 1083, 1114, 1184, 2950] as const;

/**
 * Per table: the sum of hash_record_extended(row, seed) over its rows, computed by the server,
 * with each column that is not of an exactly hashed type cast to text first. A sum does not
 * depend on row order (a clone made later from the same copy sums the same) and needs no sort;
 * hashing values instead of rendering whole rows as text makes it about five times cheaper than
 * md5 over the row text. The seed comes from a random key kept only in the 0600 manifest, so
 * whoever can write to the copy but not read the manifest cannot make altered rows sum the same.
 */
export async function contentChecksums(client: pg.ClientBase, key: string): Promise<Record<string, string>> {
  const seed = BigInt.asIntN(64, BigInt(`0x${key.slice(0, 16)}`)).toString();
  // Text of the columns cast to text must not depend on the session.
  await client.query(
    "SET LOCAL TimeZone = 'UTC'; SET LOCAL DateStyle = 'ISO, YMD'; SET LOCAL IntervalStyle = 'postgres'; SET LOCAL extra_float_digits = 3; SET LOCAL bytea_output = 'hex'",
  );
  const sums: Record<string, string> = {};
  for (const table of await listTables(client)) {
    const { rows: columns } = await client.query<{ name: string; exact: boolean }>(
      `SELECT a.attname AS name, (a.atttypid = ANY($2::oid[]) OR t.typtype = 'e') AND coalesce(c.collisdeterministic, true) AS exact
         FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid LEFT JOIN pg_collation c ON c.oid = a.attcollation
        WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`,
      [quoteQualified(table), EXACT_HASH_TYPES],
    );
    const values = columns.map((c) => `t.${quoteIdent(c.name)}${c.exact ? '' : '::text'}`);
    const rowHash = values.length > 0 ? `hash_record_extended(ROW(${values.join(', ')}), $1::bigint)` : '0';
    const { rows } = await client.query<{ sum: string }>(`SELECT coalesce(sum(${rowHash}), 0)::text AS sum FROM ONLY ${quoteQualified(table)} AS t`, [seed]);
    sums[qualified(table)] = rows[0]!.sum;
  }
  return sums;
}

export async function factsOf(url: string, connectTimeoutMs: number, options: { checksumKey: string | null }): Promise<SnapshotFacts> {
  return withClient(url, { connectTimeoutMs }, async (client) => {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    try {
      return {
        rowCounts: await rowCounts(client),
        fingerprint: (await schemaFingerprint(client, { includeDbkitSchema: true })).hash,
        contentChecksums: options.checksumKey ? await contentChecksums(client, options.checksumKey) : null,
      };
    } finally {
      await client.query('COMMIT').catch(() => {});
    }
  });
}

/** A session that keeps a database from being copied: who it is and where from (never its query). */
export interface BlockingSession {
  pid: number;
  application: string;
  user: string;
  client: string;
}

// Autovacuum workers are left out: CREATE DATABASE ... TEMPLATE cancels them itself, they never block it.
export async function blockingSessions(client: pg.ClientBase, database: string): Promise<BlockingSession[]> {
  const { rows } = await client.query<BlockingSession>(
    `SELECT pid, coalesce(application_name, '') AS application, coalesce(usename, '') AS "user",
            CASE WHEN client_addr IS NULL THEN 'local socket' ELSE host(client_addr) || ':' || client_port END AS client
       FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid() AND backend_type IS DISTINCT FROM 'autovacuum worker' ORDER BY backend_start, pid`,
    [database],
  );
  return rows;
}

/** How copyDatabase says the source was busy (the backup waits and retries on it). */
export const BUSY_SOURCE = /^cannot copy database .*connected to it/;

export function describeSessions(sessions: readonly BlockingSession[]): string {
  if (sessions.length === 0) return 'they just disconnected';
  const shown = sessions.slice(0, 3).map((s) => `pid ${s.pid} ${s.application ? `"${s.application.replace(/[\u0000-\u001f\u007f]/g, '?').slice(0, 40)}"` : '(no application_name)'} as ${s.user || '?'} from ${s.client}`);
  return `${shown.join('; ')}${sessions.length > 3 ? ` (+${sessions.length - 3} more)` : ''}`;
}

/** Copies `source` to `copy` and marks it. `maintenance` is a connection to another database of the cluster. */
export async function copyDatabase(maintenance: pg.ClientBase, source: string, copy: string, marker: string): Promise<number> {
  try {
    await maintenance.query(`CREATE DATABASE ${quoteIdent(copy)} TEMPLATE ${quoteIdent(source)}`);
  } catch (error) {
    const pg = pgErrorInfo(error);
    if (pg?.code === '55006') {
      const sessions = await blockingSessions(maintenance, source);
      const who = sessions.length === 0 ? 'other sessions were connected to it' : `${sessions.length} session${sessions.length === 1 ? ' is' : 's are'} connected to it`;
      throw new DbkitError('BACKUP_FAILED', `cannot copy database "${source}": ${who} (${describeSessions(sessions)})`, {
        hint: `a template copy needs the database to itself: close them (\\q in psql, stop your app) and retry, or end them with SELECT pg_terminate_backend(<pid>), or install a pg_dump at least as new as the server (DBKIT_PG_BIN) so that backups do not need it alone. Nothing was changed.`,
      });
    }
    if (pg?.code === '42501') {
      throw new DbkitError('BACKUP_FAILED', `not allowed to create the backup database (needs CREATEDB)`, { hint: 'grant CREATEDB, install a pg_dump at least as new as the server, or pass --no-backup' });
    }
    throw error;
  }
  await maintenance.query(`COMMENT ON DATABASE ${quoteIdent(copy)} IS ${quoteLiteral(marker)}`);
  const { rows } = await maintenance.query<{ size: string }>('SELECT pg_database_size($1) AS size', [copy]);
  return Number(rows[0]?.size ?? 0);
}

export interface ServerDatabase {
  name: string;
  comment: string | null;
  sizeBytes: number | null;
}

/** The databases on the server whose name starts with `prefix`, with their comment (dbkit's marker). */
export async function databasesLike(client: pg.ClientBase, prefix: string): Promise<ServerDatabase[]> {
  const { rows } = await client.query<{ name: string; comment: string | null; size: string | null }>(
    `SELECT datname AS name, shobj_description(oid, 'pg_database') AS comment,
            CASE WHEN has_database_privilege(oid, 'CONNECT') THEN pg_database_size(oid) END AS size
       FROM pg_database WHERE starts_with(datname, $1) ORDER BY datname`,
    [prefix],
  );
  return rows.map((r) => ({ name: r.name, comment: r.comment, sizeBytes: r.size === null ? null : Number(r.size) }));
}

/** pg_control_system().system_identifier: which cluster this is (null when not allowed to read it). */
export async function systemIdentifier(client: pg.ClientBase): Promise<string | null> {
  try {
    const { rows } = await client.query<{ id: string }>('SELECT system_identifier::text AS id FROM pg_control_system()');
    return rows[0]?.id ?? null;
  } catch {
    return null;
  }
}

export async function dropDatabaseIfExists(maintenance: pg.ClientBase, name: string): Promise<void> {
  await maintenance.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)}`);
}

/**
 * Reads every table of the copy in full and compares it with what the source held; the copy's
 * content checksums are what its manifest records.
 */
export async function verifyCopy(url: string, copy: string, expected: SnapshotFacts, connectTimeoutMs: number, checksumKey: string): Promise<{ ok: boolean; detail: string; contentChecksums: Record<string, string> | null }> {
  const facts = await factsOf(withDatabase(url, copy), connectTimeoutMs, { checksumKey });
  const fail = (detail: string) => ({ ok: false, detail, contentChecksums: facts.contentChecksums });
  if (facts.fingerprint !== expected.fingerprint) return fail('the copy has a different schema fingerprint than the source (the schema changed while it was copied)');
  const differing = Object.keys({ ...expected.rowCounts, ...facts.rowCounts }).filter((t) => expected.rowCounts[t] !== facts.rowCounts[t]);
  if (differing.length > 0) {
    const t = differing[0]!;
    return fail(`row counts differ for ${differing.length} table(s), e.g. ${t}: ${facts.rowCounts[t] ?? 'missing'} in the copy, ${expected.rowCounts[t] ?? 'missing'} in the source (written to while copied?)`);
  }
  const rows = Object.values(facts.rowCounts).reduce((a, b) => a + b, 0);
  return { ok: true, detail: `read back ${Object.keys(facts.rowCounts).length} tables, ${rows} rows; fingerprint and counts match the source, content checksums recorded`, contentChecksums: facts.contentChecksums };
}

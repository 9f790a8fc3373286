/**
 * Backup as a copy of the database inside the same cluster (CREATE DATABASE ... TEMPLATE): the
 * strategy for the embedded cluster, where no pg_dump as new as PostgreSQL 17 exists. Postgres
 * requires that nobody is connected to the source while it is copied.
 */
import type pg from 'pg';
import { DbkitError, pgErrorInfo } from '../errors.js';
import { otherSessions, quoteIdent, quoteLiteral, rowCounts } from '../db/catalog.js';
import { schemaFingerprint } from '../db/fingerprint.js';
import { withClient } from '../db/scoped.js';
import { withDatabase } from '../db/connect.js';
import type { SnapshotFacts } from './pgdump.js';

/** The database to hold maintenance connections on: never the one being copied. */
export function maintenanceDatabase(target: string): string {
  return target === 'postgres' ? 'template1' : 'postgres';
}

export async function factsOf(url: string, connectTimeoutMs: number): Promise<SnapshotFacts> {
  return withClient(url, { connectTimeoutMs }, async (client) => {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    try {
      return { rowCounts: await rowCounts(client), fingerprint: (await schemaFingerprint(client, { includeDbkitSchema: true })).hash };
    } finally {
      await client.query('COMMIT').catch(() => {});
    }
  });
}

/** Copies `source` to `copy`. `maintenance` is a connection to another database of the cluster. */
export async function copyDatabase(maintenance: pg.ClientBase, source: string, copy: string, comment: string): Promise<number> {
  try {
    await maintenance.query(`CREATE DATABASE ${quoteIdent(copy)} TEMPLATE ${quoteIdent(source)}`);
  } catch (error) {
    const pg = pgErrorInfo(error);
    if (pg?.code === '55006') {
      const sessions = await otherSessions(maintenance, source);
      const who = sessions.slice(0, 5).map((s) => `pid ${s.pid} ${s.application || s.user || '?'}`).join(', ');
      throw new DbkitError('BACKUP_FAILED', `cannot copy database "${source}" while other sessions are connected to it (${sessions.length}: ${who || 'just disconnected'})`, {
        hint: 'close them (psql, your app) and retry; a template copy needs the database to itself. Nothing was changed.',
      });
    }
    if (pg?.code === '42501') {
      throw new DbkitError('BACKUP_FAILED', `not allowed to create the backup database (needs CREATEDB)`, { hint: 'grant CREATEDB, install a pg_dump at least as new as the server, or pass --no-backup' });
    }
    throw error;
  }
  await maintenance.query(`COMMENT ON DATABASE ${quoteIdent(copy)} IS ${quoteLiteral(comment)}`);
  const { rows } = await maintenance.query<{ size: string }>('SELECT pg_database_size($1) AS size', [copy]);
  return Number(rows[0]?.size ?? 0);
}

export async function dropDatabaseIfExists(maintenance: pg.ClientBase, name: string): Promise<void> {
  await maintenance.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)}`);
}

/** Reads every table of the copy in full and compares with what the source held. */
export async function verifyCopy(url: string, copy: string, expected: SnapshotFacts, connectTimeoutMs: number): Promise<{ ok: boolean; detail: string }> {
  const facts = await factsOf(withDatabase(url, copy), connectTimeoutMs);
  if (facts.fingerprint !== expected.fingerprint) {
    return { ok: false, detail: 'the copy has a different schema fingerprint than the source (the schema changed while it was copied)' };
  }
  const differing = Object.keys({ ...expected.rowCounts, ...facts.rowCounts }).filter((t) => expected.rowCounts[t] !== facts.rowCounts[t]);
  if (differing.length > 0) {
    const t = differing[0]!;
    return { ok: false, detail: `row counts differ for ${differing.length} table(s), e.g. ${t}: ${facts.rowCounts[t] ?? 'missing'} in the copy, ${expected.rowCounts[t] ?? 'missing'} in the source (written to while copied?)` };
  }
  const rows = Object.values(facts.rowCounts).reduce((a, b) => a + b, 0);
  return { ok: true, detail: `read back ${Object.keys(facts.rowCounts).length} tables, ${rows} rows; fingerprint and counts match` };
}

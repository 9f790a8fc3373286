/**
 * Restoring backups. Before anything is restored, the backup is proved intact (pg_dump: size,
 * sha256 and a full read-back with per-table row counts; template copy: fingerprint and row counts
 * of the copy). A pg_dump archive is then restored in ONE transaction on dbkit's own connection
 * and checked against the manifest before it commits; a template copy is cloned, checked, and
 * only then swapped in.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { statSync } from 'node:fs';
import { finished } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { DbkitError, errorMessage, pgErrorInfo } from '../errors.js';
import { quoteIdent, rowCounts } from '../db/catalog.js';
import { schemaFingerprint } from '../db/fingerprint.js';
import { withClient } from '../db/scoped.js';
import { withDatabase } from '../db/connect.js';
import { compareFacts, type FactsComparison } from '../core/restore-plan.js';
import { RestoreScriptError, RestoreScriptParser, type ScriptEvent } from '../core/restore-script.js';
import { backupFileInFolder, type BackupManifest } from './manifest.js';
import { markerMatches } from './names.js';
import { sha256File, verifyArchive } from './pgdump.js';
import { blockingSessions, databasesLike, describeSessions, factsOf } from './template.js';
import { childEnvironment, type PgTool } from './pg-tools.js';

export interface IntegrityCheck {
  method: string;
  detail: string;
  durationMs: number;
}

function corrupt(manifest: BackupManifest, what: string): DbkitError {
  return new DbkitError('BACKUP_CORRUPT', `backup ${manifest.id} cannot be trusted: ${what}`, { hint: 'nothing was restored; pick another backup (dbkit backups)' });
}

/** Proves an archive intact before it is used: where it is, its size, its sha256, then reading all of it back. */
export async function checkArchive(manifest: BackupManifest, backupDir: string, restoreTool: PgTool): Promise<IntegrityCheck & { file: string }> {
  const started = performance.now();
  const name = manifest.location.kind === 'file' ? manifest.location.file : '';
  const found = backupFileInFolder(backupDir, name);
  if (!found.ok) throw corrupt(manifest, found.reason);
  if (!found.path) throw corrupt(manifest, `its archive ${name} is missing from ${backupDir}`);
  const file = found.path;
  const size = statSync(file).size;
  if (size !== manifest.sizeBytes) throw corrupt(manifest, `the archive is ${size} bytes but was ${manifest.sizeBytes} when taken (truncated or replaced)`);
  if (!manifest.checksum || (await sha256File(file)) !== manifest.checksum) throw corrupt(manifest, 'the archive\'s sha256 differs from the manifest (the file was modified or damaged)');
  const readBack = await verifyArchive(restoreTool, file, manifest.rowCounts);
  if (!readBack.ok) throw corrupt(manifest, readBack.detail);
  return { method: `size, sha256 and ${restoreTool.name} ${restoreTool.version} full read-back`, detail: `sha256 matches; ${readBack.detail}`, durationMs: performance.now() - started, file };
}

/**
 * Proves a template-copy backup is dbkit's (its marker) and still has the schema fingerprint and
 * row counts it had when taken. Its content checksums are compared on the clone made from it
 * (proveClone), which is what gets restored: one pass over the data instead of two, and nothing
 * can change the copy between that check and the restore.
 */
export async function checkCopy(manifest: BackupManifest, serverUrl: string, copy: string, connectTimeoutMs: number): Promise<IntegrityCheck> {
  const started = performance.now();
  const [db] = await withClient(serverUrl, { connectTimeoutMs }, async (client) => (await databasesLike(client, copy)).filter((d) => d.name === copy));
  if (!db) throw corrupt(manifest, `its backup database ${copy} is not on this server`);
  if (!markerMatches(db.comment, manifest.id)) throw corrupt(manifest, `the database ${copy} does not carry dbkit's marker for this backup (not created by dbkit for it): left alone`);
  // Content checksums are compared on the clone (proveClone), not here.
  const comparison = compareFacts({ ...manifest, contentChecksums: null }, await factsOf(withDatabase(serverUrl, copy), connectTimeoutMs, { checksumKey: null }));
  if (!comparison.ok) throw corrupt(manifest, `the backup database ${copy} changed since it was taken: ${comparison.detail}`);
  const method = `dbkit's marker, then the template copy read back in full: fingerprint and per-table row counts compared with the manifest${manifest.contentChecksums ? ' (content checksums: on the clone, before it counts as restored)' : ''}`;
  return { method, detail: comparison.detail, durationMs: performance.now() - started };
}

/**
 * Proves the clone of a template copy equal to the manifest: fingerprint, row counts and content
 * checksums. Rows that differ under equal counts mean the backup itself was altered (exit 19);
 * any other difference is a failed restore (exit 21). The caller drops the clone on failure.
 */
export async function proveClone(manifest: BackupManifest, cloneUrl: string, connectTimeoutMs: number): Promise<FactsComparison> {
  const proof = compareFacts(manifest, await factsOf(cloneUrl, connectTimeoutMs, { checksumKey: manifest.contentChecksums ? manifest.contentChecksumKey : null }));
  if (proof.ok) return proof;
  const copy = manifest.location.kind === 'database' ? manifest.location.database : manifest.id;
  if (proof.fingerprintMatches && proof.mismatches.length === 0) throw corrupt(manifest, `the backup database ${copy} changed since it was taken: ${proof.detail}`);
  throw new DbkitError('RESTORE_MISMATCH', `the copy of ${copy} does not match backup ${manifest.id}: ${proof.detail}`, { hint: 'it was dropped; nothing changed' });
}

/** CREATE DATABASE lost a race to another session creating the same name (42P04, or the unique index). */
export function isDuplicateDatabase(error: unknown): boolean {
  const pg = pgErrorInfo(error);
  return pg?.code === '42P04' || (pg?.code === '23505' && /pg_database_datname_index/.test(`${pg.constraint ?? ''} ${errorMessage(error)}`));
}

export function databaseAlreadyExists(name: string): DbkitError {
  return new DbkitError('USAGE', `database "${name}" already exists on this server`, { hint: 'pick another --into name (restore never overwrites an existing database unless --in-place)' });
}

export async function databaseExists(client: pg.ClientBase, name: string): Promise<boolean> {
  const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
  return (rowCount ?? 0) > 0;
}

/** Everything a pg_dump archive can hold, gone; public recreated as a new database has it. */
export const WIPE_SQL = `DO $wipe$
DECLARE r record;
BEGIN
  FOR r IN SELECT extname FROM pg_extension WHERE extname <> 'plpgsql' LOOP
    EXECUTE format('DROP EXTENSION IF EXISTS %I CASCADE', r.extname);
  END LOOP;
  FOR r IN SELECT nspname FROM pg_namespace
            WHERE nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast') AND nspname NOT LIKE 'pg\\_temp\\_%' AND nspname NOT LIKE 'pg\\_toast\\_temp\\_%' LOOP
    EXECUTE format('DROP SCHEMA %I CASCADE', r.nspname);
  END LOOP;
  CREATE SCHEMA public AUTHORIZATION pg_database_owner;
  GRANT USAGE ON SCHEMA public TO PUBLIC;
  COMMENT ON SCHEMA public IS 'standard public schema';
END
$wipe$`;

export interface ArchiveRestoreOptions {
  /** Replace what the database holds (in place); otherwise it must be a new, empty database. */
  wipe: boolean;
  lockTimeoutMs: number;
  connectTimeoutMs: number;
}

/**
 * Restores an archive into the database at `url` in one transaction, and commits only when its
 * fingerprint and every table's row count equal the manifest. Nothing changes otherwise.
 */
export async function restoreArchive(url: string, tool: PgTool, file: string, manifest: BackupManifest, options: ArchiveRestoreOptions): Promise<FactsComparison> {
  return withClient(url, { connectTimeoutMs: options.connectTimeoutMs, applicationName: 'dbkit-restore' }, async (client) => {
    await client.query(`SET lock_timeout = ${Math.round(options.lockTimeoutMs)}; SET client_connection_check_interval = 1000`);
    await client.query('BEGIN');
    try {
      if (options.wipe) await client.query(WIPE_SQL).catch((error) => Promise.reject(restoreError('emptying the database', error, options.lockTimeoutMs)));
      await runScript(client, tool, file, options.lockTimeoutMs);
      // The script empties search_path, which would make the fingerprint schema-qualify names.
      await client.query('RESET ALL');
      const found = { fingerprint: (await schemaFingerprint(client, { includeDbkitSchema: true })).hash, rowCounts: await rowCounts(client) };
      const comparison = compareFacts(manifest, found);
      if (!comparison.ok) {
        throw new DbkitError('RESTORE_MISMATCH', `the restored data does not match backup ${manifest.id}: ${comparison.detail}`, {
          hint: 'it was rolled back; nothing changed. Are the roles the backup grants to present on this server, with the same names?',
        });
      }
      await client.query('COMMIT');
      return comparison;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      throw error;
    }
  });
}

function restoreError(what: string, error: unknown, lockTimeoutMs: number): DbkitError {
  if (error instanceof DbkitError) return error;
  const pg = pgErrorInfo(error);
  if (pg?.code === '55P03') {
    return new DbkitError('RESTORE_FAILED', `${what}: could not take a lock within ${lockTimeoutMs} ms (lock_timeout): other sessions are using the tables`, { pg, hint: 'nothing changed; stop the application (or raise --lock-timeout) and retry' });
  }
  const detail = pg?.detail ? ` (${pg.detail})` : '';
  const hint = pg?.code === '42704' ? 'create the missing role on this server first (roles are not part of a database backup); nothing changed' : 'it was rolled back; nothing changed';
  return new DbkitError('RESTORE_FAILED', `${what} failed: ${errorMessage(error).split('\n')[0]}${detail}`, { pg, hint });
}

/** Streams `pg_restore --file=-` into the client: statements as queries, table data through COPY. */
async function runScript(client: pg.Client, tool: PgTool, file: string, lockTimeoutMs: number): Promise<void> {
  const child = spawn(tool.path, ['--file=-', file], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...childEnvironment(), PGAPPNAME: 'dbkit-restore' } });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    if (stderr.length < 20_000) stderr += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  });
  const parser = new RestoreScriptParser();
  let copy: ReturnType<typeof copyFrom> | null = null;
  // A COPY can fail while dbkit is between writes: keep the error until the next await.
  let copyError: unknown = null;
  let entry = 'the script preamble';
  const send = async (events: ScriptEvent[]) => {
    let data = '';
    const flushData = async () => {
      if (copyError) throw copyError;
      if (!copy || data === '') return;
      const ok = copy.write(data);
      data = '';
      if (!ok) await once(copy, 'drain');
    };
    for (const event of events) {
      switch (event.kind) {
        case 'copy-data':
          data += event.text;
          break;
        case 'sql':
          entry = event.entry;
          await client.query(event.text);
          break;
        case 'copy-start':
          entry = event.entry;
          copy = client.query(copyFrom(event.statement));
          copy.on('error', (error) => (copyError ??= error));
          break;
        case 'copy-end': {
          await flushData();
          const stream = copy!;
          copy = null;
          stream.end();
          await finished(stream);
          if (copyError) throw copyError;
          break;
        }
        default: {
          const unreachable: never = event;
          throw new Error(`unknown script event ${JSON.stringify(unreachable)}`);
        }
      }
    }
    await flushData();
  };
  try {
    child.stdout.setEncoding('utf8');
    let pending = '';
    for await (const chunk of child.stdout as AsyncIterable<string>) {
      const lines = (pending + chunk).split('\n');
      pending = lines.pop() ?? '';
      await send(lines.flatMap((line) => parser.line(line)));
    }
    if (pending !== '') await send(parser.line(pending));
    await send(parser.end());
    const code = await exited;
    if (code !== 0) throw new DbkitError('RESTORE_FAILED', `pg_restore cannot read the archive: ${stderr.trim().split('\n').pop() ?? `exit code ${code}`}`, { hint: 'it was rolled back; nothing changed' });
  } catch (error) {
    child.kill();
    if (error instanceof RestoreScriptError) throw new DbkitError('RESTORE_FAILED', error.message, { hint: 'it was rolled back; nothing changed' });
    throw restoreError(`restoring ${entry}`, error, lockTimeoutMs);
  }
}

/** CREATE DATABASE ... TEMPLATE: the clone of a template-copy backup. */
export async function cloneDatabase(maintenance: pg.ClientBase, from: string, to: string, owner: string | null): Promise<void> {
  try {
    await maintenance.query(`CREATE DATABASE ${quoteIdent(to)} TEMPLATE ${quoteIdent(from)}${owner ? ` OWNER ${quoteIdent(owner)}` : ''}`);
  } catch (error) {
    const pg = pgErrorInfo(error);
    if (isDuplicateDatabase(error)) throw databaseAlreadyExists(to);
    if (pg?.code === '55006') {
      const who = describeSessions(await blockingSessions(maintenance, from));
      throw new DbkitError('RESTORE_FAILED', `cannot copy the backup database ${from}: other sessions are connected to it (${who})`, { pg, hint: 'close them and retry; nothing changed' });
    }
    if (pg?.code === '42501') throw new DbkitError('RESTORE_FAILED', 'not allowed to create databases (needs CREATEDB)', { pg, hint: 'grant CREATEDB or run as the cluster owner; nothing changed' });
    throw error;
  }
}

/**
 * Puts `replacement` in the place of `live` in one transaction (two renames), keeping the old one
 * as `retired`. Needs `live` to itself: nobody may be connected to it.
 */
export async function swapDatabases(maintenance: pg.ClientBase, live: string, replacement: string, retired: string): Promise<void> {
  const sessions = await blockingSessions(maintenance, live);
  const blocked = (detail: string) =>
    new DbkitError('RESTORE_FAILED', `cannot replace database "${live}" while other sessions are connected to it (${detail})`, { hint: 'stop the application (and close psql), then retry; nothing changed' });
  if (sessions.length > 0) throw blocked(describeSessions(sessions));
  await maintenance.query('BEGIN');
  try {
    await maintenance.query(`ALTER DATABASE ${quoteIdent(live)} RENAME TO ${quoteIdent(retired)}`);
    await maintenance.query(`ALTER DATABASE ${quoteIdent(replacement)} RENAME TO ${quoteIdent(live)}`);
    await maintenance.query('COMMIT');
  } catch (error) {
    await maintenance.query('ROLLBACK').catch(() => {});
    if (pgErrorInfo(error)?.code === '55006') throw blocked('a session connected meanwhile');
    throw error;
  }
}

/**
 * Pruning old backups of one database: archive files are deleted, template-copy databases
 * dropped, and the manifest goes last, so a failure never leaves a backup without its manifest.
 * Only what dbkit could have created is touched (see leftovers.ts); the leftovers of killed
 * backups of the same database go too.
 */
import { readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type pg from 'pg';
import { errorMessage } from '../errors.js';
import { quoteIdent } from '../db/catalog.js';
import { connect } from '../db/connect.js';
import type { DatabaseTarget } from '../db/target.js';
import { backupGroupKey, selectPrunable } from '../core/retention.js';
import { backupFileInFolder, folderTag, manifestPath, scanBackupDir, writerAlive, type BackupManifest } from './manifest.js';
import { archiveName, manifestTempName, markerMatches, partialArchiveName } from './names.js';
import { databasesLike, systemIdentifier } from './template.js';
import { databaseLeftovers, folderLeftovers, groupOf, removeLeftovers } from './leftovers.js';

export { groupOf } from './leftovers.js';

export interface PruneResult {
  kept: number;
  removed: string[];
  failed: { id: string; reason: string }[];
}

/**
 * Keeps the `keep` newest verified backups of the target database (plus `protect`, and any still
 * being taken), removes the rest and the leftovers of killed backups of that database.
 */
export async function pruneBackups(backupDir: string, target: DatabaseTarget, keep: number, protect: readonly string[] = []): Promise<PruneResult> {
  const folder = await scanBackupDir(backupDir);
  const group = groupOf(target);
  const running = folder.manifests.filter((m) => m.status === 'taking' && writerAlive(m)).map((m) => m.id);
  const doomed = selectPrunable(folder.manifests, group, keep, [...protect, ...running]);
  const result: PruneResult = { kept: folder.manifests.filter((m) => backupGroupKey(m.source) === group).length - doomed.length, removed: [], failed: [] };
  const tag = folderTag(backupDir);
  let maintenance: pg.Client | null = null;
  try {
    // Any database of the cluster can drop another: the target's own URL is the one surely allowed.
    maintenance = await connect(target.url, { connectTimeoutMs: target.connectTimeoutMs });
    const sysid = await systemIdentifier(maintenance);
    for (const manifest of doomed) {
      const outcome = await removeBackup(maintenance, sysid, backupDir, manifest).catch((error: unknown) => errorMessage(error).split('\n')[0] ?? 'unknown error');
      if (outcome === null) result.removed.push(manifest.id);
      else result.failed.push({ id: manifest.id, reason: outcome });
    }
    const leftovers = [...folderLeftovers(folder, target), ...(await databaseLeftovers(maintenance, folder, target, tag))];
    const cleaned = await removeLeftovers(maintenance, backupDir, leftovers, tag);
    result.removed.push(...cleaned.removed);
    result.failed.push(...cleaned.failed.map((f) => ({ id: f.name, reason: f.reason })));
  } finally {
    await maintenance?.end().catch(() => {});
  }
  result.kept += result.failed.filter((f) => doomed.some((d) => d.id === f.id)).length;
  return result;
}

/** Removes one backup; returns null when done, or why it was left alone. */
async function removeBackup(client: pg.ClientBase, sysid: string | null, backupDir: string, manifest: BackupManifest): Promise<string | null> {
  if (manifest.location.kind === 'file') {
    for (const name of [archiveName(manifest.id), partialArchiveName(manifest.id)]) {
      const file = backupFileInFolder(backupDir, name);
      if (!file.ok) return file.reason;
      if (file.path) rmSync(file.path);
    }
  } else {
    const name = manifest.location.database;
    const elsewhere = manifest.source.systemIdentifier !== null && sysid !== null && manifest.source.systemIdentifier !== sysid;
    const [db] = elsewhere ? [] : (await databasesLike(client, name)).filter((d) => d.name === name);
    if (db) {
      if (!markerMatches(db.comment, manifest.id)) return `database ${name} does not carry dbkit's marker for backup ${manifest.id}: left alone`;
      await client.query(`DROP DATABASE ${quoteIdent(name)}`);
    }
  }
  rmSync(manifestPath(backupDir, manifest.id), { force: true });
  rmSync(path.join(backupDir, manifestTempName(manifest.id)), { force: true });
  return null;
}

export function describePrune(result: PruneResult): string {
  const failed = result.failed.map((f) => `${f.id} (${f.reason})`).join(', ');
  const removed = result.removed.length > 0 ? ` (${result.removed.join(', ')})` : '';
  return `pruned ${result.removed.length} old or incomplete backup${result.removed.length === 1 ? '' : 's'}${removed}, kept ${result.kept}${failed ? `; could not remove ${failed}` : ''}`;
}

/**
 * After the embedded cluster is deleted (dbkit db reset): the manifests of template copies that
 * lived inside it describe nothing any more, so they go. Archives (pg_dump) of it stay: they are
 * still restorable. `systemIdentifier` is the deleted cluster's (null: unknown, then every
 * embedded template copy of the folder is taken to be its).
 */
export async function forgetClusterCopies(backupDir: string, systemIdentifier: string | null): Promise<string[]> {
  const forgotten: string[] = [];
  for (const m of (await scanBackupDir(backupDir)).manifests) {
    if (m.source.kind !== 'embedded' || m.location.kind !== 'database') continue;
    if (systemIdentifier !== null && m.source.systemIdentifier !== null && m.source.systemIdentifier !== systemIdentifier) continue;
    rmSync(manifestPath(backupDir, m.id), { force: true });
    forgotten.push(m.id);
  }
  return forgotten;
}

/** The system identifier in a stopped or running cluster's global/pg_control (its first 8 bytes). */
export function controlFileSystemIdentifier(dataDir: string): string | null {
  try {
    const bytes = readFileSync(path.join(dataDir, 'global', 'pg_control')).subarray(0, 8);
    if (bytes.length < 8) return null;
    return (os.endianness() === 'LE' ? bytes.readBigUInt64LE(0) : bytes.readBigUInt64BE(0)).toString();
  } catch {
    return null;
  }
}

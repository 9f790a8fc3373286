/**
 * What killed or failed backups leave behind, and removing it. Only what dbkit itself created is
 * ever removed: a manifest-less archive or partial archive named like a dbkit backup of this
 * database, directly inside the backups folder; or a dbkit_bk_* database whose COMMENT is dbkit's
 * marker for a backup of this database made from this folder. Everything else is reported only.
 */
import type pg from 'pg';
import { errorMessage } from '../errors.js';
import { quoteIdent } from '../db/catalog.js';
import type { DatabaseTarget } from '../db/target.js';
import { backupFileInFolder, writerAlive, type BackupFolder, type BackupManifest } from './manifest.js';
import { BACKUP_DATABASE_PREFIX, databaseSlug, parseMarker, slugOfId } from './names.js';
import { databasesLike } from './template.js';
import { rmSync } from 'node:fs';
import { backupGroupKey } from '../core/retention.js';

export const LEFTOVER_KINDS = ['manifest', 'file', 'database'] as const;

export interface Leftover {
  /** manifest: a backup that never finished (its archive or copy goes with it); file; database. */
  kind: (typeof LEFTOVER_KINDS)[number];
  /** The backup id, the file name or the database name. */
  name: string;
  detail: string;
  sizeBytes: number | null;
  /** dbkit's own, of this database: `dbkit backups --keep` removes it. */
  removable: boolean;
}

export function groupOf(target: DatabaseTarget): string {
  return backupGroupKey({ kind: target.kind, url: target.redactedUrl, database: target.databaseName });
}

/** Unfinished manifests (their writer is gone) of this database. */
export function unfinishedBackups(folder: BackupFolder, target: DatabaseTarget): BackupManifest[] {
  return folder.manifests.filter((m) => m.status === 'taking' && !writerAlive(m) && backupGroupKey(m.source) === groupOf(target));
}

/** Leftovers visible in the folder alone (no server needed). */
export function folderLeftovers(folder: BackupFolder, target: DatabaseTarget | null): Leftover[] {
  const slug = target ? databaseSlug(target.databaseName) : null;
  const leftovers: Leftover[] = [];
  for (const m of folder.manifests) {
    if (m.status !== 'taking' || writerAlive(m)) continue;
    if (target && backupGroupKey(m.source) !== groupOf(target)) continue;
    const what = m.location.kind === 'file' ? `archive ${m.location.file}(.partial)` : `copy ${m.location.database}`;
    leftovers.push({ kind: 'manifest', name: m.id, detail: `backup of ${m.source.database} started ${m.createdAt} never finished (killed?): ${what}`, sizeBytes: null, removable: true });
  }
  for (const stray of folder.strays) {
    const mine = slug !== null && slugOfId(stray.id) === slug;
    if (target && !mine) continue;
    const what = { archive: 'archive without a manifest', partial: 'partial archive of a killed backup', 'manifest-tmp': 'half-written manifest', manifest: 'manifest' }[stray.kind];
    // Without a target (a listing): removable by --keep run against the database it belongs to.
    leftovers.push({ kind: 'file', name: stray.name, detail: what, sizeBytes: stray.sizeBytes, removable: target ? mine : true });
  }
  return leftovers;
}

/**
 * dbkit_bk_* databases on the server that no manifest of this folder accounts for. Removable when
 * they carry dbkit's marker for a backup of this database from this folder (or from a dbkit that
 * wrote no folder tag); unmarked ones are reported and never touched.
 */
export async function databaseLeftovers(client: pg.ClientBase, folder: BackupFolder, target: DatabaseTarget, tag: string): Promise<Leftover[]> {
  const known = new Set(folder.manifests.map((m) => m.id));
  const slug = databaseSlug(target.databaseName);
  const leftovers: Leftover[] = [];
  for (const db of await databasesLike(client, BACKUP_DATABASE_PREFIX)) {
    const marker = parseMarker(db.comment);
    if (!marker) {
      if (db.name.includes(`_${slug.replace(/-/g, '_')}_`)) leftovers.push({ kind: 'database', name: db.name, detail: 'named like a dbkit backup copy but without dbkit\'s marker: not touched (drop it yourself if it is yours)', sizeBytes: db.sizeBytes, removable: false });
      continue;
    }
    if (known.has(marker.id) || slugOfId(marker.id) !== slug || (marker.folderTag !== null && marker.folderTag !== tag)) continue;
    leftovers.push({ kind: 'database', name: db.name, detail: `template copy of backup ${marker.id} without a manifest (a killed backup)`, sizeBytes: db.sizeBytes, removable: true });
  }
  return leftovers;
}

/** Removes the removable file and database leftovers (manifests go through pruning). */
export async function removeLeftovers(client: pg.ClientBase | null, backupDir: string, leftovers: readonly Leftover[], tag: string): Promise<{ removed: string[]; failed: { name: string; reason: string }[] }> {
  const removed: string[] = [];
  const failed: { name: string; reason: string }[] = [];
  for (const leftover of leftovers) {
    if (!leftover.removable || leftover.kind === 'manifest') continue;
    try {
      if (leftover.kind === 'file') {
        const file = backupFileInFolder(backupDir, leftover.name);
        if (!file.ok) throw new Error(file.reason);
        if (file.path) rmSync(file.path);
      } else {
        if (!client) throw new Error('no connection to its server');
        // Checked again right before the drop: only a database still carrying dbkit's marker goes.
        const [db] = (await databasesLike(client, leftover.name)).filter((d) => d.name === leftover.name);
        if (db) {
          const marker = parseMarker(db.comment);
          if (!marker || (marker.folderTag !== null && marker.folderTag !== tag)) throw new Error('it no longer carries dbkit\'s marker: left alone');
          await client.query(`DROP DATABASE ${quoteIdent(db.name)}`);
        }
      }
      removed.push(leftover.name);
    } catch (error) {
      failed.push({ name: leftover.name, reason: errorMessage(error).split('\n')[0] ?? 'unknown error' });
    }
  }
  return { removed, failed };
}

export function describeLeftovers(leftovers: readonly Leftover[]): string {
  const bytes = leftovers.reduce((sum, l) => sum + (l.sizeBytes ?? 0), 0);
  const names = leftovers.slice(0, 3).map((l) => l.name).join(', ');
  return `${leftovers.length} incomplete backup${leftovers.length === 1 ? '' : 's'} left by killed or failed runs (${names}${leftovers.length > 3 ? ', ...' : ''}${bytes > 0 ? `; ${Math.round(bytes / 1024 / 1024)} MiB` : ''})`;
}

/**
 * Pruning old backups of one database: archive files are deleted, template-copy databases
 * dropped, and the manifest goes last, so a failure never leaves a backup without its manifest.
 */
import { rmSync } from 'node:fs';
import path from 'node:path';
import type pg from 'pg';
import { errorMessage } from '../errors.js';
import { quoteIdent } from '../db/catalog.js';
import { connect, withDatabase } from '../db/connect.js';
import type { DatabaseTarget } from '../db/target.js';
import { backupGroupKey, selectPrunable } from '../core/retention.js';
import { listManifests, manifestPath } from './manifest.js';
import { maintenanceDatabase } from './template.js';

export interface PruneResult {
  kept: number;
  removed: string[];
  failed: { id: string; reason: string }[];
}

export function groupOf(target: DatabaseTarget): string {
  return backupGroupKey({ kind: target.kind, url: target.redactedUrl, database: target.databaseName });
}

/** Keeps the `keep` newest verified backups of the target database (plus `protect`), removes the rest. */
export async function pruneBackups(backupDir: string, target: DatabaseTarget, keep: number, protect: readonly string[] = []): Promise<PruneResult> {
  const all = listManifests(backupDir);
  const group = groupOf(target);
  const doomed = selectPrunable(all, group, keep, protect);
  const result: PruneResult = { kept: all.filter((m) => backupGroupKey(m.source) === group).length - doomed.length, removed: [], failed: [] };
  if (doomed.length === 0) return result;
  let maintenance: pg.Client | null = null;
  try {
    for (const manifest of doomed) {
      try {
        if (manifest.location.kind === 'database') {
          maintenance ??= await connect(withDatabase(target.url, maintenanceDatabase(target.databaseName)), { connectTimeoutMs: target.connectTimeoutMs });
          await maintenance.query(`DROP DATABASE IF EXISTS ${quoteIdent(manifest.location.database)}`);
        } else {
          rmSync(path.join(backupDir, manifest.location.file), { force: true });
        }
        rmSync(manifestPath(backupDir, manifest.id), { force: true });
        result.removed.push(manifest.id);
      } catch (error) {
        result.failed.push({ id: manifest.id, reason: errorMessage(error).split('\n')[0] ?? 'unknown error' });
      }
    }
  } finally {
    await maintenance?.end().catch(() => {});
  }
  result.kept += result.failed.length;
  return result;
}

export function describePrune(result: PruneResult): string {
  const failed = result.failed.map((f) => `${f.id} (${f.reason})`).join(', ');
  const removed = result.removed.length > 0 ? ` (${result.removed.join(', ')})` : '';
  return `pruned ${result.removed.length} old backup${result.removed.length === 1 ? '' : 's'}${removed}, kept ${result.kept}${failed ? `; could not remove ${failed}` : ''}`;
}

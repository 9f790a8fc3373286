/**
 * Taking a verified backup: choose the strategy, take it, verify it, write the manifest. A backup
 * that cannot be verified is reported as a failure (its manifest says verified: false).
 */
import { chmodSync, mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { ResolvedConfig, BackupStrategyChoice } from '../config.js';
import { DbkitError, errorMessage } from '../errors.js';
import type { ServerInfo } from '../db/catalog.js';
import type { DatabaseTarget } from '../db/target.js';
import { withClient } from '../db/scoped.js';
import { withDatabase } from '../db/connect.js';
import { findPgTool, listPgTools, type PgTool } from './pg-tools.js';
import { archivePath, backupDatabaseName, newBackupId, writeManifest, type BackupManifest, type BackupStrategyName } from './manifest.js';
import { dumpWithSnapshot, fileSize, sha256File, verifyArchive } from './pgdump.js';
import { pruneBackups, type PruneResult } from './prune.js';
import { copyDatabase, dropDatabaseIfExists, factsOf, maintenanceDatabase, verifyCopy } from './template.js';

export type BackupPlan = { strategy: 'pg_dump'; dump: PgTool; restore: PgTool } | { strategy: 'template' };

export function chooseBackupStrategy(choice: BackupStrategyChoice, server: ServerInfo, pgBinDir: string | null): BackupPlan {
  const major = Math.floor(server.versionNum / 10_000);
  const dump = findPgTool('pg_dump', major, pgBinDir);
  const restore = findPgTool('pg_restore', major, pgBinDir);
  if (choice === 'template') return { strategy: 'template' };
  if (dump && restore) return { strategy: 'pg_dump', dump, restore };
  if (choice === 'auto') return { strategy: 'template' };
  const found = listPgTools('pg_dump', pgBinDir).map((t) => `${t.version} at ${t.path}`);
  throw new DbkitError('PG_TOOLS_MISSING', `no pg_dump/pg_restore ${major} or newer found for this PostgreSQL ${server.version} server${found.length ? ` (found: ${found.join(', ')})` : ''}`, {
    hint: `install the PostgreSQL ${major} client tools and point DBKIT_PG_BIN at them, or use --backup-strategy template. Nothing was changed.`,
  });
}

export interface TakeBackupOptions {
  config: ResolvedConfig;
  target: DatabaseTarget;
  server: ServerInfo;
  plan: BackupPlan;
  reason: string;
  /** Migrations applied at this moment (recorded in the manifest). */
  migrations: string[];
  /** Backups that keepBackups pruning must not remove (the one a restore reads, say). */
  protect?: readonly string[];
  /** Told what keepBackups pruning did after the new backup was verified. */
  onPruned?: (result: PruneResult) => void;
}

/**
 * Takes and verifies a backup. For the template strategy the caller must hold no connection to
 * the target database.
 */
export async function takeBackup(options: TakeBackupOptions): Promise<BackupManifest> {
  const { config, target, server, plan } = options;
  const started = performance.now();
  const id = newBackupId(target.databaseName);
  const base = {
    formatVersion: 1 as const,
    id,
    createdAt: new Date().toISOString(),
    reason: options.reason,
    source: { database: target.databaseName, url: target.redactedUrl, kind: target.kind },
    server: { version: server.version, versionNum: server.versionNum },
    migrations: options.migrations,
  };
  let manifest: BackupManifest;
  if (plan.strategy === 'pg_dump') {
    const file = archivePath(config.backupDir, id);
    rmSync(file, { force: true });
    mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    const facts = await withClient(target.url, { connectTimeoutMs: target.connectTimeoutMs }, (client) => dumpWithSnapshot(client, plan.dump, target.url, file));
    // Archives hold all the data: readable by their owner only.
    chmodSync(file, 0o600);
    const verifyStarted = performance.now();
    const check = await verifyArchive(plan.restore, file, facts.rowCounts);
    manifest = {
      ...base,
      strategy: 'pg_dump',
      location: { kind: 'file', file: path.basename(file) },
      sizeBytes: fileSize(file),
      checksum: await sha256File(file),
      fingerprint: facts.fingerprint,
      rowCounts: facts.rowCounts,
      verified: check.ok,
      verification: { method: `${plan.restore.name} ${plan.restore.version} full read-back with per-table row counts`, durationMs: performance.now() - verifyStarted, detail: check.detail },
      durationMs: 0,
      tool: `${plan.dump.name} ${plan.dump.version}`,
    };
  } else {
    const copy = backupDatabaseName(id);
    const maintenanceUrl = withDatabase(target.url, maintenanceDatabase(target.databaseName));
    manifest = await withClient(maintenanceUrl, { connectTimeoutMs: target.connectTimeoutMs }, async (maintenance) => {
      const facts = await factsOf(target.url, target.connectTimeoutMs);
      const sizeBytes = await copyWhenAlone(maintenance, target.databaseName, copy, `dbkit backup ${id} of ${target.databaseName} (${options.reason})`);
      const verifyStarted = performance.now();
      let check: { ok: boolean; detail: string };
      try {
        check = await verifyCopy(target.url, copy, facts, target.connectTimeoutMs);
      } catch (error) {
        check = { ok: false, detail: `the copy cannot be read: ${errorMessage(error)}` };
      }
      return {
        ...base,
        strategy: 'template' as BackupStrategyName,
        location: { kind: 'database' as const, database: copy },
        sizeBytes,
        checksum: null,
        fingerprint: facts.fingerprint,
        rowCounts: facts.rowCounts,
        verified: check.ok,
        verification: { method: 'template copy read back in full; fingerprint and per-table row counts compared with the source', durationMs: performance.now() - verifyStarted, detail: check.detail },
        durationMs: 0,
        tool: null,
      };
    });
  }
  manifest.durationMs = performance.now() - started;
  writeManifest(config.backupDir, manifest);
  if (!manifest.verified) {
    throw new DbkitError('BACKUP_FAILED', `backup ${id} could not be verified: ${manifest.verification.detail}`, { hint: 'nothing was changed; retry, or pass --no-backup (not recommended)' });
  }
  if (config.keepBackups > 0) {
    const pruned = await pruneBackups(config.backupDir, target, config.keepBackups, [manifest.id, ...(options.protect ?? [])]);
    options.onPruned?.(pruned);
  }
  return manifest;
}

/** CREATE DATABASE ... TEMPLATE needs the source to itself: wait briefly for other sessions to leave. */
async function copyWhenAlone(maintenance: Parameters<typeof copyDatabase>[0], source: string, copy: string, comment: string): Promise<number> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    try {
      return await copyDatabase(maintenance, source, copy, comment);
    } catch (error) {
      const busy = error instanceof DbkitError && error.code === 'BACKUP_FAILED' && /other sessions/.test(error.message);
      if (!busy || Date.now() > deadline) {
        await dropDatabaseIfExists(maintenance, copy).catch(() => {});
        throw error;
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
}

/**
 * Taking a verified backup: choose the strategy, take it, verify it, write the manifest. A backup
 * that cannot be verified is reported as a failure (its manifest says verified: false).
 *
 * The manifest is written first (status "taking"), before the first byte: a killed backup is
 * always found again. The archive is written under a temporary name into a file created 0600
 * beforehand, in a 0700 folder, and renamed once verified.
 */
import { closeSync, openSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import type pg from 'pg';
import type { ResolvedConfig, BackupStrategyChoice } from '../config.js';
import { DbkitError, errorMessage, pgErrorInfo } from '../errors.js';
import type { ServerInfo } from '../db/catalog.js';
import type { DatabaseTarget } from '../db/target.js';
import { withClient } from '../db/scoped.js';
import { withDatabase } from '../db/connect.js';
import { findPgTool, listPgTools, type PgTool } from './pg-tools.js';
import { ensureBackupDir, folderTag, manifestPath, scanBackupDir, thisWriter, writeManifest, type BackupManifest } from './manifest.js';
import { archiveName, backupDatabaseName, backupMarker, newBackupId, partialArchiveName } from './names.js';
import { dumpWithSnapshot, fileSize, sha256File, verifyArchive } from './pgdump.js';
import { pruneBackups, type PruneResult } from './prune.js';
import { BUSY_SOURCE, copyDatabase, dropDatabaseIfExists, newChecksumKey, factsOf, systemIdentifier, verifyCopy } from './template.js';
import { maintenanceDatabase } from '../db/connect.js';
import { databaseLeftovers, folderLeftovers, type Leftover } from './leftovers.js';

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
  /** Backups that keepBackups pruning must not remove (the one a restore is reading, say). */
  protect?: readonly string[];
  /** Told what keepBackups pruning did after the new backup was verified. */
  onPruned?: (result: PruneResult) => void;
  /** Told about incomplete backups that killed runs left for this database (before this one starts). */
  onLeftovers?: (leftovers: Leftover[]) => void;
}

/**
 * Takes and verifies a backup. For the template strategy the caller must hold no connection to
 * the target database.
 */
export async function takeBackup(options: TakeBackupOptions): Promise<BackupManifest> {
  const { config, target, server, plan } = options;
  const started = performance.now();
  ensureBackupDir(config.backupDir);
  const id = newBackupId(target.databaseName);
  const copy = backupDatabaseName(id);
  const tag = folderTag(config.backupDir);
  const connectOptions = { connectTimeoutMs: target.connectTimeoutMs };
  const url = plan.strategy === 'pg_dump' ? target.url : withDatabase(target.url, maintenanceDatabase(target.databaseName));
  let manifest: BackupManifest = await withClient(url, connectOptions, async (client) => {
    await reportLeftovers(client, options, tag);
    return {
      formatVersion: 1,
      id,
      status: 'taking',
      writer: thisWriter(),
      createdAt: new Date().toISOString(),
      reason: options.reason,
      strategy: plan.strategy,
      source: { database: target.databaseName, url: target.redactedUrl, kind: target.kind, systemIdentifier: await systemIdentifier(client) },
      server: { version: server.version, versionNum: server.versionNum },
      migrations: options.migrations,
      location: plan.strategy === 'pg_dump' ? { kind: 'file', file: archiveName(id) } : { kind: 'database', database: copy },
      sizeBytes: 0,
      checksum: null,
      fingerprint: '',
      rowCounts: {},
      contentChecksums: null,
      contentChecksumKey: plan.strategy === 'template' ? newChecksumKey() : null,
      verified: false,
      verification: { method: '', durationMs: 0, detail: 'not finished' },
      durationMs: 0,
      tool: plan.strategy === 'pg_dump' ? `${plan.dump.name} ${plan.dump.version}` : null,
    };
  });
  writeManifest(config.backupDir, manifest);
  try {
    manifest = plan.strategy === 'pg_dump' ? await takeDump(manifest, options) : await takeCopy(manifest, options, tag);
  } catch (error) {
    throw await abandon(manifest, options, error);
  }
  manifest = { ...manifest, status: 'done', writer: null, durationMs: performance.now() - started };
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

async function reportLeftovers(client: pg.ClientBase, options: TakeBackupOptions, tag: string): Promise<void> {
  if (!options.onLeftovers) return;
  const folder = await scanBackupDir(options.config.backupDir);
  const leftovers = [...folderLeftovers(folder, options.target), ...(await databaseLeftovers(client, folder, options.target, tag))];
  if (leftovers.length > 0) options.onLeftovers(leftovers);
}

async function takeDump(manifest: BackupManifest, options: TakeBackupOptions): Promise<BackupManifest> {
  const { config, target, plan } = options;
  if (plan.strategy !== 'pg_dump') throw new Error('takeDump needs the pg_dump plan');
  const partial = path.join(config.backupDir, partialArchiveName(manifest.id));
  // Created 0600 before pg_dump writes a byte: pg_dump truncates it and keeps its mode.
  closeSync(openSync(partial, 'wx', 0o600));
  const facts = await withClient(target.url, { connectTimeoutMs: target.connectTimeoutMs }, (client) => dumpWithSnapshot(client, plan.dump, target.url, partial));
  const verifyStarted = performance.now();
  const check = await verifyArchive(plan.restore, partial, facts.rowCounts);
  const sizeBytes = fileSize(partial);
  const checksum = await sha256File(partial);
  renameSync(partial, path.join(config.backupDir, archiveName(manifest.id)));
  return {
    ...manifest,
    sizeBytes,
    checksum,
    fingerprint: facts.fingerprint,
    rowCounts: facts.rowCounts,
    verified: check.ok,
    verification: { method: `${plan.restore.name} ${plan.restore.version} full read-back with per-table row counts`, durationMs: performance.now() - verifyStarted, detail: check.detail },
  };
}

async function takeCopy(manifest: BackupManifest, options: TakeBackupOptions, tag: string): Promise<BackupManifest> {
  const { target } = options;
  const copy = backupDatabaseName(manifest.id);
  const maintenanceUrl = withDatabase(target.url, maintenanceDatabase(target.databaseName));
  return withClient(maintenanceUrl, { connectTimeoutMs: target.connectTimeoutMs }, async (maintenance) => {
    const facts = await factsOf(target.url, target.connectTimeoutMs, { checksumKey: null });
    const sizeBytes = await copyWhenAlone(maintenance, target.databaseName, copy, backupMarker(manifest.id, target.databaseName, options.reason, tag));
    const verifyStarted = performance.now();
    let check: { ok: boolean; detail: string; contentChecksums: Record<string, string> | null };
    try {
      check = await verifyCopy(target.url, copy, facts, target.connectTimeoutMs, manifest.contentChecksumKey!);
    } catch (error) {
      check = { ok: false, detail: `the copy cannot be read: ${errorMessage(error)}`, contentChecksums: null };
    }
    return {
      ...manifest,
      sizeBytes,
      fingerprint: facts.fingerprint,
      rowCounts: facts.rowCounts,
      contentChecksums: check.contentChecksums,
      verified: check.ok,
      verification: { method: 'template copy read back in full; fingerprint and per-table row counts compared with the source; per-table content checksums recorded', durationMs: performance.now() - verifyStarted, detail: check.detail },
    };
  });
}

/**
 * A backup that failed part-way: remove what it created, then its manifest. What cannot be
 * removed keeps its manifest (status taking), so `dbkit backups` shows it and --keep retries.
 */
async function abandon(manifest: BackupManifest, options: TakeBackupOptions, error: unknown): Promise<unknown> {
  const { config, target } = options;
  const left: string[] = [];
  try {
    if (manifest.location.kind === 'file') {
      for (const name of [partialArchiveName(manifest.id), archiveName(manifest.id)]) rmSync(path.join(config.backupDir, name), { force: true });
    } else {
      const maintenanceUrl = withDatabase(target.url, maintenanceDatabase(target.databaseName));
      await withClient(maintenanceUrl, { connectTimeoutMs: target.connectTimeoutMs }, (m) => dropDatabaseIfExists(m, manifest.location.kind === 'database' ? manifest.location.database : ''));
    }
    rmSync(manifestPath(config.backupDir, manifest.id), { force: true });
  } catch (cleanupError) {
    left.push(`${manifest.location.kind === 'file' ? manifest.location.file : manifest.location.database} (${errorMessage(cleanupError).split('\n')[0]})`);
  }
  if (left.length === 0) return error;
  const hint = 'dbkit backups lists it as incomplete; dbkit backups --keep N removes it.';
  if (error instanceof DbkitError) return new DbkitError(error.code, `${error.message}; could not remove ${left.join(', ')}`, { hint: `${error.hint ?? ''} ${hint}`.trim(), ...(error.pg ? { pg: error.pg } : {}), cause: error });
  // Any other failure is reported with what it left behind too (a permission refusal stays one).
  const pg = pgErrorInfo(error);
  return new DbkitError(pg?.code === '42501' ? 'PERMISSION_DENIED' : 'BACKUP_FAILED', `${errorMessage(error).split('\n')[0]}; could not remove ${left.join(', ')}`, { hint, ...(pg ? { pg } : {}), cause: error });
}

/** CREATE DATABASE ... TEMPLATE needs the source to itself: wait briefly for other sessions to leave. */
async function copyWhenAlone(maintenance: pg.ClientBase, source: string, copy: string, marker: string): Promise<number> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    try {
      return await copyDatabase(maintenance, source, copy, marker);
    } catch (error) {
      const busy = error instanceof DbkitError && error.code === 'BACKUP_FAILED' && BUSY_SOURCE.test(error.message);
      if (!busy || Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
}

/**
 * Backup manifests: one JSON file per backup beside its archive, saying what was backed up, when,
 * from which server and migration state, and what a restore must reproduce (schema fingerprint,
 * row count of every table).
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { TargetKind } from '../db/target.js';

export const BACKUP_STRATEGY_NAMES = ['pg_dump', 'template'] as const;
export type BackupStrategyName = (typeof BACKUP_STRATEGY_NAMES)[number];

export type BackupLocation = { kind: 'file'; file: string } | { kind: 'database'; database: string };

export interface BackupManifest {
  formatVersion: 1;
  id: string;
  createdAt: string;
  reason: string;
  strategy: BackupStrategyName;
  source: { database: string; url: string; kind: TargetKind };
  server: { version: string; versionNum: number };
  /** Migrations applied when the backup was taken, in order. */
  migrations: string[];
  location: BackupLocation;
  sizeBytes: number;
  /** sha256 of the archive file (pg_dump); null for a database copy. */
  checksum: string | null;
  /** Schema fingerprint of the whole database, dbkit's schema included. */
  fingerprint: string;
  rowCounts: Record<string, number>;
  verified: boolean;
  verification: { method: string; durationMs: number; detail: string };
  durationMs: number;
  tool: string | null;
}

export function newBackupId(database: string, now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  const db = database.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 24) || 'db';
  return `${stamp}-${db}-${randomBytes(2).toString('hex')}`;
}

/** Name of the database holding a template-copy backup (63-byte identifier limit). */
export function backupDatabaseName(id: string): string {
  return `dbkit_bk_${id.replace(/[^a-zA-Z0-9]+/g, '_').toLowerCase()}`.slice(0, 63);
}

export const manifestPath = (backupDir: string, id: string) => path.join(backupDir, `${id}.json`);
export const archivePath = (backupDir: string, id: string) => path.join(backupDir, `${id}.dump`);

export function writeManifest(backupDir: string, manifest: BackupManifest): void {
  mkdirSync(backupDir, { recursive: true });
  const file = manifestPath(backupDir, manifest.id);
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o600 });
  renameSync(tmp, file);
}

export function readManifest(backupDir: string, id: string): BackupManifest | null {
  const file = manifestPath(backupDir, id);
  if (!existsSync(file)) return null;
  return JSON.parse(readFileSync(file, 'utf8')) as BackupManifest;
}

/** All manifests in the folder, newest first. Unreadable files are skipped, not fatal. */
export function listManifests(backupDir: string): BackupManifest[] {
  if (!existsSync(backupDir)) return [];
  const manifests: BackupManifest[] = [];
  for (const name of readdirSync(backupDir)) {
    if (!name.endsWith('.json')) continue;
    try {
      const manifest = JSON.parse(readFileSync(path.join(backupDir, name), 'utf8')) as BackupManifest;
      if (manifest.formatVersion === 1 && typeof manifest.id === 'string') manifests.push(manifest);
    } catch {
      // a half-written or foreign file: ignore
    }
  }
  return manifests.sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : 0));
}

/**
 * Backup manifests: one JSON file per backup beside its archive, saying what was backed up, when,
 * from which server and migration state, and what a restore must reproduce (schema fingerprint,
 * row count and content checksum of every table). Written before the backup's first byte (status
 * "taking") and again when it is done, so no archive or copy ever exists without one.
 *
 * Everything read from the folder is untrusted: manifests are parsed by a schema, files are only
 * touched when they are regular files directly inside the folder.
 */
import { existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, realpathSync, statSync, chmodSync } from 'node:fs';
import { createHash } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { DbkitError } from '../errors.js';
import type { BackupManifest } from './manifest-schema.js';
import { BACKUP_ID_PATTERN, classifyBackupFile, manifestName, manifestTempName, type BackupFileName } from './names.js';
import { writeFileAtomicSync } from '../fs/atomic.js';

export type { BackupManifest } from './manifest-schema.js';
export type BackupStrategyName = BackupManifest['strategy'];
export type BackupLocation = BackupManifest['location'];
export { archiveName, backupDatabaseName, newBackupId, partialArchiveName } from './names.js';

const loadSchema = () => import('./manifest-schema.js');

export const manifestPath = (backupDir: string, id: string) => path.join(backupDir, manifestName(id));

/**
 * Creates the backups folder readable by its owner only (0700), and tightens an existing one
 * that is open to others. A folder owned by another user is refused: its owner could swap files.
 */
export function ensureBackupDir(backupDir: string): void {
  mkdirSync(backupDir, { recursive: true, mode: 0o700 });
  const stat = statSync(backupDir);
  if (!stat.isDirectory()) throw new DbkitError('BACKUP_FAILED', `the backup folder ${backupDir} is not a folder`, { hint: 'point --backup-dir / DBKIT_BACKUP_DIR at a folder. Nothing was changed.' });
  const uid = process.getuid?.() ?? stat.uid;
  if (stat.uid !== uid) {
    throw new DbkitError('BACKUP_FAILED', `the backup folder ${backupDir} belongs to another user (uid ${stat.uid})`, { hint: 'use a folder of your own for --backup-dir / DBKIT_BACKUP_DIR. Nothing was changed.' });
  }
  if ((stat.mode & 0o077) !== 0) chmodSync(backupDir, 0o700);
}

/** A short, stable tag of the folder (its real path), written into template copies' markers. */
export function folderTag(backupDir: string): string {
  let real = path.resolve(backupDir);
  try {
    real = realpathSync(backupDir);
  } catch {
    // not created yet: the resolved path is what it will be
  }
  return createHash('sha256').update(real).digest('hex').slice(0, 12);
}

/** Writes the manifest atomically (temporary file, fsync, rename), readable by its owner only. */
export function writeManifest(backupDir: string, manifest: BackupManifest): void {
  ensureBackupDir(backupDir);
  writeFileAtomicSync(manifestPath(backupDir, manifest.id), `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o600, durable: true, temporaryName: manifestTempName(manifest.id) });
}

const MAX_MANIFEST_BYTES = 16 * 1024 * 1024;

export type ManifestRead = { kind: 'missing' } | { kind: 'invalid'; reason: string } | { kind: 'ok'; manifest: BackupManifest };

export async function readManifest(backupDir: string, id: string): Promise<ManifestRead> {
  const file = manifestPath(backupDir, id);
  const stat = lstatSync(file, { throwIfNoEntry: false });
  if (!stat) return { kind: 'missing' };
  // Never follow a link or open a FIFO or device (a read could block or hand over another file).
  if (!stat.isFile()) return { kind: 'invalid', reason: 'not a regular file (dbkit writes only regular files)' };
  if (stat.size > MAX_MANIFEST_BYTES) return { kind: 'invalid', reason: `${stat.size} bytes: larger than any manifest dbkit writes` };
  const { parseManifest } = await loadSchema();
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    return { kind: 'invalid', reason: `unreadable (${error instanceof Error ? error.message : String(error)})` };
  }
  const parsed = parseManifest(text);
  if (!parsed.ok) return { kind: 'invalid', reason: parsed.reason };
  if (parsed.manifest.id !== id) return { kind: 'invalid', reason: `its id ${parsed.manifest.id} is not its file name` };
  return { kind: 'ok', manifest: parsed.manifest };
}

export interface StrayFile extends BackupFileName {
  name: string;
  sizeBytes: number;
}

export interface BackupFolder {
  /** Valid manifests of every status, newest first. */
  manifests: BackupManifest[];
  /** Files named like manifests that are not valid ones: reported, never acted on. */
  invalid: { file: string; reason: string }[];
  /** Archives, partial archives and temporary manifests that no manifest accounts for. */
  strays: StrayFile[];
}

export async function scanBackupDir(backupDir: string): Promise<BackupFolder> {
  const folder: BackupFolder = { manifests: [], invalid: [], strays: [] };
  if (!existsSync(backupDir)) return folder;
  const files = readdirSync(backupDir).map((name) => ({ name, parsed: classifyBackupFile(name) }));
  for (const { name, parsed } of files) {
    if (parsed?.kind !== 'manifest') continue;
    const read = await readManifest(backupDir, parsed.id);
    if (read.kind === 'ok') folder.manifests.push(read.manifest);
    else if (read.kind === 'invalid') folder.invalid.push({ file: name, reason: read.reason });
  }
  const known = new Set([...folder.manifests.map((m) => m.id), ...folder.invalid.map((i) => i.file.replace(/\.json$/, ''))]);
  for (const { name, parsed } of files) {
    if (!parsed || parsed.kind === 'manifest' || known.has(parsed.id)) continue;
    const stat = lstatSync(path.join(backupDir, name), { throwIfNoEntry: false });
    if (stat) folder.strays.push({ ...parsed, name, sizeBytes: stat.isFile() ? stat.size : 0 });
  }
  folder.manifests.sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : 0));
  return folder;
}

/** The finished backups (verified or not), newest first. Invalid and unfinished ones are left out. */
export async function listManifests(backupDir: string): Promise<BackupManifest[]> {
  return (await scanBackupDir(backupDir)).manifests.filter((m) => m.status === 'done');
}

/** The process taking the backup, if it is still running on this machine. */
export function writerAlive(manifest: BackupManifest): boolean {
  if (manifest.status !== 'taking' || !manifest.writer || manifest.writer.host !== os.hostname()) return false;
  if (manifest.writer.pid === process.pid) return true;
  try {
    process.kill(manifest.writer.pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function thisWriter(): { pid: number; host: string } {
  return { pid: process.pid, host: os.hostname() };
}

/**
 * The path of `name` when it is a regular file directly inside the backups folder (a symlink, a
 * folder or anything resolving elsewhere is refused with the reason); null when it does not exist.
 */
export function backupFileInFolder(backupDir: string, name: string): { ok: true; path: string | null } | { ok: false; reason: string } {
  if (name !== path.basename(name) || name === '..' || name === '.') return { ok: false, reason: `${JSON.stringify(name)} is not a plain file name` };
  const file = path.join(backupDir, name);
  const stat = lstatSync(file, { throwIfNoEntry: false });
  if (!stat) return { ok: true, path: null };
  if (stat.isSymbolicLink()) return { ok: false, reason: `${name} is a symbolic link (dbkit never creates one): left alone` };
  if (!stat.isFile()) return { ok: false, reason: `${name} is not a regular file: left alone` };
  if (path.dirname(realpathSync(file)) !== realpathSync(backupDir)) return { ok: false, reason: `${name} resolves outside the backup folder: left alone` };
  return { ok: true, path: file };
}

/**
 * The manifest a restore may use: valid, finished, verified, and (an archive) a regular file inside
 * the folder. Anything else is refused with the documented exit code before a connection is made.
 */
export async function loadRestorableManifest(backupDir: string, id: string, shownDir: string): Promise<BackupManifest> {
  const read = BACKUP_ID_PATTERN.test(id) ? await readManifest(backupDir, id) : ({ kind: 'missing' } as const);
  switch (read.kind) {
    case 'missing':
      throw new DbkitError('NOT_FOUND', `no backup with id "${id.slice(0, 80)}" in ${shownDir}/`, { hint: 'dbkit backups lists them (give the same --backup-dir / DBKIT_BACKUP_DIR). Nothing was changed.' });
    case 'invalid':
      throw new DbkitError('BACKUP_CORRUPT', `the manifest of backup ${id} in ${shownDir}/ is not a valid dbkit manifest: ${read.reason}`, { hint: 'nothing was restored; pick another backup (dbkit backups)' });
    case 'ok':
      break;
    default: {
      const unreachable: never = read;
      throw new Error(`unknown manifest read ${JSON.stringify(unreachable)}`);
    }
  }
  const { manifest } = read;
  if (manifest.status !== 'done') throw new DbkitError('BACKUP_CORRUPT', `backup ${id} never finished (it was interrupted while being taken)`, { hint: 'nothing was restored; pick another backup (dbkit backups); dbkit backups --keep N removes it' });
  if (!manifest.verified) throw new DbkitError('BACKUP_CORRUPT', `backup ${id} was never verified (${manifest.verification.detail})`, { hint: 'nothing was restored; pick a verified backup (dbkit backups)' });
  if (manifest.location.kind === 'file') {
    const archive = backupFileInFolder(backupDir, manifest.location.file);
    if (!archive.ok) throw new DbkitError('BACKUP_CORRUPT', `backup ${id} cannot be trusted: ${archive.reason}`, { hint: 'nothing was restored; pick another backup (dbkit backups)' });
  }
  return manifest;
}

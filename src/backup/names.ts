/**
 * The names dbkit gives to what a backup leaves behind, and the marker it writes on a template
 * copy. Pure: what dbkit could have created is decided from these alone, never from a manifest's
 * say-so (a manifest is a file anyone with access to the folder can forge).
 */
import { randomBytes } from 'node:crypto';

/** e.g. 20261122T023743Z-shop-7225: UTC time, the database name as a slug, 4 random hex digits. */
export const BACKUP_ID_PATTERN = /^\d{8}T\d{6}Z-[a-z0-9-]{1,24}-[0-9a-f]{4}$/;

/** The database slug an id carries (what it was a backup of, as far as a file name can say). */
export function databaseSlug(database: string): string {
  return database.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 24) || 'db';
}

export function newBackupId(database: string, now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  return `${stamp}-${databaseSlug(database)}-${randomBytes(2).toString('hex')}`;
}

export function slugOfId(id: string): string | null {
  return BACKUP_ID_PATTERN.test(id) ? id.slice(17, -5) : null;
}

/** Prefix of every template-copy database dbkit creates. */
export const BACKUP_DATABASE_PREFIX = 'dbkit_bk_';

/** Name of the database holding a template-copy backup (63-byte identifier limit). */
export function backupDatabaseName(id: string): string {
  return `${BACKUP_DATABASE_PREFIX}${id.replace(/[^a-zA-Z0-9]+/g, '_').toLowerCase()}`.slice(0, 63);
}

export const archiveName = (id: string) => `${id}.dump`;
/** The archive while pg_dump writes it: renamed to archiveName() once verified. */
export const partialArchiveName = (id: string) => `${id}.dump.partial`;
export const manifestName = (id: string) => `${id}.json`;
export const manifestTempName = (id: string) => `${id}.json.tmp`;

/** What a file in the backups folder is, by its name alone (null: not dbkit's, never touched). */
export type BackupFileName = { kind: 'manifest' | 'archive' | 'partial' | 'manifest-tmp'; id: string };

export function classifyBackupFile(name: string): BackupFileName | null {
  const match = /^(.+?)(\.json|\.dump|\.dump\.partial|\.json\.tmp)$/.exec(name);
  if (!match || !BACKUP_ID_PATTERN.test(match[1]!)) return null;
  const kinds = { '.json': 'manifest', '.dump': 'archive', '.dump.partial': 'partial', '.json.tmp': 'manifest-tmp' } as const;
  return { kind: kinds[match[2] as keyof typeof kinds], id: match[1]! };
}

/**
 * The COMMENT ON DATABASE a template copy carries: its backup id, the database it copies, and a
 * tag of the backups folder whose manifest describes it (so that another folder's backups on the
 * same server are never taken for leftovers).
 */
export function backupMarker(id: string, database: string, reason: string, folderTag: string): string {
  return `dbkit backup ${id} of ${database} (${reason.replace(/[\r\n]+/g, ' ')}) [folder ${folderTag}]`;
}

export interface ParsedMarker {
  id: string;
  /** null: written by a dbkit from before folder tags. */
  folderTag: string | null;
}

export function parseMarker(comment: string | null): ParsedMarker | null {
  const match = /^dbkit backup (\S+) of /.exec(comment ?? '');
  if (!match || !BACKUP_ID_PATTERN.test(match[1]!)) return null;
  const tag = /\[folder ([0-9a-f]{12})\]$/.exec(comment!);
  return { id: match[1]!, folderTag: tag ? tag[1]! : null };
}

/** True when `comment` is the marker of backup `id` (any folder). */
export function markerMatches(comment: string | null, id: string): boolean {
  return parseMarker(comment)?.id === id;
}

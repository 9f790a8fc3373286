/**
 * The shape of a backup manifest, checked with zod when it is read: a manifest is a file on disk,
 * so it is untrusted. Beyond types, it may only name what dbkit itself would have created for its
 * id: the archive <id>.dump in the same folder, or the database dbkit_bk_<id>. Loaded lazily
 * (zod costs ~80 ms to import, which `dbkit --help` should not pay).
 */
import { z } from 'zod';
import { TARGET_KINDS } from '../db/target.js';
import { BACKUP_ID_PATTERN, archiveName, backupDatabaseName } from './names.js';

export const BACKUP_STRATEGY_NAMES = ['pg_dump', 'template'] as const;
/** taking: written before the first byte of the backup; done: the backup finished (verified or not). */
export const MANIFEST_STATUSES = ['taking', 'done'] as const;

const count = z.number().int().nonnegative();

export const BackupManifestSchema = z
  .object({
    formatVersion: z.literal(1),
    id: z.string().regex(BACKUP_ID_PATTERN, 'not an id dbkit generates'),
    status: z.enum(MANIFEST_STATUSES).default('done'),
    /** The process taking the backup, while status is taking. */
    writer: z.object({ pid: z.number().int().positive(), host: z.string().max(255) }).nullable().default(null),
    createdAt: z.iso.datetime(),
    reason: z.string().max(1000),
    strategy: z.enum(BACKUP_STRATEGY_NAMES),
    source: z.object({
      database: z.string().min(1).max(63),
      url: z.string().max(2000),
      kind: z.enum(TARGET_KINDS),
      /** pg_control_system().system_identifier of the server (null when not readable). */
      systemIdentifier: z.string().regex(/^\d{1,20}$/).nullable().default(null),
    }),
    server: z.object({ version: z.string().max(100), versionNum: count }),
    migrations: z.array(z.string().max(500)),
    location: z.discriminatedUnion('kind', [
      z.object({ kind: z.literal('file'), file: z.string() }),
      z.object({ kind: z.literal('database'), database: z.string() }),
    ]),
    sizeBytes: count,
    checksum: z.string().regex(/^[0-9a-f]{64}$/).nullable(),
    fingerprint: z.string().max(200),
    rowCounts: z.record(z.string(), count),
    /** Per table: sum of the rows' keyed 64-bit hashes, computed by the server (template copies). */
    contentChecksums: z.record(z.string(), z.string().regex(/^-?\d{1,30}$/)).nullable().default(null),
    /** The secret key of those checksums. */
    contentChecksumKey: z.string().regex(/^[0-9a-f]{32}$/).nullable().default(null),
    verified: z.boolean(),
    verification: z.object({ method: z.string().max(1000), durationMs: z.number().nonnegative(), detail: z.string().max(5000) }),
    durationMs: z.number().nonnegative(),
    tool: z.string().max(200).nullable(),
  })
  .superRefine((m, ctx) => {
    const expected = m.location.kind === 'file' ? archiveName(m.id) : backupDatabaseName(m.id);
    const found = m.location.kind === 'file' ? m.location.file : m.location.database;
    if (found !== expected) {
      ctx.addIssue({ code: 'custom', path: ['location', m.location.kind === 'file' ? 'file' : 'database'], message: `must be ${JSON.stringify(expected)} for backup ${m.id} (dbkit names nothing else)` });
    }
    if ((m.strategy === 'pg_dump') !== (m.location.kind === 'file')) ctx.addIssue({ code: 'custom', path: ['location'], message: `does not fit strategy ${m.strategy}` });
    if (m.contentChecksums !== null && m.contentChecksumKey === null) ctx.addIssue({ code: 'custom', path: ['contentChecksumKey'], message: 'is missing for the content checksums' });
  });

export type BackupManifest = z.output<typeof BackupManifestSchema>;
export type BackupManifestInput = z.input<typeof BackupManifestSchema>;

/** Parses a manifest's text; the error is one line naming the first problems. */
export function parseManifest(text: string): { ok: true; manifest: BackupManifest } | { ok: false; reason: string } {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return { ok: false, reason: `not JSON (${error instanceof Error ? error.message : String(error)})` };
  }
  const result = BackupManifestSchema.safeParse(json);
  if (result.success) return { ok: true, manifest: result.data };
  const issues = result.error.issues.slice(0, 3).map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
  return { ok: false, reason: `${issues.join('; ')}${result.error.issues.length > 3 ? ` (+${result.error.issues.length - 3} more)` : ''}` };
}

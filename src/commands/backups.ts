/**
 * dbkit backups: the backups dbkit has taken (manifests in the backup folder), which database and
 * server each belongs to, and what killed runs left behind; --keep N prunes one database's.
 */
import type { Command } from 'commander';
import type { ResolvedConfig } from '../config.js';
import type { Reporter } from '../output/terminal.js';
import { scanBackupDir, writerAlive, type BackupManifest } from '../backup/manifest.js';
import { folderLeftovers, type Leftover } from '../backup/leftovers.js';
import { formatBytes } from '../core/duration.js';
import { runtimeFor, settingOption } from '../runtime.js';
import { DbkitError } from '../errors.js';
import { withDatabaseTarget } from '../embedded/target.js';
import { connectChecked, withMigrationLock } from '../migrations/session.js';
import { refuseThroughTransactionPooler } from '../core/pooler.js';
import { describePrune, pruneBackups, type PruneResult } from '../backup/prune.js';
import { lockOptionsFor } from '../migrations/lock-options.js';

export const BACKUP_STATUSES = ['verified', 'not verified', 'in progress', 'incomplete'] as const;
export type BackupStatus = (typeof BACKUP_STATUSES)[number];

export interface BackupListEntry {
  id: string;
  createdAt: string;
  reason: string;
  /** The database it is a backup of. */
  database: string;
  databaseKind: string;
  /** The server it was taken on: host:port, or "embedded" (URL redacted). */
  serverAddress: string;
  /** The cluster's system identifier (tells a recreated embedded cluster apart); null when unknown. */
  systemIdentifier: string | null;
  strategy: BackupManifest['strategy'];
  location: BackupManifest['location'];
  sizeBytes: number;
  /** PostgreSQL version of the server. */
  server: string;
  migrations: string[];
  verified: boolean;
  status: BackupStatus;
}

export interface BackupListing {
  backups: BackupListEntry[];
  /** Archives and partial archives without a manifest (killed runs, older dbkit versions). */
  strays: Leftover[];
  /** Files named like manifests that are not valid ones: never acted on. */
  invalid: { file: string; reason: string }[];
}

export function serverAddress(source: BackupManifest['source']): string {
  if (source.kind === 'embedded') return 'embedded';
  try {
    const url = new URL(source.url);
    return `${url.hostname || url.searchParams.get('host') || 'localhost'}:${url.port || '5432'}`;
  } catch {
    return source.url;
  }
}

function statusOf(m: BackupManifest): BackupStatus {
  if (m.status === 'taking') return writerAlive(m) ? 'in progress' : 'incomplete';
  return m.verified ? 'verified' : 'not verified';
}

export async function listBackups(config: ResolvedConfig): Promise<BackupListing> {
  const folder = await scanBackupDir(config.backupDir);
  return {
    backups: folder.manifests.map((m) => ({
      id: m.id,
      createdAt: m.createdAt,
      reason: m.reason,
      database: m.source.database,
      databaseKind: m.source.kind,
      serverAddress: serverAddress(m.source),
      systemIdentifier: m.source.systemIdentifier,
      strategy: m.strategy,
      location: m.location,
      sizeBytes: m.sizeBytes,
      server: m.server.version,
      migrations: m.migrations,
      verified: m.verified && m.status === 'done',
      status: statusOf(m),
    })),
    strays: folderLeftovers(folder, null).filter((l) => l.kind === 'file'),
    invalid: folder.invalid,
  };
}

/** Printable text from a file on disk: no control characters, bounded length. */
const safe = (text: string, max = 80) => text.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?').slice(0, max);

export function renderBackups(listing: BackupListing, reporter: Reporter): void {
  const c = reporter.color;
  const { backups: entries } = listing;
  if (entries.length === 0 && listing.strays.length === 0 && listing.invalid.length === 0) {
    reporter.info('No backups yet (dbkit apply takes one before changing anything).');
    return;
  }
  if (entries.length > 0) {
    const rows = entries.map((e) => [
      e.id,
      e.createdAt.replace('T', ' ').replace(/\.\d+Z$/, 'Z'),
      safe(e.database, 40),
      `${safe(e.serverAddress, 60)}${e.systemIdentifier ? ` #${e.systemIdentifier.slice(-6)}` : ''} (PG ${safe(e.server, 12)})`,
      formatBytes(e.sizeBytes),
      `${e.strategy}`,
      `${e.migrations.length} applied${e.migrations.length ? ` (last ${safe(e.migrations[e.migrations.length - 1]!)})` : ''}`,
      e.status === 'verified' ? 'verified' : e.status.toUpperCase(),
    ]);
    const header = ['ID', 'TAKEN', 'DATABASE', 'SERVER', 'SIZE', 'STRATEGY', 'MIGRATIONS AT THE TIME', 'STATUS'];
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
    const line = (cells: string[]) => cells.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd();
    reporter.info(c.bold(line(header)));
    for (const row of rows) reporter.info(row[7] === 'verified' ? line(row) : c.red(line(row)));
  }
  if (entries.some((e) => e.status === 'incomplete')) reporter.info('INCOMPLETE: interrupted while being taken (killed); dbkit backups --keep N removes them.');
  for (const stray of listing.strays) reporter.info(c.red(`incomplete: ${stray.name} (${stray.detail}, ${formatBytes(stray.sizeBytes ?? 0)}); dbkit backups --keep N --db <its database> removes it`));
  for (const bad of listing.invalid) reporter.warn(`ignored ${safe(bad.file)}: not a valid dbkit manifest (${safe(bad.reason, 200)}); dbkit never acts on it`);
}

/** --keep N: prunes the target database's backups down to its N newest verified ones. */
export function parseKeep(raw: string): number {
  if (!/^\d+$/.test(raw.trim()) || Number(raw) < 1) throw new DbkitError('USAGE', `--keep: '${raw}' is not a whole number >= 1`, { hint: 'e.g. dbkit backups --keep 5' });
  return Number(raw);
}

/** Prunes under the migration lock, so that no backup of the database is being taken meanwhile. */
export async function pruneTargetBackups(config: ResolvedConfig, keep: number, reporter: Reporter): Promise<PruneResult> {
  return withDatabaseTarget(config, reporter, async (target) => {
    // The lock is a session lock: through a transaction pooler it would stay on a server session other clients get.
    const { client, pooler } = await connectChecked(target);
    try {
      refuseThroughTransactionPooler(pooler, 'dbkit backups --keep', 'it prunes under a session lock, so that no backup of the database is taken meanwhile');
    } catch (error) {
      await client.end().catch(() => {});
      throw error;
    }
    // The checked connection becomes the lock's session (one connection, not two).
    return withMigrationLock(target, { ...lockOptionsFor(config, reporter, false), pooler }, () => pruneBackups(config.backupDir, target, keep), client);
  });
}

export function registerBackups(program: Command): void {
  const command = program.command('backups').description('List the backups dbkit has taken: id, time, database and server, size, migrations at the time, verified, incomplete or not.');
  command.option('--keep <n>', "prune the database's backups to its N newest verified ones, and remove what killed backups of it left (only what dbkit created)");
  settingOption(command, 'backupDir');
  command
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExamples:\n  $ npx dbkit backups\n  $ npx dbkit backups --keep 5 --db "$DATABASE_URL"')
    .action(async (opts: { keep?: string }, cmd: Command) => {
      const runtime = runtimeFor(cmd);
      const pruned = opts.keep === undefined ? null : await pruneTargetBackups(runtime.config, parseKeep(opts.keep), runtime.reporter);
      const listing = await listBackups(runtime.config);
      if (runtime.json) runtime.printJson({ command: 'backups', ...listing, pruned });
      else {
        if (pruned) runtime.reporter.info(describePrune(pruned));
        renderBackups(listing, runtime.reporter);
      }
      for (const f of pruned?.failed ?? []) runtime.reporter.warn(`could not remove ${f.id}: ${f.reason}`);
    });
}

/**
 * dbkit backups: the verified backups dbkit has taken (manifests in the backup folder).
 */
import type { Command } from 'commander';
import type { ResolvedConfig } from '../config.js';
import type { Reporter } from '../output/terminal.js';
import { listManifests, type BackupManifest } from '../backup/manifest.js';
import { formatBytes } from '../core/duration.js';
import { runtimeFor, settingOption } from '../runtime.js';
import { DbkitError } from '../errors.js';
import { withDatabaseTarget } from '../db/target.js';
import { describePrune, pruneBackups, type PruneResult } from '../backup/prune.js';

export interface BackupListEntry {
  id: string;
  createdAt: string;
  reason: string;
  database: string;
  databaseKind: string;
  strategy: BackupManifest['strategy'];
  location: BackupManifest['location'];
  sizeBytes: number;
  server: string;
  migrations: string[];
  verified: boolean;
}

export function listBackups(config: ResolvedConfig): BackupListEntry[] {
  return listManifests(config.backupDir).map((m) => ({
    id: m.id,
    createdAt: m.createdAt,
    reason: m.reason,
    database: m.source.database,
    databaseKind: m.source.kind,
    strategy: m.strategy,
    location: m.location,
    sizeBytes: m.sizeBytes,
    server: m.server.version,
    migrations: m.migrations,
    verified: m.verified,
  }));
}

export function renderBackups(entries: BackupListEntry[], reporter: Reporter): void {
  const c = reporter.color;
  if (entries.length === 0) {
    reporter.info('No backups yet (dbkit apply takes one before changing anything).');
    return;
  }
  const rows = entries.map((e) => [
    e.id,
    e.createdAt.replace('T', ' ').replace(/\.\d+Z$/, 'Z'),
    formatBytes(e.sizeBytes),
    `${e.strategy}`,
    `PG ${e.server}`,
    `${e.migrations.length} applied${e.migrations.length ? ` (last ${e.migrations[e.migrations.length - 1]})` : ''}`,
    e.verified ? 'verified' : 'NOT VERIFIED',
  ]);
  const header = ['ID', 'TAKEN', 'SIZE', 'STRATEGY', 'SERVER', 'MIGRATIONS AT THE TIME', 'STATUS'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd();
  reporter.info(c.bold(line(header)));
  for (const row of rows) reporter.info(row[6] === 'verified' ? line(row) : c.red(line(row)));
}

/** --keep N: prunes the target database's backups down to its N newest verified ones. */
export function parseKeep(raw: string): number {
  if (!/^\d+$/.test(raw.trim()) || Number(raw) < 1) throw new DbkitError('USAGE', `--keep: '${raw}' is not a whole number >= 1`, { hint: 'e.g. dbkit backups --keep 5' });
  return Number(raw);
}

export async function pruneTargetBackups(config: ResolvedConfig, keep: number, reporter: Reporter): Promise<PruneResult> {
  return withDatabaseTarget(config, reporter, (target) => pruneBackups(config.backupDir, target, keep));
}

export function registerBackups(program: Command): void {
  const command = program.command('backups').description('List the backups dbkit has taken: id, time, size, server, migrations at the time, verified or not.');
  command.option('--keep <n>', "prune the database's backups to its N newest verified ones (archives deleted, template copies dropped)");
  settingOption(command, 'backupDir');
  command
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExamples:\n  $ npx dbkit backups\n  $ npx dbkit backups --keep 5 --db "$DATABASE_URL"')
    .action(async (opts: { keep?: string }, cmd: Command) => {
      const runtime = runtimeFor(cmd);
      const pruned = opts.keep === undefined ? null : await pruneTargetBackups(runtime.config, parseKeep(opts.keep), runtime.reporter);
      const entries = listBackups(runtime.config);
      if (runtime.json) runtime.printJson({ command: 'backups', backups: entries, pruned });
      else {
        if (pruned) runtime.reporter.info(describePrune(pruned));
        renderBackups(entries, runtime.reporter);
      }
      for (const f of pruned?.failed ?? []) runtime.reporter.warn(`could not remove backup ${f.id}: ${f.reason}`);
    });
}

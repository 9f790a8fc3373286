/**
 * dbkit backup: a verified backup on demand, taken under the migration lock so that the
 * migration state it records is the one it holds (the step itself, shared with apply, rollback and
 * restore, is pipeline/backup-step.ts).
 */
import type { Command } from 'commander';
import type { ResolvedConfig } from '../config.js';
import type { Reporter, Step } from '../output/terminal.js';
import { withDatabaseTarget } from '../embedded/target.js';
import { type DatabaseTarget, databaseFacts } from '../db/target.js';
import { readApplied } from '../migrations/tracking.js';
import { checkPrivileges, connectStep, withMigrationLock } from '../migrations/session.js';
import { refuseBackupThroughPooler } from '../core/pooler.js';
import { chooseBackupStrategy, type BackupPlan } from '../backup/take.js';
import { backupNeeds } from '../backup/privileges.js';
import type { PruneResult } from '../backup/prune.js';
import { formatDuration } from '../core/duration.js';
import type { ErrorDocument } from '../output/errors.js';
import { runtimeFor, settingOption } from '../runtime.js';
import { backupInSession, backupSummary, type BackupSummary } from '../pipeline/backup-step.js';
import { lockOptionsFor } from '../migrations/lock-options.js';

export interface BackupReport {
  command: 'backup';
  ok: boolean;
  database: { url: string; kind: DatabaseTarget['kind']; name: string };
  server: { version: string; versionNum: number };
  /** Migrations applied when the backup was taken. */
  migrations: string[];
  backup: BackupSummary | null;
  /** What keepBackups pruning removed afterwards (null when the setting is 0). */
  pruned: PruneResult | null;
  error: ErrorDocument | null;
  durationMs: number;
}

export async function backupDatabase(config: ResolvedConfig, reporter: Reporter): Promise<BackupReport> {
  const started = performance.now();
  return withDatabaseTarget(config, reporter, async (target) => {
    const { client: probe, server, pooler } = await connectStep(target, reporter);
    let step: Step = reporter.step('pre-flight');
    let plan: BackupPlan;
    try {
      plan = chooseBackupStrategy(config.backupStrategy, server, config.pgBinDir);
      refuseBackupThroughPooler(pooler, plan.strategy, 'dbkit backup');
      await checkPrivileges(probe, server, { access: 'read', backupNeeds: backupNeeds(plan), purpose: 'dbkit backup' });
      step.done(`backup by ${plan.strategy === 'pg_dump' ? `pg_dump ${plan.dump.version}` : 'template copy'}`);
    } catch (error) {
      step.fail();
      throw error;
    } finally {
      await probe.end().catch(() => {});
    }
    const lockOptions = lockOptionsFor(config, reporter, plan.strategy === 'template');
    step = reporter.step('lock');
    return withMigrationLock(target, lockOptions, async (session) => {
      step.done();
      const migrations = (await readApplied(session.client)).map((a) => a.name);
      const { manifest, pruned } = await backupInSession(session, { config, target, server, plan, reason: 'on demand', migrations }, reporter);
      return {
        command: 'backup' as const,
        ok: true,
        database: databaseFacts(target),
        server: { version: server.version, versionNum: server.versionNum },
        migrations,
        backup: backupSummary(manifest),
        pruned,
        error: null,
        durationMs: performance.now() - started,
      };
    });
  });
}

export function registerBackup(program: Command): void {
  const command = program
    .command('backup')
    .description('Take a verified backup now (pg_dump archive or template copy), under the migration lock.');
  for (const name of ['backupStrategy', 'backupDir', 'lockWait'] as const) settingOption(command, name);
  command
    .option('--json', 'print one JSON document (shape in README) instead of progress lines')
    .addHelpText('after', '\nExamples:\n  $ npx dbkit backup\n  $ DBKIT_KEEP_BACKUPS=5 npx dbkit backup --db "$DATABASE_URL" --json')
    .action(async (_opts: unknown, cmd: Command) => {
      const runtime = runtimeFor(cmd);
      const report = await backupDatabase(runtime.config, runtime.reporter);
      runtime.finish(report, (r) => {
        if (r.backup) runtime.reporter.info(runtime.reporter.color.green(`Backup ${r.backup.id} taken and verified in ${formatDuration(r.durationMs)}.`) + ` dbkit restore ${r.backup.id} restores it into a new database.`);
      });
    });
}

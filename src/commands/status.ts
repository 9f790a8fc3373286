/**
 * dbkit status: applied and pending migrations, drift, RLS and policy counts, last backup, and
 * the validation counts of what is applied. Read-only.
 */
import type { Command } from 'commander';
import type { ResolvedConfig } from '../config.js';
import { DbkitError } from '../errors.js';
import type { Reporter } from '../output/terminal.js';
import { withDatabaseTarget, type DatabaseTarget, databaseFacts } from '../db/target.js';
import { withReadOnly } from '../db/scoped.js';
import { schemaSnapshot } from '../db/fingerprint.js';
import { listMigrationFiles } from '../migrations/files.js';
import { loadMigrations } from '../migrations/load.js';
import { readApplied } from '../migrations/tracking.js';
import { planMigrations, type Drift } from '../migrations/plan.js';
import { connectChecked, loadExpectations, runValidation } from '../migrations/session.js';
import { listManifests } from '../backup/manifest.js';
import type { CheckResult } from '../core/validation.js';
import { formatBytes } from '../core/duration.js';
import { errorDocument, type ErrorDocument } from '../output/errors.js';
import { runtimeFor, settingOption } from '../runtime.js';

export interface TableRlsStatus {
  table: string;
  rls: boolean;
  forced: boolean;
  policies: number;
}

export interface StatusReport {
  command: 'status';
  ok: boolean;
  database: { url: string; kind: DatabaseTarget['kind']; name: string };
  server: { version: string; versionNum: number };
  applied: { name: string; appliedAt: string }[];
  pending: string[];
  drift: Drift[];
  unrecorded: string[];
  rls: { tables: number; withRls: number; forced: number; policies: number; byTable: TableRlsStatus[] };
  lastBackup: { id: string; createdAt: string; strategy: string; sizeBytes: number; verified: boolean } | null;
  validation: CheckResult[];
  error: ErrorDocument | null;
}

export async function readStatus(config: ResolvedConfig, reporter: Reporter): Promise<StatusReport> {
  return withDatabaseTarget(config, reporter, async (target) => {
    const { client, server } = await connectChecked(target);
    try {
      const migrations = await loadMigrations(listMigrationFiles(config.migrationsDir, config.cwd), config.cwd);
      return await withReadOnly(client, async (ro) => {
        const appliedRows = await readApplied(ro);
        const plan = planMigrations(migrations, appliedRows);
        const snapshot = await schemaSnapshot(ro);
        const byTable = snapshot.relations
          .filter((r) => (r.kind === 'r' || r.kind === 'p') && r.name.startsWith('public.'))
          .map((r) => ({ table: r.name, rls: r.rls, forced: r.forceRls, policies: r.policies.length }));
        const expectations = await loadExpectations(config.migrationsDir);
        const validation = await runValidation(ro, expectations, plan.applied.filter((n) => migrations.some((m) => m.name === n)).map((migration) => ({ migration, when: 'applied' as const })));
        const backup = (await listManifests(config.backupDir)).find((m) => m.source.database === target.databaseName && m.source.kind === target.kind) ?? null;
        let error: ErrorDocument | null = null;
        if (plan.drift.length > 0) error = errorDocument(new DbkitError('DRIFT', `${plan.drift.length} applied migration(s) drifted: ${plan.drift.map((d) => d.message).join('; ')}`));
        else if (validation.some((v) => !v.ok)) error = errorDocument(new DbkitError('VALIDATION_FAILED', `validation failed: ${validation.filter((v) => !v.ok).map((v) => v.label).join('; ')}`));
        return {
          command: 'status' as const,
          ok: error === null,
          database: databaseFacts(target),
          server: { version: server.version, versionNum: server.versionNum },
          applied: appliedRows.map((a) => ({ name: a.name, appliedAt: a.runOn })),
          pending: plan.pending.map((m) => m.name),
          drift: plan.drift,
          unrecorded: plan.unrecorded,
          rls: {
            tables: byTable.length,
            withRls: byTable.filter((t) => t.rls).length,
            forced: byTable.filter((t) => t.forced).length,
            policies: byTable.reduce((n, t) => n + t.policies, 0),
            byTable,
          },
          lastBackup: backup ? { id: backup.id, createdAt: backup.createdAt, strategy: backup.strategy, sizeBytes: backup.sizeBytes, verified: backup.verified } : null,
          validation,
          error,
        };
      });
    } finally {
      await client.end().catch(() => {});
    }
  });
}

export function renderStatus(report: StatusReport, reporter: Reporter): void {
  const c = reporter.color;
  reporter.info(`${c.bold('Database')}  ${report.database.url}${report.database.kind === 'embedded' ? ' (embedded)' : ''}, PostgreSQL ${report.server.version}`);
  reporter.info(`${c.bold('Migrations')}  ${report.applied.length} applied, ${report.pending.length} pending`);
  for (const a of report.applied) {
    const drift = report.drift.find((d) => d.name === a.name);
    reporter.info(`  ${drift ? c.red('✗') : c.green('✓')} ${a.name}  ${c.dim(a.appliedAt)}${drift ? c.red(`  DRIFT: ${drift.message}`) : ''}`);
  }
  for (const name of report.pending) reporter.info(`  ${c.yellow('·')} ${name}  ${c.dim('pending')}`);
  const r = report.rls;
  reporter.info(`${c.bold('RLS')}  ${r.withRls}/${r.tables} public tables with RLS (${r.forced} forced), ${r.policies} policies`);
  for (const t of r.byTable) reporter.info(`  ${t.rls ? c.green('on ') : c.yellow('off')} ${t.forced ? 'forced' : '      '} ${String(t.policies).padStart(2)} policies  ${t.table}`);
  const b = report.lastBackup;
  reporter.info(`${c.bold('Last backup')}  ${b ? `${b.id} (${b.strategy}, ${formatBytes(b.sizeBytes)}, ${b.verified ? 'verified' : c.red('NOT verified')})` : 'none'}`);
  if (report.validation.length > 0) {
    const bad = report.validation.filter((v) => !v.ok);
    reporter.info(`${c.bold('Validation')}  ${report.validation.length - bad.length}/${report.validation.length} checks pass`);
    for (const v of bad) reporter.info(`  ${c.red('✗')} ${v.label}: expected ${v.expected}, found ${v.actual}`);
  }
}

export function registerStatus(program: Command): void {
  const command = program.command('status').description('Show applied and pending migrations, drift, RLS and policy counts, the last backup and validation counts (read-only).');
  settingOption(command, 'migrationsDir');
  settingOption(command, 'backupDir');
  command
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExamples:\n  $ npx dbkit status\n  $ npx dbkit status --db "$DATABASE_URL" --json')
    .action(async (_opts: unknown, cmd: Command) => {
      const runtime = runtimeFor(cmd);
      const report = await readStatus(runtime.config, runtime.reporter);
      runtime.finish(report, (r) => renderStatus(r, runtime.reporter));
    });
}

/**
 * dbkit status: applied and pending migrations, drift, RLS and policy counts, last backup, and
 * the validation counts of what is applied. Read-only.
 */
import type { Command } from 'commander';
import type { ResolvedConfig } from '../config.js';
import { DbkitError } from '../errors.js';
import type { Reporter } from '../output/terminal.js';
import { withDatabaseTarget } from '../embedded/target.js';
import { type DatabaseTarget, databaseFacts } from '../db/target.js';
import { withReadOnly } from '../db/scoped.js';
import { schemaSnapshot } from '../db/fingerprint.js';
import type { Drift, OutOfOrder } from '../migrations/plan.js';
import { checkPrivileges, connectChecked, loadExpectations, runValidation } from '../migrations/session.js';
import { loadMigrationContext, readState, type DatabaseState } from '../migrations/context.js';
import { describeHistory } from '../migrations/history.js';
import { readAdoptionMarks } from '../migrations/adopt.js';
import type { PartialMark } from '../migrations/partial.js';
import type { SkippedFile } from '../migrations/files.js';
import { listManifests } from '../backup/manifest.js';
import type { CheckResult } from '../core/validation.js';
import { formatBytes } from '../core/duration.js';
import { errorDocument, type ErrorDocument } from '../output/errors.js';
import { runtimeFor, settingOption } from '../runtime.js';
import { printable } from '../output/text.js';
import { describePooler, type PoolerFacts } from '../core/pooler.js';

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
  /** What sits between dbkit and the server: direct, a session pooler or a transaction pooler, and how that was told. */
  connection: PoolerFacts;
  applied: AppliedStatus[];
  pending: string[];
  drift: Drift[];
  unrecorded: string[];
  /** The history the folder's own tool keeps (public.pgmigrations, supabase_migrations.schema_migrations); null when none. */
  history: string | null;
  /** Applied according to dbkit's tracking but missing from that history. */
  historyConflicts: string[];
  /** Pending migrations that sort before an applied one (apply refuses them). */
  outOfOrder: OutOfOrder[];
  /** Migrations that failed part-way outside a transaction: between states until resolved. */
  partial: PartialMark[];
  /** Files in the folder that its tool skips (Supabase CLI naming rule). */
  skipped: SkippedFile[];
  rls: { tables: number; withRls: number; forced: number; policies: number; byTable: TableRlsStatus[] };
  lastBackup: { id: string; createdAt: string; strategy: string; sizeBytes: number; verified: boolean } | null;
  validation: CheckResult[];
  error: ErrorDocument | null;
}

export interface AppliedStatus {
  name: string;
  /** When it was applied (by the other tool, for an adopted migration, when that tool recorded it). */
  appliedAt: string | null;
  /** Applied by the folder's own tool: adopted from its history; recorded: already in dbkit's tracking (else the next apply records it). */
  adopted: { from: string; recorded: boolean } | null;
}

function appliedStatus(state: DatabaseState, marks: ReadonlyMap<string, string>): AppliedStatus[] {
  const foreignTime = new Map(state.history?.entries.map((e) => [e.key, e.appliedAt]) ?? []);
  const history = state.history ? describeHistory(state.history.source) : null;
  const recorded = state.tracked.map((row) => {
    const from = marks.get(row.name);
    return { name: row.name, appliedAt: (from ? foreignTime.get(row.name) : null) ?? row.runOn, adopted: from ? { from, recorded: true } : null };
  });
  const toAdopt = state.plan.adopt.map((a) => ({ name: a.name, appliedAt: a.appliedAt, adopted: { from: history ?? '', recorded: false } }));
  return [...recorded, ...toAdopt];
}

export async function readStatus(config: ResolvedConfig, reporter: Reporter): Promise<StatusReport> {
  return withDatabaseTarget(config, reporter, async (target) => {
    const { client, server, pooler } = await connectChecked(target);
    try {
      const context = await loadMigrationContext(config);
      const migrations = context.migrations;
      await checkPrivileges(client, server, { access: 'read', backupNeeds: [], purpose: 'dbkit status' });
      return await withReadOnly(client, async (ro) => {
        const state = await readState(ro, context);
        const { plan } = state;
        const applied = appliedStatus(state, await readAdoptionMarks(ro));
        const snapshot = await schemaSnapshot(ro);
        const byTable = snapshot.relations
          .filter((r) => (r.kind === 'r' || r.kind === 'p') && r.name.startsWith('public.'))
          .map((r) => ({ table: r.name, rls: r.rls, forced: r.forceRls, policies: r.policies.length }));
        const expectations = await loadExpectations(config.migrationsDir);
        const validation = await runValidation(ro, expectations, plan.applied.filter((n) => migrations.some((m) => m.name === n)).map((migration) => ({ migration, when: 'applied' as const })));
        const backup = (await listManifests(config.backupDir)).find((m) => m.source.database === target.databaseName && m.source.kind === target.kind) ?? null;
        const history = state.history ? describeHistory(state.history.source) : null;
        let error: ErrorDocument | null = null;
        if (plan.drift.length > 0) error = errorDocument(new DbkitError('DRIFT', `${plan.drift.length} applied migration(s) drifted: ${plan.drift.map((d) => d.message).join('; ')}`));
        else if (plan.historyConflicts.length > 0) {
          error = errorDocument(new DbkitError('HISTORY_CONFLICT', `${plan.historyConflicts.join(', ')}: applied according to dbkit's tracking but not according to ${history}`, { hint: 'dbkit apply and rollback refuse until the two agree; see README "Adopting an existing project"' }));
        } else if (state.partial.length > 0) {
          const p = state.partial[0]!;
          error = errorDocument(
            new DbkitError('MIGRATION_PARTIAL', `${state.partial.map((m) => m.name).join(', ')} failed part-way outside a transaction: ${p.stepsCommitted} of ${p.stepsTotal} steps committed`, {
              hint: p.backupId ? `restore the backup taken before it (dbkit restore ${p.backupId} --in-place), or finish or undo those steps by hand and run dbkit ${p.direction === 'up' ? 'apply' : 'rollback'} again` : `finish or undo those steps by hand, or restore a backup taken before it, and run dbkit ${p.direction === 'up' ? 'apply' : 'rollback'} again`,
            }),
          );
        } else if (validation.some((v) => !v.ok)) error = errorDocument(new DbkitError('VALIDATION_FAILED', `validation failed: ${validation.filter((v) => !v.ok).map((v) => v.label).join('; ')}`));
        return {
          command: 'status' as const,
          ok: error === null,
          database: databaseFacts(target),
          server: { version: server.version, versionNum: server.versionNum },
          connection: pooler,
          applied,
          pending: plan.pending.map((m) => m.name),
          drift: plan.drift,
          unrecorded: plan.unrecorded,
          history,
          historyConflicts: plan.historyConflicts,
          outOfOrder: plan.outOfOrder,
          partial: state.partial,
          skipped: context.folder.skipped,
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
  if (report.connection.path !== 'direct') reporter.info(`${c.bold('Connection')}  through ${describePooler(report.connection)} (${report.connection.evidence.join('; ')})`);
  const adopted = report.applied.filter((a) => a.adopted).length;
  reporter.info(`${c.bold('Migrations')}  ${report.applied.length} applied${adopted > 0 ? ` (${adopted} adopted)` : ''}, ${report.pending.length} pending${report.history ? `; history kept in step with ${report.history}` : ''}`);
  for (const s of report.skipped) reporter.info(`  ${c.dim(`- ${printable(s.file)}  skipped: ${printable(s.reason)}`)}`);
  for (const a of report.applied) {
    const drift = report.drift.find((d) => d.name === a.name);
    const conflict = report.historyConflicts.includes(a.name);
    const mark = a.adopted ? c.cyan(`  adopted from ${printable(a.adopted.from)}${a.adopted.recorded ? '' : ' (recorded by the next dbkit apply)'}`) : '';
    // Migration and table names, backup ids and labels come from the database and files: printed through printable.
    reporter.info(`  ${drift || conflict ? c.red('✗') : c.green('✓')} ${printable(a.name)}  ${c.dim(printable(a.appliedAt ?? ''))}${mark}${drift ? c.red(`  DRIFT: ${printable(drift.message)}`) : ''}${conflict ? c.red(`  not in ${printable(report.history ?? '')}`) : ''}`);
  }
  for (const d of report.drift.filter((x) => !report.applied.some((a) => a.name === x.name))) reporter.info(`  ${c.red('✗')} ${printable(d.message)}`);
  for (const p of report.partial) {
    reporter.info(`  ${c.red('!')} ${printable(p.name)}  ${c.red(`failed part-way outside a transaction (${p.direction}) at ${printable(p.failedAt)}: ${p.stepsCommitted} of ${p.stepsTotal} steps committed`)}`);
  }
  for (const name of report.pending) {
    const early = report.outOfOrder.find((o) => o.name === name);
    reporter.info(`  ${c.yellow('·')} ${printable(name)}  ${c.dim('pending')}${early ? c.red(`  sorts before ${printable(early.before)}, which is applied`) : ''}`);
  }
  const r = report.rls;
  reporter.info(`${c.bold('RLS')}  ${r.withRls}/${r.tables} public tables with RLS (${r.forced} forced), ${r.policies} policies`);
  for (const t of r.byTable) reporter.info(`  ${t.rls ? c.green('on ') : c.yellow('off')} ${t.forced ? 'forced' : '      '} ${String(t.policies).padStart(2)} policies  ${printable(t.table)}`);
  const b = report.lastBackup;
  reporter.info(`${c.bold('Last backup')}  ${b ? `${printable(b.id)} (${printable(b.strategy)}, ${formatBytes(b.sizeBytes)}, ${b.verified ? 'verified' : c.red('NOT verified')})` : 'none'}`);
  if (report.validation.length > 0) {
    const bad = report.validation.filter((v) => !v.ok);
    reporter.info(`${c.bold('Validation')}  ${report.validation.length - bad.length}/${report.validation.length} checks pass`);
    for (const v of bad) reporter.info(`  ${c.red('✗')} ${printable(`${v.label}: expected ${v.expected}, found ${v.actual}`)}`);
  }
}

export function registerStatus(program: Command): void {
  const command = program.command('status').description('Show applied and pending migrations, drift, RLS and policy counts, the last backup and validation counts (read-only).');
  for (const name of ['migrationsDir', 'ignorePattern', 'migrationsSchema', 'migrationsTable', 'backupDir'] as const) settingOption(command, name);
  command
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExamples:\n  $ npx dbkit status\n  $ npx dbkit status --db "$DATABASE_URL" --json')
    .action(async (_opts: unknown, cmd: Command) => {
      const runtime = runtimeFor(cmd);
      const report = await readStatus(runtime.config, runtime.reporter);
      runtime.finish(report, (r) => renderStatus(r, runtime.reporter));
    });
}

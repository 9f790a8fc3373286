/**
 * dbkit restore <backup-id>: into a new database (default; the live one is untouched), or
 * --in-place after a confirmation and a fresh backup of what it replaces. The backup is proved
 * intact before anything is restored, and the result proved equal to the manifest (schema
 * fingerprint and every table's row count) before it counts as restored.
 */
import type { Command } from 'commander';
import path from 'node:path';
import type pg from 'pg';
import type { ResolvedConfig } from '../config.js';
import { DbkitError, errorMessage } from '../errors.js';
import { assertPrivileges } from '../db/privileges.js';
import type { PrivilegeNeed } from '../core/privileges.js';
import { backupNeeds } from '../backup/privileges.js';
import type { Reporter, Step } from '../output/terminal.js';
import { withDatabaseTarget } from '../embedded/target.js';
import type { DatabaseTarget } from '../db/target.js';
import { describeTarget } from '../db/target.js';
import { withClient } from '../db/scoped.js';
import { withDatabase } from '../db/connect.js';
import { quoteIdent, quoteLiteral, type ServerInfo } from '../db/catalog.js';
import { readApplied } from '../migrations/tracking.js';
import { connectStep, withMigrationLock } from '../migrations/session.js';
import { refuseInPlaceThroughPooler, refuseThroughTransactionPooler } from '../core/pooler.js';
import { backupDatabaseName, loadRestorableManifest, type BackupManifest } from '../backup/manifest.js';
import { findPgTool, type PgTool } from '../backup/pg-tools.js';
import { chooseBackupStrategy, type BackupPlan } from '../backup/take.js';
import { systemIdentifier } from '../backup/template.js';
import { maintenanceDatabase } from '../db/connect.js';
import { checkArchive, checkCopy, cloneDatabase, proveClone, databaseAlreadyExists, databaseExists, isDuplicateDatabase, restoreArchive, swapDatabases, type IntegrityCheck } from '../backup/restore.js';
import { checkDatabaseName, defaultRestoreName, requiredRestoreMajor, type FactsComparison } from '../core/restore-plan.js';
import { formatDuration } from '../core/duration.js';
import { confirm } from '../output/confirm.js';
import type { ErrorDocument } from '../output/errors.js';
import { runtimeFor, settingOption } from '../runtime.js';
import { backupInSession, backupSummary, type BackupSummary } from '../pipeline/backup-step.js';
import { redactUrl } from '../core/redact.js';
import { lockOptionsFor } from '../migrations/lock-options.js';

export const RESTORE_MODES = ['into', 'in-place'] as const;
export type RestoreMode = (typeof RESTORE_MODES)[number];

export interface RestoreOptions {
  backupId: string;
  /** Name of the new database (mode into); null picks <database>_restored_<backup time>. */
  into: string | null;
  inPlace: boolean;
  yes: boolean;
}

export interface RestoreReport {
  command: 'restore';
  ok: boolean;
  mode: RestoreMode;
  backup: { id: string; createdAt: string; strategy: BackupManifest['strategy']; source: BackupManifest['source']; migrations: string[] };
  /** Where the backup was restored to: the new database, or the live one (in place). */
  database: { url: string; kind: DatabaseTarget['kind']; name: string };
  server: { version: string; versionNum: number };
  /** How the backup was proved intact before anything was restored. */
  integrity: IntegrityCheck | null;
  /** In place: the backup of what was replaced, taken first. */
  preRestoreBackup: BackupSummary | null;
  /** The restored database compared with the manifest. */
  proof: FactsComparison | null;
  error: ErrorDocument | null;
  durationMs: number;
}

interface Prepared {
  manifest: BackupManifest;
  server: ServerInfo;
  name: string;
  restoreTool: PgTool | null;
  freshPlan: BackupPlan | null;
  liveOwner: string;
  locale: string;
}

async function preflight(probe: pg.Client, server: ServerInfo, config: ResolvedConfig, target: DatabaseTarget, manifest: BackupManifest, options: RestoreOptions): Promise<Prepared> {
  const name = options.inPlace ? target.databaseName : (options.into ?? defaultRestoreName(manifest.id, manifest.source.database));
  if (options.inPlace && manifest.source.database !== target.databaseName) {
    throw new DbkitError('USAGE', `backup ${manifest.id} is of database "${manifest.source.database}", not "${target.databaseName}": refusing to restore it in place`, { hint: `restore it into a new database instead: dbkit restore ${manifest.id} --into <name>` });
  }
  if (!options.inPlace) {
    checkDatabaseName(name);
    if (await databaseExists(probe, name)) throw databaseAlreadyExists(name);
  }
  let restoreTool: PgTool | null = null;
  if (manifest.strategy === 'pg_dump') {
    const major = requiredRestoreMajor(manifest.tool, server.versionNum);
    restoreTool = findPgTool('pg_restore', major, config.pgBinDir);
    if (!restoreTool) {
      throw new DbkitError('PG_TOOLS_MISSING', `no pg_restore ${major} or newer found: backup ${manifest.id} was taken with ${manifest.tool ?? 'pg_dump'} and the server is PostgreSQL ${server.version}`, {
        hint: `install the PostgreSQL ${major} client tools and point DBKIT_PG_BIN at them. Nothing was changed.`,
      });
    }
  } else if (manifest.location.kind === 'database') {
    const here = await systemIdentifier(probe);
    const recorded = manifest.source.systemIdentifier;
    if (recorded !== null && here !== null && recorded !== here) {
      throw new DbkitError('NOT_FOUND', `backup ${manifest.id} is a template copy inside another PostgreSQL cluster (system ${recorded}; this is ${here}): that cluster was deleted (dbkit db reset) or the URL now points elsewhere`, {
        hint: 'point --db at the server the backup was taken on, or pick another backup (dbkit backups). Nothing was changed.',
      });
    }
    if (!(await databaseExists(probe, manifest.location.database))) {
      throw new DbkitError('NOT_FOUND', `backup database "${manifest.location.database}" of backup ${manifest.id} is not on this server (the backup was taken on ${manifest.source.url})`, { hint: 'point --db at the server the backup was taken on. Nothing was changed.' });
    }
  }
  const freshPlan = options.inPlace ? chooseBackupStrategy(config.backupStrategy, server, config.pgBinDir) : null;
  if (!server.superuser) {
    // A new database (or a clone of a template copy) takes CREATEDB; in place, a verified backup of
    // the live database comes first, then the database is replaced.
    const needs: PrivilegeNeed[] = !options.inPlace || manifest.strategy === 'template' ? [{ on: 'attribute', attribute: 'CREATEDB' }] : [];
    if (freshPlan) needs.push(...backupNeeds(freshPlan), { on: 'database-owner', why: 'an in-place restore replaces it' });
    await assertPrivileges(probe, needs, options.inPlace ? 'dbkit restore --in-place' : 'dbkit restore');
  }
  const { rows } = await probe.query<{ owner: string; locale: string }>(
    `SELECT pg_get_userbyid(datdba) AS owner,
            CASE WHEN datlocprovider = 'c' THEN format(' ENCODING %L LC_COLLATE %L LC_CTYPE %L', pg_encoding_to_char(encoding), datcollate, datctype) ELSE '' END AS locale
       FROM pg_database WHERE datname = current_database()`,
  );
  return { manifest, server, name, restoreTool, freshPlan, liveOwner: rows[0]?.owner ?? server.user, locale: rows[0]?.locale ?? '' };
}

/** Proves the backup intact; for an archive, also says which file was proved (inside the backup folder). */
async function checkIntegrity(config: ResolvedConfig, target: DatabaseTarget, p: Prepared): Promise<IntegrityCheck & { file?: string }> {
  const { manifest } = p;
  if (manifest.location.kind === 'file') return checkArchive(manifest, config.backupDir, p.restoreTool!);
  return checkCopy(manifest, target.url, manifest.location.database, target.connectTimeoutMs);
}

async function restoreIntoNew(config: ResolvedConfig, target: DatabaseTarget, p: Prepared, archive: string | null, reporter: Reporter): Promise<FactsComparison> {
  const newUrl = withDatabase(target.url, p.name);
  // The live database is only read from here: CREATE DATABASE can run on a connection to it.
  const serverUrl = target.url;
  const connectOptions = { connectTimeoutMs: target.connectTimeoutMs };
  // Only ever the database this restore created itself.
  const drop = () =>
    withClient(serverUrl, connectOptions, (m) => m.query(`DROP DATABASE IF EXISTS ${quoteIdent(p.name)}`)).catch((error: unknown) =>
      reporter.warn(`could not drop the half-restored database ${p.name} (${firstLine(error)}): drop it yourself`),
    );
  const { manifest } = p;
  if (manifest.location.kind === 'file') {
    await withClient(serverUrl, connectOptions, (m) => m.query(`CREATE DATABASE ${quoteIdent(p.name)} TEMPLATE template0${p.locale}`)).catch((error: unknown) => {
      throw isDuplicateDatabase(error) ? databaseAlreadyExists(p.name) : error;
    });
    try {
      return await restoreArchive(newUrl, p.restoreTool!, archive!, manifest, { wipe: false, lockTimeoutMs: config.lockTimeoutMs, connectTimeoutMs: target.connectTimeoutMs });
    } catch (error) {
      await drop();
      throw error;
    }
  }
  const copy = manifest.location.database;
  await withClient(serverUrl, connectOptions, (m) => cloneDatabase(m, copy, p.name, null));
  try {
    return await proveClone(manifest, newUrl, target.connectTimeoutMs);
  } catch (error) {
    await drop();
    throw error;
  }
}

export async function restoreBackup(config: ResolvedConfig, options: RestoreOptions, reporter: Reporter): Promise<RestoreReport> {
  const started = performance.now();
  if (options.inPlace && options.into !== null) throw new DbkitError('USAGE', '--into and --in-place cannot be combined', { hint: '--into <name> restores into a new database; --in-place replaces the current one' });
  const manifest = await loadRestorableManifest(config.backupDir, options.backupId, path.relative(config.cwd, config.backupDir) || config.backupDir);
  return withDatabaseTarget(config, reporter, async (target) => {
    const { client: probe, server, pooler } = await connectStep(target, reporter);
    let step: Step;
    let prepared: Prepared;
    step = reporter.step('pre-flight');
    try {
      refuseThroughTransactionPooler(pooler, 'dbkit restore', 'it creates, fills, proves and swaps databases, which needs sessions of its own and no pooled connections left open on them');
      if (options.inPlace) refuseInPlaceThroughPooler(pooler);
      prepared = await preflight(probe, server, config, target, manifest, options);
    } catch (error) {
      step.fail();
      throw error;
    } finally {
      await probe.end().catch(() => {});
    }
    const m = manifest;
    step.done(`backup ${m.id} (${m.strategy}, taken ${m.createdAt}, ${m.migrations.length} migrations applied); restoring ${options.inPlace ? `IN PLACE over ${target.databaseName}` : `into new database ${prepared.name}`}`);
    const report: RestoreReport = {
      command: 'restore',
      ok: false,
      mode: options.inPlace ? 'in-place' : 'into',
      backup: { id: m.id, createdAt: m.createdAt, strategy: m.strategy, source: m.source, migrations: m.migrations },
      database: { url: redactUrl(withDatabase(target.url, prepared.name)), kind: target.kind, name: prepared.name },
      server: { version: server.version, versionNum: server.versionNum },
      integrity: null,
      preRestoreBackup: null,
      proof: null,
      error: null,
      durationMs: 0,
    };
    step = reporter.step('check backup');
    let archive: string | null = null;
    try {
      const { file, ...integrity } = await checkIntegrity(config, target, prepared);
      report.integrity = integrity;
      archive = file ?? null;
    } catch (error) {
      step.fail();
      throw error;
    }
    step.done(report.integrity.detail);

    if (!options.inPlace) {
      step = reporter.step(`restore into ${prepared.name}`);
      try {
        report.proof = await restoreIntoNew(config, target, prepared, archive, reporter);
      } catch (error) {
        step.fail();
        throw error;
      }
      step.done(report.proof.detail);
    } else {
      await confirm(
        `Replace the contents of ${describeTarget(target)} with backup ${m.id} (taken ${m.createdAt}, last migration ${m.migrations[m.migrations.length - 1] ?? 'none'})?\nA verified backup of what it holds now is taken first.`,
        { yes: options.yes },
      );
      report.proof = await restoreInPlace(config, target, prepared, archive, report, reporter);
    }
    report.ok = true;
    report.durationMs = performance.now() - started;
    return report;
  });
}

async function restoreInPlace(config: ResolvedConfig, target: DatabaseTarget, p: Prepared, archive: string | null, report: RestoreReport, reporter: Reporter): Promise<FactsComparison> {
  const { manifest } = p;
  const freshPlan = p.freshPlan!;
  const exclusiveCopy = freshPlan.strategy === 'template' || manifest.strategy === 'template';
  const lockOptions = lockOptionsFor(config, reporter, exclusiveCopy);
  let step = reporter.step('lock');
  return withMigrationLock(target, lockOptions, async (session) => {
    step.done();
    const migrations = (await readApplied(session.client)).map((a) => a.name);
    const fresh = await backupInSession(session, { config, target, server: p.server, plan: freshPlan, reason: `before restoring ${manifest.id} in place`, migrations, protect: [manifest.id] }, reporter);
    report.preRestoreBackup = backupSummary(fresh.manifest);
    step = reporter.step(`restore over ${target.databaseName}`);
    try {
      const proof =
        manifest.location.kind === 'file'
          ? await restoreArchive(target.url, p.restoreTool!, archive!, manifest, { wipe: true, lockTimeoutMs: config.lockTimeoutMs, connectTimeoutMs: target.connectTimeoutMs })
          : await session.withoutTargetConnection(() => swapInCopy(target, manifest.location.kind === 'database' ? manifest.location.database : '', p, reporter));
      step.done(proof.detail);
      return proof;
    } catch (error) {
      step.fail();
      throw error;
    }
  });
}

const firstLine = (error: unknown): string => errorMessage(error).split('\n')[0] ?? '';

/** Template backups in place: clone the copy, prove the clone, then swap it in for the live database. */
async function swapInCopy(target: DatabaseTarget, copy: string, p: Prepared, reporter: Reporter): Promise<FactsComparison> {
  const stamp = backupDatabaseName(p.manifest.id).replace(/^dbkit_bk_/, '');
  const staging = `dbkit_rs_${stamp}`.slice(0, 63);
  const retired = `dbkit_old_${stamp}`.slice(0, 63);
  const maintenanceUrl = withDatabase(target.url, maintenanceDatabase(target.databaseName));
  return withClient(maintenanceUrl, { connectTimeoutMs: target.connectTimeoutMs }, async (maintenance) => {
    await maintenance.query(`DROP DATABASE IF EXISTS ${quoteIdent(staging)}`);
    await cloneDatabase(maintenance, copy, staging, p.liveOwner);
    let proof: FactsComparison;
    try {
      proof = await proveClone(p.manifest, withDatabase(target.url, staging), target.connectTimeoutMs);
      await swapDatabases(maintenance, target.databaseName, staging, retired);
    } catch (error) {
      await maintenance.query(`DROP DATABASE IF EXISTS ${quoteIdent(staging)}`).catch((dropError: unknown) => reporter.warn(`could not drop the half-restored copy ${staging} (${firstLine(dropError)}): drop it yourself`));
      throw error;
    }
    await maintenance
      .query(`COMMENT ON DATABASE ${quoteIdent(target.databaseName)} IS ${quoteLiteral(`restored by dbkit from backup ${p.manifest.id}`)}`)
      .catch((error: unknown) => reporter.warn(`restored, but could not label ${target.databaseName} with the backup it came from (${firstLine(error)})`));
    await maintenance.query(`DROP DATABASE ${quoteIdent(retired)}`).catch((error: unknown) => reporter.warn(`the replaced database was kept as ${retired} (${firstLine(error)}): drop it once you no longer need it`));
    return proof;
  });
}

export function renderRestoreSummary(report: RestoreReport, reporter: Reporter): void {
  if (!report.ok || !report.proof) return;
  const c = reporter.color;
  const took = formatDuration(report.durationMs);
  if (report.mode === 'into') {
    reporter.info(`${c.green(`Restored backup ${report.backup.id} into database ${report.database.name} in ${took}.`)} The live database was not touched.`);
    reporter.info(`  ${report.database.url}`);
  } else {
    reporter.info(`${c.green(`Replaced the contents of ${report.database.name} with backup ${report.backup.id} in ${took}.`)}${report.preRestoreBackup ? ` What it held before is backup ${report.preRestoreBackup.id} (dbkit restore ${report.preRestoreBackup.id} --in-place undoes this).` : ''}`);
  }
}

export function registerRestore(program: Command): void {
  const command = program
    .command('restore')
    .description('Restore a backup into a new database (default) or --in-place; the backup is checked before and the result proved equal to its manifest after.')
    .argument('<backup-id>', 'the id dbkit backups shows')
    .option('--into <name>', 'name of the new database to restore into [default: <database>_restored_<backup time>]')
    .option('--in-place', 'replace the contents of the current database (after a confirmation and a fresh backup)', false)
    .option('-y, --yes', 'do not ask for confirmation (required for --in-place when not in an interactive terminal)', false);
  for (const name of ['backupDir', 'lockTimeout', 'lockWait'] as const) settingOption(command, name);
  command
    .option('--json', 'print one JSON document (shape in README) instead of progress lines')
    .addHelpText('after', '\nExamples:\n  $ npx dbkit restore 20261122T022932Z-dbkit-26ba --into dbkit_check\n  $ npx dbkit restore 20261122T022932Z-dbkit-26ba --in-place --yes --db "$DATABASE_URL"')
    .action(async (backupId: string, opts: { into?: string; inPlace: boolean; yes: boolean }, cmd: Command) => {
      const runtime = runtimeFor(cmd);
      const report = await restoreBackup(runtime.config, { backupId, into: opts.into ?? null, inPlace: opts.inPlace, yes: opts.yes }, runtime.reporter);
      runtime.finish(report, (r) => renderRestoreSummary(r, runtime.reporter));
    });
}

/**
 * Benchmark: backup, verification and restore for each strategy on the machine (pg_dump and
 * template copy on the DATABASE_URL server, template copy on an embedded PostgreSQL 17 cluster),
 * on a brownfield CreatorOS database holding 1,000,000 contents rows; and rollback of the whole
 * migration set against apply of the whole set on the same data (ratio).
 *
 *   npm run bench:backup                       # 1,000,000 rows
 *   npm run bench:backup -- --rows 100000      # quicker
 *
 * The baseline, in the same run: the same backup and restore done by hand (pg_dump -Fc and
 * pg_restore, or CREATE DATABASE ... TEMPLATE), with no verification and no proof; the ratios show
 * what dbkit's checks cost. Uses the work functions dbkit's commands call (not the CLI), each on
 * its own database, and cleans up everything it creates.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { resolveConfig, type BackupStrategyChoice, type ResolvedConfig } from '../../src/config.ts';
import { quietReporter } from '../../src/output/terminal.ts';
import { applyMigrations } from '../../src/commands/apply.ts';
import { rollbackMigrations } from '../../src/commands/rollback.ts';
import { backupDatabase } from '../../src/commands/backup.ts';
import { restoreBackup } from '../../src/commands/restore.ts';
import { readManifest } from '../../src/backup/manifest.ts';
import { contentChecksums } from '../../src/backup/template.ts';
import { acquireEmbedded, destroyEmbedded } from '../../src/embedded/cluster.ts';
import { findPgTool, libpqEnv } from '../../src/backup/pg-tools.ts';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { formatBytes, formatDuration } from '../../src/core/duration.ts';
import { quoteIdent } from '../../src/core/sql.ts';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const rowsArg = process.argv.indexOf('--rows');
const ROWS = rowsArg > 0 ? Number(process.argv[rowsArg + 1]) : 1_000_000;
const ROUNDS = 3;
const silent = quietReporter(new Writable({ write: (_chunk, _encoding, done) => done() }));
const workDir = mkdtempSync(path.join(os.tmpdir(), 'dbkit-bench-backup-'));

function log(line: string): void {
  process.stdout.write(`${line}\n`);
}

async function admin<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

function withDb(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

function configFor(url: string, strategy: BackupStrategyChoice): ResolvedConfig {
  return resolveConfig({ cwd: ROOT, flags: { databaseUrl: url, backupStrategy: strategy }, env: { DBKIT_STATE_DIR: workDir, DBKIT_BACKUP_DIR: path.join(workDir, 'backups') }, dotenv: {}, file: null, fileName: null });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function seed(url: string): Promise<void> {
  await admin(url, async (c) => {
    await c.query(readFileSync(path.join(ROOT, 'test/fixtures/v070-brownfield.sql'), 'utf8'));
    await c.query(`INSERT INTO public.contents (project_id, slug, title, content_type, content, sequence_order, status)
      SELECT '44444444-4444-4444-8444-444444444444', 'bench-' || g, 'Lesson ' || g, 'course_lesson',
             md5(g::text) || ' ' || md5((g + 1)::text) || ' ' || md5((g + 2)::text), g, CASE WHEN g % 3 = 0 THEN 'published' ELSE 'draft' END
        FROM generate_series(1, ${ROWS}) g`);
    await c.query('VACUUM ANALYZE');
  });
}

interface StrategyRow {
  server: string;
  strategy: string;
  /** The same work without dbkit: pg_dump -Fc / pg_restore, or CREATE DATABASE ... TEMPLATE. */
  plainBackupMs: number;
  plainRestoreMs: number;
  backupMs: number;
  verifyMs: number;
  sizeBytes: number;
  checkMs: number;
  restoreMs: number;
  /** Per-table content checksums alone (template copies; 0 for archives, whose sha256 covers them). */
  checksumMs: number;
}

interface MigrationRow {
  server: string;
  applyMs: number;
  rollbackMs: number;
}

async function benchServer(label: string, serverUrl: string, strategies: BackupStrategyChoice[], rows: StrategyRow[], migrations: MigrationRow[]): Promise<void> {
  const name = `dbkit_bench_${randomBytes(3).toString('hex')}`;
  const url = withDb(serverUrl, name);
  const created: string[] = [name];
  await admin(serverUrl, (c) => c.query(`CREATE DATABASE ${quoteIdent(name)}`));
  try {
    let started = performance.now();
    await seed(url);
    const size = await admin(url, async (c) => Number((await c.query<{ s: string }>('SELECT pg_database_size(current_database()) AS s')).rows[0]!.s));
    log(`${label}: seeded ${ROWS.toLocaleString('en')} contents rows (${formatBytes(size)}) in ${formatDuration(performance.now() - started)}`);

    const config = configFor(url, 'auto');
    const applies: number[] = [];
    const rollbacks: number[] = [];
    for (let round = 0; round < ROUNDS; round += 1) {
      started = performance.now();
      const applied = await applyMigrations(config, { dryRun: false, backup: false }, silent);
      if (!applied.ok) throw new Error(`apply failed: ${applied.error?.message}`);
      applies.push(performance.now() - started);
      started = performance.now();
      const rolled = await rollbackMigrations(config, { selection: { kind: 'all' }, backup: false, force: false, yes: true }, silent);
      if (!rolled.ok) throw new Error(`rollback failed: ${rolled.error?.message}`);
      rollbacks.push(performance.now() - started);
    }
    migrations.push({ server: label, applyMs: median(applies), rollbackMs: median(rollbacks) });
    log(`${label}: apply ${applies.map((t) => formatDuration(t)).join(', ')}; rollback --all ${rollbacks.map((t) => formatDuration(t)).join(', ')}`);
    const final = await applyMigrations(config, { dryRun: false, backup: false }, silent);
    if (!final.ok) throw new Error(`apply failed: ${final.error?.message}`);

    for (const strategy of strategies) {
      const plain = await plainBaseline(serverUrl, name, strategy, created);
      const strategyConfig = configFor(url, strategy);
      const taken = await backupDatabase(strategyConfig, silent);
      const read = await readManifest(strategyConfig.backupDir, taken.backup!.id);
      if (read.kind !== 'ok') throw new Error(`manifest of ${taken.backup!.id}: ${read.kind}`);
      const { manifest } = read;
      // What the per-table content checksums (template copies) cost on their own, timed apart.
      let checksumMs = 0;
      if (manifest.location.kind === 'database') {
        const copyUrl = withDb(serverUrl, manifest.location.database);
        checksumMs = await admin(copyUrl, async (c) => {
          await c.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
          const t0 = performance.now();
          await contentChecksums(c, manifest.contentChecksumKey!);
          const took = performance.now() - t0;
          await c.query('COMMIT');
          return took;
        });
      }
      if (manifest.location.kind === 'database') created.push(manifest.location.database);
      const into = `${name}_r_${strategy}`.replace(/[^a-z0-9_]/g, '_');
      created.push(into);
      const restored = await restoreBackup(strategyConfig, { backupId: manifest.id, into, inPlace: false, yes: true }, silent);
      if (!restored.ok || !restored.proof?.ok) throw new Error(`restore failed: ${restored.error?.message}`);
      const checkMs = restored.integrity?.durationMs ?? 0;
      rows.push({ server: label, strategy: manifest.strategy, ...plain, backupMs: manifest.durationMs, verifyMs: manifest.verification.durationMs, sizeBytes: manifest.sizeBytes, checkMs, restoreMs: restored.durationMs, checksumMs });
      log(`${label}: ${manifest.strategy} backup ${formatDuration(manifest.durationMs)}, restore ${formatDuration(restored.durationMs)} (${restored.proof.detail})`);
    }
  } finally {
    await admin(serverUrl, async (c) => {
      for (const db of created) await c.query(`DROP DATABASE IF EXISTS ${quoteIdent(db)} WITH (FORCE)`);
    });
  }
}

const run = promisify(execFile);

/** The baseline: the same backup and restore by hand, with no verification and no proof. */
async function plainBaseline(serverUrl: string, name: string, strategy: BackupStrategyChoice, created: string[]): Promise<{ plainBackupMs: number; plainRestoreMs: number }> {
  const copy = `${name}_plain_${strategy}`.replace(/[^a-z0-9_]/g, '_');
  created.push(copy);
  if (strategy === 'template') {
    let started = performance.now();
    await admin(serverUrl, (c) => c.query(`CREATE DATABASE ${quoteIdent(`${copy}_bk`)} TEMPLATE ${quoteIdent(name)}`));
    created.push(`${copy}_bk`);
    const plainBackupMs = performance.now() - started;
    started = performance.now();
    await admin(serverUrl, (c) => c.query(`CREATE DATABASE ${quoteIdent(copy)} TEMPLATE ${quoteIdent(`${copy}_bk`)}`));
    return { plainBackupMs, plainRestoreMs: performance.now() - started };
  }
  const major = await admin(serverUrl, async (c) => Math.floor(Number((await c.query<{ v: string }>("SELECT current_setting('server_version_num') AS v")).rows[0]!.v) / 10_000));
  const dump = findPgTool('pg_dump', major, null)!;
  const restore = findPgTool('pg_restore', major, null)!;
  const file = path.join(workDir, `${copy}.dump`);
  let started = performance.now();
  await run(dump.path, ['--format=custom', `--file=${file}`], { env: { ...process.env, ...libpqEnv(withDb(serverUrl, name)) } });
  const plainBackupMs = performance.now() - started;
  started = performance.now();
  await admin(serverUrl, (c) => c.query(`CREATE DATABASE ${quoteIdent(copy)} TEMPLATE template0`));
  await run(restore.path, ['--exit-on-error', `--dbname=${copy}`, file], { env: { ...process.env, ...libpqEnv(withDb(serverUrl, copy)) } });
  rmSync(file, { force: true });
  return { plainBackupMs, plainRestoreMs: performance.now() - started };
}

function table(header: string[], body: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n');
}

async function main(): Promise<void> {
  const external = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const rows: StrategyRow[] = [];
  const migrations: MigrationRow[] = [];
  const embeddedDir = path.join(workDir, 'embedded-state');
  log(`dbkit backup benchmark: ${ROWS.toLocaleString('en')} contents rows, ${os.cpus().length} CPUs`);
  try {
    const version = await admin(external, async (c) => (await c.query<{ v: string }>("SELECT split_part(current_setting('server_version'), ' ', 1) AS v")).rows[0]!.v);
    await benchServer(`external PG ${version}`, external, ['pg_dump', 'template'], rows, migrations);
    const lease = await acquireEmbedded(embeddedDir);
    try {
      await benchServer('embedded PG 17', withDb(lease.url, 'postgres'), ['template'], rows, migrations);
    } finally {
      await lease.release();
      await destroyEmbedded(embeddedDir).catch(() => false);
    }
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
  log('');
  log('backup and restore: dbkit (verified, proved) vs plain (pg_dump -Fc / pg_restore, or CREATE DATABASE ... TEMPLATE, unchecked)');
  log(
    table(
      ['server', 'strategy', 'size', 'backup', 'of which verify', 'plain', 'vs plain', 'restore', 'of which check', 'plain', 'vs plain'],
      rows.map((r) => [
        r.server,
        r.strategy,
        formatBytes(r.sizeBytes),
        formatDuration(r.backupMs),
        formatDuration(r.verifyMs),
        formatDuration(r.plainBackupMs),
        `${(r.backupMs / r.plainBackupMs).toFixed(2)}x`,
        formatDuration(r.restoreMs),
        formatDuration(r.checkMs),
        formatDuration(r.plainRestoreMs),
        `${(r.restoreMs / r.plainRestoreMs).toFixed(2)}x`,
      ]),
    ),
  );
  log('');
  log('');
  log('content checksums of template copies (computed once on the copy when the backup is taken, once on the clone when restoring)');
  log(
    table(
      ['server', 'strategy', 'checksums', 'plain copy', 'checksums / plain copy', 'share of dbkit backup'],
      rows.filter((r) => r.checksumMs > 0).map((r) => [r.server, r.strategy, formatDuration(r.checksumMs), formatDuration(r.plainBackupMs), `${(r.checksumMs / r.plainBackupMs).toFixed(2)}x`, `${((r.checksumMs / r.backupMs) * 100).toFixed(0)}%`]),
    ),
  );
  log('');
  log(table(['server', 'set', `apply (median of ${ROUNDS})`, `rollback --all (median of ${ROUNDS})`, 'rollback / apply'], migrations.map((m) => [m.server, '4 migrations', formatDuration(m.applyMs), formatDuration(m.rollbackMs), `${(m.rollbackMs / m.applyMs).toFixed(2)}x`])));
}

await main();

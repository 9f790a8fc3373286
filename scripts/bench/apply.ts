/**
 * Benchmark of `dbkit apply`: the whole CreatorOS migration set applied by dbkit (the library
 * function applyMigrations, backup off) vs the same migrations applied by plain node-pg-migrate
 * `runner`, on the same server in the same run, each in a fresh database every repetition, the
 * order alternating. Then the cost of the backup on the freshly migrated database, and the start-up
 * time of `dbkit --help` vs `node -e 0`.
 *
 *   npx tsx scripts/bench/apply.ts        (npm run bench:apply; needs `npm run build` for --help)
 *   DATABASE_URL=postgres://...  BENCH_REPS=7  BENCH_STARTUP_RUNS=15
 *
 * Runs on the DATABASE_URL server (default postgres://postgres@127.0.0.1:5432/postgres) and on an
 * embedded PostgreSQL 17 cluster it starts in a temporary folder.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runner } from 'node-pg-migrate';
import { resolveConfig, type ResolvedConfig } from '../../src/config.ts';
import { applyMigrations } from '../../src/commands/apply.ts';
import { acquireEmbedded, destroyEmbedded } from '../../src/embedded/cluster.ts';
import { connectChecked } from '../../src/migrations/session.ts';
import { chooseBackupStrategy, takeBackup, type BackupPlan } from '../../src/backup/take.ts';
import { redactUrl } from '../../src/core/redact.ts';
import { databaseNameOf } from '../../src/db/connect.ts';
import { formatBytes } from '../../src/core/duration.ts';
import { listMigrationFiles } from '../../src/migrations/files.ts';
import { median, ms, ratio, recordingReporter, serverVersion, table, timed, urlFor, withAdmin, withScratchDatabase } from './support.ts';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const MIGRATIONS_DIR = path.join(ROOT, 'migrations');
const BIN = path.join(ROOT, 'bin', 'dbkit.js');
const NPM_BIN = path.join(ROOT, 'node_modules', 'node-pg-migrate', 'bin', 'node-pg-migrate.js');
const PRELOAD_PARSER = path.join(ROOT, 'scripts', 'bench', 'preload-sql-parser.mjs');
const REPS = Number(process.env.BENCH_REPS ?? 7);
const BACKUP_REPS = Number(process.env.BENCH_BACKUP_REPS ?? 3);
const STARTUP_RUNS = Number(process.env.BENCH_STARTUP_RUNS ?? 15);
const TARGET_RATIO = 1.3;
const MIGRATION_COUNT = listMigrationFiles(MIGRATIONS_DIR, ROOT).length;
const silent = { debug() {}, info() {}, warn() {}, error() {} };

interface Server {
  label: string;
  adminUrl: string;
  backupStrategies: BackupPlan['strategy'][];
}

function configFor(url: string, backupDir: string): ResolvedConfig {
  return resolveConfig({ cwd: ROOT, flags: { databaseUrl: url, backupDir }, env: {}, dotenv: {}, file: null, fileName: null });
}

async function dbkitApply(url: string, backupDir: string): Promise<{ ms: number; steps: Map<string, number> }> {
  const reporter = recordingReporter();
  const { ms: elapsed, result: report } = await timed(() => applyMigrations(configFor(url, backupDir), { dryRun: false, backup: false }, reporter));
  if (!report.ok || report.migrations.length !== MIGRATION_COUNT) throw new Error(`dbkit apply did not apply the set: ${report.error?.message ?? report.migrations.map((m) => `${m.name} ${m.status}`).join(', ')}`);
  return { ms: elapsed, steps: reporter.steps };
}

async function baselineApply(url: string): Promise<{ ms: number }> {
  const { ms: elapsed, result } = await timed(() =>
    runner({
      databaseUrl: url,
      dir: MIGRATIONS_DIR,
      direction: 'up',
      count: Number.POSITIVE_INFINITY,
      migrationsSchema: 'dbkit',
      migrationsTable: 'migrations',
      createMigrationsSchema: true,
      // one transaction per migration, as dbkit does
      singleTransaction: false,
      logger: silent,
    }),
  );
  if (result.length !== MIGRATION_COUNT) throw new Error(`node-pg-migrate applied ${result.length} migrations, expected ${MIGRATION_COUNT}`);
  return { ms: elapsed };
}

type Contender = (url: string) => Promise<{ ms: number; steps?: Map<string, number> }>;

interface Comparison {
  dbkit: number[];
  baseline: number[];
  ratios: number[];
  steps: Map<string, number[]>;
}

/** `dbkit` vs `baseline`, each in its own fresh database, the order alternating between repetitions. */
async function compare(server: Server, label: string, dbkit: Contender, baseline: Contender): Promise<Comparison> {
  // One unmeasured run of each first (loading modules, the server's catalog caches).
  await withScratchDatabase(server.adminUrl, (url) => dbkit(url));
  await withScratchDatabase(server.adminUrl, (url) => baseline(url));
  const figures: Comparison = { dbkit: [], baseline: [], ratios: [], steps: new Map() };
  for (let rep = 0; rep < REPS; rep += 1) {
    let dbkitMs = 0;
    let baselineMs = 0;
    const runDbkit = () =>
      withScratchDatabase(server.adminUrl, async (url) => {
        const run = await dbkit(url);
        dbkitMs = run.ms;
        for (const [step, t] of run.steps ?? []) figures.steps.set(step, [...(figures.steps.get(step) ?? []), t]);
      });
    const runBaseline = () => withScratchDatabase(server.adminUrl, async (url) => void (baselineMs = (await baseline(url)).ms));
    for (const run of rep % 2 === 0 ? [runDbkit, runBaseline] : [runBaseline, runDbkit]) await run();
    figures.dbkit.push(dbkitMs);
    figures.baseline.push(baselineMs);
    figures.ratios.push(dbkitMs / baselineMs);
    process.stderr.write(`  ${server.label} ${label} rep ${rep + 1}/${REPS}: dbkit ${ms(dbkitMs)}, node-pg-migrate ${ms(baselineMs)}\n`);
  }
  return figures;
}

/** The built CLIs as users run them, each a new process. */
function cliContenders(backupDir: string): { dbkit: Contender; baseline: Contender } {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('DBKIT_') && k !== 'DATABASE_URL') env[k] = v;
  const run = (args: string[], extraEnv: Record<string, string>) => {
    const started = performance.now();
    const result = spawnSync(process.execPath, args, { cwd: ROOT, encoding: 'utf8', env: { ...env, ...extraEnv, NO_COLOR: '1' } });
    const elapsed = performance.now() - started;
    if (result.status !== 0) throw new Error(`${args.slice(0, 2).join(' ')} exited with ${result.status}: ${result.stderr.trim().split('\n').slice(-3).join(' | ')}`);
    return { ms: elapsed };
  };
  // Checked after the clock stops: a run that applied nothing must not count as fast.
  const applied = async (url: string, timing: { ms: number }) => {
    const n = await withAdmin(url, async (c) => (await c.query<{ n: number }>('SELECT count(*)::int AS n FROM dbkit.migrations')).rows[0]!.n);
    if (n !== MIGRATION_COUNT) throw new Error(`${n} migrations recorded, expected ${MIGRATION_COUNT}`);
    return timing;
  };
  return {
    dbkit: async (url) => applied(url, run([BIN, 'apply', '--no-backup', '--json'], { DATABASE_URL: url, DBKIT_BACKUP_DIR: backupDir })),
    baseline: async (url) =>
      applied(url, run(['--import', PRELOAD_PARSER, NPM_BIN, 'up', '-m', 'migrations', '--migrations-schema', 'dbkit', '-t', 'migrations', '--create-migrations-schema', '--no-single-transaction', '--no-verbose'], { DATABASE_URL: url })),
  };
}

interface BackupFigures {
  strategy: BackupPlan['strategy'];
  times: number[];
  sizeBytes: number;
  detail: string;
}

async function measureBackup(server: Server, strategy: BackupPlan['strategy'], backupDir: string): Promise<BackupFigures> {
  const figures: BackupFigures = { strategy, times: [], sizeBytes: 0, detail: '' };
  for (let rep = 0; rep < BACKUP_REPS; rep += 1) {
    await withScratchDatabase(server.adminUrl, async (url) => {
      await dbkitApply(url, backupDir);
      const target = { kind: 'external' as const, url, redactedUrl: redactUrl(url), databaseName: databaseNameOf(url), connectTimeoutMs: 10_000 };
      const { client, server: info } = await connectChecked(target);
      await client.end();
      const plan = chooseBackupStrategy(strategy, info, null);
      const { ms: elapsed, result: manifest } = await timed(() => takeBackup({ config: configFor(url, backupDir), target, server: info, plan, reason: 'bench', migrations: [] }));
      figures.times.push(elapsed);
      figures.sizeBytes = manifest.sizeBytes;
      figures.detail = manifest.verification.detail;
    });
  }
  return figures;
}

function startupTimes(): { dbkit: number; node: number } {
  const dbkit: number[] = [];
  const node: number[] = [];
  const time = (args: string[]) => {
    const started = performance.now();
    const result = spawnSync(process.execPath, args, { cwd: ROOT, stdio: 'ignore', env: { ...process.env, NO_COLOR: '1' } });
    if (result.status !== 0) throw new Error(`node ${args.join(' ')} exited with ${result.status}`);
    return performance.now() - started;
  };
  time([BIN, '--help']);
  for (let i = 0; i < STARTUP_RUNS; i += 1) {
    if (i % 2 === 0) {
      dbkit.push(time([BIN, '--help']));
      node.push(time(['-e', '0']));
    } else {
      node.push(time(['-e', '0']));
      dbkit.push(time([BIN, '--help']));
    }
  }
  return { dbkit: median(dbkit), node: median(node) };
}

interface ServerResult {
  server: Server;
  version: string;
  library: Comparison;
  cli: Comparison | null;
  backups: BackupFigures[];
}

function comparisonRow(label: string, c: Comparison): string[] {
  const r = median(c.ratios);
  return [label, ms(median(c.dbkit)), ms(median(c.baseline)), ms(median(c.dbkit) - median(c.baseline)), ratio(r, 3), `${ratio(Math.min(...c.ratios))} - ${ratio(Math.max(...c.ratios))}`, r <= TARGET_RATIO ? 'met' : 'NOT met'];
}

function render(results: ServerResult[], startup: { dbkit: number; node: number } | null): string {
  const name = (r: ServerResult) => `${r.server.label} PG ${r.version}`;
  const out: string[] = [];
  out.push(`\ndbkit apply benchmark: ${REPS} repetitions per row, each run in a fresh database, order alternating, one unmeasured warm-up each.`);
  out.push(`Machine: ${os.cpus().length} CPUs, load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')} at the end (shared machine: expect noise).\n`);
  out.push(`Whole migration set (${MIGRATION_COUNT} migrations), backup off, dbkit vs node-pg-migrate (medians; ratio = median of per-repetition ratios)`);
  const header = ['server / how', 'dbkit', 'node-pg-migrate', 'overhead', 'ratio', 'ratio range', `target <= ${TARGET_RATIO}x`];
  const rows = results.flatMap((r) => [comparisonRow(`${name(r)}, library (applyMigrations vs runner)`, r.library), ...(r.cli ? [comparisonRow(`${name(r)}, CLI process (apply --no-backup vs node-pg-migrate up)`, r.cli)] : [])]);
  out.push(table(header, rows));
  out.push('\nWhere dbkit spends its time (library runs, median per step; the rest is between steps: closing and reopening connections, tracking DDL, reading the plan again)');
  const stepNames = [...new Set(results.flatMap((r) => [...r.library.steps.keys()]))];
  const stepRows = stepNames.map((step) => [step, ...results.map((r) => ms(median(r.library.steps.get(step) ?? [])))]);
  const sumOf = (r: ServerResult) => median(r.library.dbkit) - stepNames.reduce((sum, step) => sum + median(r.library.steps.get(step) ?? []), 0);
  out.push(table(['step', ...results.map(name)], [...stepRows, ['(between steps)', ...results.map((r) => ms(sumOf(r)))], ['total', ...results.map((r) => ms(median(r.library.dbkit)))]]));
  out.push(`\nBackup of the freshly migrated database, taken and verified (median of ${BACKUP_REPS}; excluded from the figures above)`);
  out.push(
    table(
      ['server', 'strategy', 'time', 'size', 'vs dbkit apply', 'verification'],
      results.flatMap((r) => r.backups.map((b) => [name(r), b.strategy, ms(median(b.times)), formatBytes(b.sizeBytes), ratio(median(b.times) / median(r.library.dbkit)), b.detail])),
    ),
  );
  out.push(`\nStart-up (median of ${STARTUP_RUNS} runs each, alternating)`);
  if (startup) out.push(table(['command', 'time', 'ratio'], [['node -e 0', ms(startup.node), ratio(1)], ['node bin/dbkit.js --help', ms(startup.dbkit), ratio(startup.dbkit / startup.node)]]));
  else out.push('  skipped: dist/ is missing (run npm run build)');
  return `${out.join('\n')}\n`;
}

/** Stops the embedded cluster and deletes it, wherever its data lives. */
async function removeCluster(stateDir: string): Promise<void> {
  await destroyEmbedded(stateDir).catch((error) => process.stderr.write(`could not stop the embedded cluster: ${String(error)}\n`));
  rmSync(stateDir, { recursive: true, force: true });
}

async function main(): Promise<void> {
  const externalUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const built = existsSync(path.join(ROOT, 'dist', 'src', 'cli.js'));
  if (!built) process.stderr.write('dist/ is missing: the CLI rows and the start-up figures are skipped (run npm run build)\n');
  const stateDir = mkdtempSync(path.join(os.tmpdir(), 'dbkit-bench-'));
  const backupDir = path.join(stateDir, 'backups');
  const results: ServerResult[] = [];
  // Interrupted, or a connection without an error listener (node-pg-migrate's) dropped: never leave the cluster running.
  process.once('SIGINT', () => void removeCluster(stateDir).finally(() => process.exit(130)));
  process.once('uncaughtException', (error) => {
    process.stderr.write(`bench failed: ${error.stack ?? error.message}\n`);
    void removeCluster(stateDir).finally(() => process.exit(1));
  });
  try {
    process.stderr.write(`Starting an embedded PostgreSQL 17 cluster in ${stateDir} ...\n`);
    const lease = await acquireEmbedded(stateDir, { persistent: true });
    await lease.release();
    const servers: Server[] = [
      { label: 'external', adminUrl: externalUrl, backupStrategies: ['pg_dump', 'template'] },
      { label: 'embedded', adminUrl: urlFor(lease.url, 'postgres'), backupStrategies: ['template'] },
    ];
    for (const server of servers) {
      const version = await serverVersion(server.adminUrl);
      process.stderr.write(`${server.label} PostgreSQL ${version} (${redactUrl(server.adminUrl)})\n`);
      const library = await compare(server, 'library', (url) => dbkitApply(url, backupDir), baselineApply);
      const cliRuns = cliContenders(backupDir);
      const cli = built ? await compare(server, 'CLI', cliRuns.dbkit, cliRuns.baseline) : null;
      const backups: BackupFigures[] = [];
      for (const strategy of server.backupStrategies) backups.push(await measureBackup(server, strategy, backupDir));
      results.push({ server, version, library, cli, backups });
    }
  } finally {
    await removeCluster(stateDir);
  }
  process.stdout.write(render(results, built ? startupTimes() : null));
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});

/**
 * Benchmark of `dbkit rehearse`: the CreatorOS migration set (on the v0.7.0 brownfield schema)
 * and the rehearsal fixture set (test/fixtures/rehearse/), each on a database with 1,000,000
 * contents rows. For every repetition, on two template copies of the same prepared database:
 * the pending migrations applied plainly by node-pg-migrate's runner (the baseline), and the
 * same migrations rehearsed by dbkit (each statement observed: lock poller, lock snapshot,
 * relfilenodes and scan counters). Prints each migration's observed lock time and the ratio
 * rehearsal / plain apply (target <= 1.5x without --traffic), median of BENCH_REPS.
 *
 *   npx tsx scripts/bench/rehearse.ts     (npm run bench:rehearse)
 *   DATABASE_URL=postgres://...  BENCH_REPS=3  BENCH_ROWS=1000000
 *
 * Runs on the DATABASE_URL server (default postgres://postgres@127.0.0.1:5432/postgres) and on an
 * embedded PostgreSQL 17 cluster it starts in a temporary folder.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runner } from 'node-pg-migrate';
import { resolveConfig } from '../../src/config.ts';
import { acquireEmbedded, destroyEmbedded } from '../../src/embedded/cluster.ts';
import { redactUrl } from '../../src/core/redact.ts';
import { formatDuration } from '../../src/core/duration.ts';
import { rehearseOn, type RehearseReport } from '../../src/rehearse/rehearse.ts';
import { strongestLocks } from '../../src/rehearse/wording.ts';
import { LOCK_NAMES } from '../../src/rehearse/locks.ts';
import type { DatabaseTarget } from '../../src/db/target.ts';
import { median, ms, ratio, recordingReporter, serverVersion, table, timed, urlFor, withAdmin, withScratchDatabase } from './support.ts';
import { quoteIdent } from '../../src/core/sql.ts';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const REPS = Number(process.env.BENCH_REPS ?? 3);
const ROWS = Number(process.env.BENCH_ROWS ?? 1_000_000);
const TARGET_RATIO = 1.5;
const silent = { debug() {}, info() {}, warn() {}, error() {} };

interface MigrationSet {
  label: string;
  dir: string;
  /** Brings a fresh database to the state the rehearsal starts from (ROWS contents rows). */
  prepare(url: string): Promise<void>;
}

const SETS: MigrationSet[] = [
  {
    label: 'CreatorOS',
    dir: path.join(ROOT, 'migrations'),
    async prepare(url) {
      await withAdmin(url, async (c) => {
        await c.query(readFileSync(path.join(ROOT, 'test/fixtures/v070-brownfield.sql'), 'utf8'));
        await c.query(
          `INSERT INTO public.contents (project_id, slug, title, content_type, content, sequence_order, status)
           SELECT (SELECT id FROM public.content_projects ORDER BY slug LIMIT 1), 'bench-' || g, 'Lesson ' || g, 'lesson', repeat('x', 200), g, 'published'
             FROM generate_series(1, $1::int) g`,
          [ROWS],
        );
        await c.query('VACUUM ANALYZE');
      });
    },
  },
  {
    label: 'fixtures',
    dir: path.join(ROOT, 'test/fixtures/rehearse/migrations'),
    async prepare(url) {
      // The seed (001) is applied: the other fifteen are what is rehearsed.
      process.env.DBKIT_REHEARSE_FIXTURE_ROWS = String(ROWS);
      await runner({ databaseUrl: url, dir: path.join(ROOT, 'test/fixtures/rehearse/migrations'), direction: 'up', count: 1, migrationsSchema: 'dbkit', migrationsTable: 'migrations', createMigrationsSchema: true, logger: silent });
      await withAdmin(url, (c) => c.query('VACUUM ANALYZE'));
    },
  },
];

async function withCopy<T>(adminUrl: string, source: string, fn: (url: string) => Promise<T>): Promise<T> {
  const name = `bench_rh_${randomBytes(4).toString('hex')}`;
  await withAdmin(adminUrl, (c) => c.query(`CREATE DATABASE ${quoteIdent(name)} TEMPLATE ${quoteIdent(source)}`));
  try {
    return await fn(urlFor(adminUrl, name));
  } finally {
    await withAdmin(adminUrl, (c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
  }
}

async function plainApply(url: string, dir: string): Promise<number> {
  const { ms: elapsed } = await timed(() =>
    runner({ databaseUrl: url, dir, direction: 'up', count: Number.POSITIVE_INFINITY, migrationsSchema: 'dbkit', migrationsTable: 'migrations', createMigrationsSchema: true, singleTransaction: false, logger: silent }),
  );
  return elapsed;
}

async function rehearsal(url: string, name: string, dir: string): Promise<{ total: number; migrations: number; report: RehearseReport }> {
  const config = resolveConfig({ cwd: ROOT, flags: { databaseUrl: url, migrationsDir: dir }, env: {}, dotenv: {}, file: null, fileName: null });
  const target: DatabaseTarget = { kind: 'external', url, redactedUrl: redactUrl(url), databaseName: name, connectTimeoutMs: 10_000 };
  const { ms: total, result: report } = await timed(() => rehearseOn(config, target, { from: 'template', traffic: false, onTarget: false, thresholds: [] }, recordingReporter()));
  if (!report.ok || report.migrations.some((m) => m.status !== 'rehearsed')) throw new Error(`rehearsal failed: ${report.error?.message ?? '?'}`);
  return { total, migrations: report.migrations.reduce((sum, m) => sum + m.durationMs, 0), report };
}

interface Result {
  server: string;
  set: string;
  plain: number[];
  rehearsed: number[];
  total: number[];
  report: RehearseReport;
}

async function measure(serverLabel: string, adminUrl: string, set: MigrationSet): Promise<Result> {
  return withScratchDatabase(adminUrl, async (url, name) => {
    process.stderr.write(`  ${set.label}: preparing ${ROWS.toLocaleString('en-US')} contents rows ...\n`);
    await set.prepare(url);
    const result: Result = { server: serverLabel, set: set.label, plain: [], rehearsed: [], total: [], report: null as unknown as RehearseReport };
    for (let rep = 0; rep < REPS; rep++) {
      const runs = [
        async () => result.plain.push(await withCopy(adminUrl, name, (copy) => plainApply(copy, set.dir))),
        async () => {
          const r = await rehearsal(url, name, set.dir);
          result.rehearsed.push(r.migrations);
          result.total.push(r.total);
          result.report = r.report;
        },
      ];
      // Alternate the order, so neither always runs on a warmer cache.
      for (const run of rep % 2 === 0 ? runs : runs.reverse()) await run();
      process.stderr.write(`    rep ${rep + 1}: plain ${ms(result.plain.at(-1)!)}, rehearsed ${ms(result.rehearsed.at(-1)!)} (whole command ${ms(result.total.at(-1)!)})\n`);
    }
    return result;
  });
}

function render(results: readonly Result[]): string {
  const out: string[] = [`Rehearsal vs plain apply on a copy with ${ROWS.toLocaleString('en-US')} contents rows (median of ${REPS}; target <= ${TARGET_RATIO}x)`];
  out.push(
    table(
      ['server', 'set', 'plain apply', 'rehearsal', 'ratio', 'whole command', 'ratio'],
      results.map((r) => [r.server, r.set, ms(median(r.plain)), ms(median(r.rehearsed)), ratio(median(r.rehearsed) / median(r.plain)), ms(median(r.total)), ratio(median(r.total) / median(r.plain))]),
    ),
  );
  out.push('\n"rehearsal": rendering and running the migrations with every statement observed (poller, snapshot, catalog reads); "whole command": plus connecting, planning, the template copy and dropping it.');
  for (const r of results) {
    out.push(`\nObserved locks, ${r.server}, ${r.set} (last repetition; strongest lock per table that existed before the migration)`);
    const rows = r.report.migrations.flatMap((m) => {
      const locks = strongestLocks(m.statements);
      if (locks.length === 0) return [[m.name, '-', '-', '-', formatDuration(m.durationMs)]];
      return locks.slice(0, 3).map((l, i) => [i === 0 ? m.name : '', LOCK_NAMES[l.mode], l.relation.name, formatDuration(l.heldMs), i === 0 ? formatDuration(m.durationMs) : '']);
    });
    out.push(table(['migration', 'lock', 'table', 'held', 'migration'], rows));
  }
  return `${out.join('\n')}\n`;
}

async function main(): Promise<void> {
  const externalUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const stateDir = mkdtempSync(path.join(os.tmpdir(), 'dbkit-bench-'));
  const remove = async () => {
    await destroyEmbedded(stateDir).catch((error) => process.stderr.write(`could not stop the embedded cluster: ${String(error)}\n`));
    rmSync(stateDir, { recursive: true, force: true });
  };
  process.once('SIGINT', () => void remove().finally(() => process.exit(130)));
  const results: Result[] = [];
  try {
    process.stderr.write(`Starting an embedded PostgreSQL 17 cluster in ${stateDir} ...\n`);
    const lease = await acquireEmbedded(stateDir, { persistent: true });
    await lease.release();
    for (const [label, adminUrl] of [['external', externalUrl], ['embedded', urlFor(lease.url, 'postgres')]] as const) {
      const version = await serverVersion(adminUrl);
      process.stderr.write(`${label} PostgreSQL ${version} (${redactUrl(adminUrl)})\n`);
      for (const set of SETS) results.push(await measure(`${label} ${version}`, adminUrl, set));
    }
  } finally {
    await remove();
  }
  process.stdout.write(render(results));
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});

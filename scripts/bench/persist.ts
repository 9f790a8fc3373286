/**
 * Persister and sync benchmarks, each against a baseline in the same run (ratios, not absolute
 * promises):
 *   1. a 20-lesson persistLessonsBatch (one statement) against 20 persistContent calls;
 *   2. dbkit sync of N generated courses x 20 lessons (default 1,000), in rows per second;
 *   3. dual-write (files + database) against files only (the flag off), in a simulated
 *      generation loop, with no generation time at all (worst case) and with a small one.
 *
 *   npm run bench:persist [-- --courses 1000 --rounds 60 --loop 100 --latency 50]
 * Uses DATABASE_URL when set (a scratch database is created and dropped), else an embedded
 * PostgreSQL 17 in a temporary folder.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { CoursePersister } from '../../src/persist/persister.ts';
import { acquireEmbedded, destroyEmbedded } from '../../src/embedded/cluster.ts';
import { withDatabase } from '../../src/db/connect.ts';
import { generateCourses } from '../generate-courses.ts';
import { quoteIdent } from '../../src/core/sql.ts';

const { values } = parseArgs({ options: { courses: { type: 'string', default: '1000' }, rounds: { type: 'string', default: '60' }, loop: { type: 'string', default: '100' }, latency: { type: 'string', default: '50' } } });
const ROOT = path.resolve(import.meta.dirname, '..', '..');
const quiet = { info() {}, warn() {}, error: (m: string) => process.stderr.write(`persister: ${m}\n`) };
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const ms = (x: number) => `${x.toFixed(2)} ms`;
const body = (i: number) => `# Lesson ${i}\n\n${'Some generated lesson text with a little variety. '.repeat(40)}\n`;

async function admin(url: string, sql: string) {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

function dbkit(args: string[], env: NodeJS.ProcessEnv) {
  return spawnSync(process.execPath, [path.join(ROOT, 'bin/dbkit.js'), ...args], { env, encoding: 'utf8', maxBuffer: 512 * 1024 * 1024 });
}

async function batchVersusSingles(url: string, rounds: number) {
  const p = new CoursePersister({ enabled: true, url, logger: quiet });
  await p.persistProject({ slug: 'bench', name: 'Bench' });
  await p.persistContent('bench', { slug: 'm', title: 'M', contentType: 'course_module' });
  const batch: number[] = [];
  const singles: number[] = [];
  for (let r = 0; r < rounds + 5; r++) {
    const lessons = Array.from({ length: 20 }, (_, i) => ({ slug: `b${r}-${i}`, title: `Lesson ${i}`, content: body(i), sequenceOrder: i + 1, fidelityScore: 0.9 }));
    let t = performance.now();
    const result = await p.persistLessonsBatch('bench', 'm', lessons);
    if (result.status !== 'written') throw new Error(`batch failed: ${JSON.stringify(result)}`);
    const b = performance.now() - t;
    t = performance.now();
    for (const l of lessons) {
      const one = await p.persistContent('bench', { ...l, slug: `s-${l.slug}`, contentType: 'course_lesson', parent: 'm' });
      if (one.status !== 'written') throw new Error('single insert failed');
    }
    const s = performance.now() - t;
    if (r >= 5) {
      batch.push(b);
      singles.push(s);
    }
  }
  await p.close();
  process.stdout.write(`1. 20 lessons, median of ${rounds} (after 5 warm-up rounds)\n`);
  process.stdout.write(`   one batch (1 statement)  ${ms(median(batch))}   (seed target < 500 ms)\n`);
  process.stdout.write(`   20 single upserts        ${ms(median(singles))}\n`);
  process.stdout.write(`   singles / batch          ${(median(singles) / median(batch)).toFixed(1)}x\n\n`);
}

function syncThroughput(url: string, temp: string, count: number, env: NodeJS.ProcessEnv) {
  const dir = path.join(temp, 'courses');
  let t = performance.now();
  generateCourses(dir, { count, lessons: 20 });
  const genMs = performance.now() - t;
  t = performance.now();
  const synced = dbkit(['sync', dir, '--db', url, '--json'], env);
  const wall = performance.now() - t;
  if (synced.status !== 0) throw new Error(`dbkit sync failed (${synced.status}): ${synced.stderr}`);
  const report = JSON.parse(synced.stdout) as { totals: { rowsWritten: number; created: number }; durationMs: number; rowsPerSecond: number };
  t = performance.now();
  const again = dbkit(['sync', dir, '--db', url, '--json'], env);
  const againMs = performance.now() - t;
  if (again.status !== 0) throw new Error('second sync failed');
  process.stdout.write(`2. dbkit sync of ${count} generated courses x 20 lessons (generated in ${(genMs / 1000).toFixed(1)} s; 4 connections)\n`);
  process.stdout.write(`   ${report.totals.created} courses, ${report.totals.rowsWritten} rows in ${(report.durationMs / 1000).toFixed(1)} s: ${report.rowsPerSecond} rows/s, ${((report.totals.created / report.durationMs) * 1000).toFixed(0)} courses/s (process wall time ${(wall / 1000).toFixed(1)} s)\n`);
  process.stdout.write(`   re-run, nothing to change: ${(againMs / 1000).toFixed(1)} s\n\n`);
}

async function dualWriteOverhead(url: string, temp: string, lessons: number, latency: number) {
  const loop = async (enabled: boolean, latencyMs: number, tag: string) => {
    const persister = new CoursePersister({ enabled, url, logger: quiet });
    await persister.persistProject({ slug: `loop-${tag}`, name: 'Loop' });
    await persister.persistContent(`loop-${tag}`, { slug: 'm', title: 'M', contentType: 'course_module' });
    const out = path.join(temp, `loop-${tag}`);
    const started = performance.now();
    for (let i = 0; i < lessons; i++) {
      const text = body(i); // the "generation"
      if (latencyMs > 0) await new Promise((r) => setTimeout(r, latencyMs));
      await persister.dualWrite(path.join(out, `1.${i}.md`), text, (x) => x.persistContent(`loop-${tag}`, { slug: `l${i}`, title: `L${i}`, contentType: 'course_lesson', parent: 'm', content: text, sequenceOrder: i }));
    }
    const elapsed = performance.now() - started;
    await persister.close();
    return elapsed;
  };
  process.stdout.write(`3. dual-write overhead, ${lessons} lessons written one by one (file, then database; median of 3 runs each)\n`);
  let added = 0;
  for (const lat of [0, latency]) {
    const fsOnly = median([await loop(false, lat, `f${lat}a`), await loop(false, lat, `f${lat}b`), await loop(false, lat, `f${lat}c`)]);
    const dual = median([await loop(true, lat, `d${lat}a`), await loop(true, lat, `d${lat}b`), await loop(true, lat, `d${lat}c`)]);
    if (lat === 0) added = (dual - fsOnly) / lessons;
    process.stdout.write(`   generation ${String(lat).padStart(4)} ms/lesson: files only ${ms(fsOnly / lessons)}/lesson, dual-write ${ms(dual / lessons)}/lesson, overhead ${(((dual - fsOnly) / fsOnly) * 100).toFixed(1)}%\n`);
  }
  process.stdout.write(`   the database adds ${ms(added)} per lesson: under the seed's 10% once generating a lesson takes more than ${ms(added * 10)}\n`);
  process.stdout.write(`   (a model call takes seconds: at 5 s per lesson that is ${((added / 5000) * 100).toFixed(2)}%)\n`);
}

async function main() {
  const temp = mkdtempSync(path.join(os.tmpdir(), 'dbkit-bench-persist-'));
  let adminUrl = process.env.DATABASE_URL ?? null;
  const embedded = !adminUrl;
  if (!adminUrl) {
    const lease = await acquireEmbedded(path.join(temp, 'state'), { persistent: true });
    await lease.release();
    adminUrl = withDatabase(lease.url, 'postgres');
  }
  const name = `dbkit_bench_persist_${process.pid}`;
  const url = withDatabase(adminUrl, name);
  await admin(adminUrl, `CREATE DATABASE ${quoteIdent(name)}`);
  try {
    const env = { ...process.env, DATABASE_URL: undefined, DBKIT_STATE_DIR: path.join(temp, 'cli-state'), NO_COLOR: '1' } as NodeJS.ProcessEnv;
    const applied = dbkit(['apply', '--db', url, '--no-backup'], env);
    if (applied.status !== 0) throw new Error(`dbkit apply failed: ${applied.stderr}`);
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    const version = (await c.query<{ v: string }>("SELECT current_setting('server_version') AS v")).rows[0]!.v;
    await c.end();
    process.stdout.write(`PostgreSQL ${version} (${embedded ? 'embedded' : 'DATABASE_URL'}), ${os.cpus().length} cores\n\n`);
    await batchVersusSingles(url, Number(values.rounds));
    syncThroughput(url, temp, Number(values.courses), env);
    await dualWriteOverhead(url, temp, Number(values.loop), Number(values.latency));
  } finally {
    await admin(adminUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => {});
    if (embedded) await destroyEmbedded(path.join(temp, 'state')).catch(() => {});
    rmSync(temp, { recursive: true, force: true });
  }
}

await main();

/**
 * rls-audit with the inferred tenancy map on real Supabase projects: each project's migrations are
 * applied to a scratch database on plain PostgreSQL (with stubs of the platform's auth, storage and
 * roles, auth.uid() reading request.jwt.claims as Supabase's does, and Supabase's default grants to
 * the API roles), then `dbkit rls-audit --print-tenancy` and `dbkit rls-audit` run on it. Prints,
 * per project: tables with RLS, the inferred paths, the leaks (with their reproduction in --verbose),
 * the unseedable tables, and the time. The projects' files are read from where `fetch` left them
 * and never copied into this repository.
 *
 *   npx tsx scripts/eval/rls-projects.ts /work/.mirror/usebasejump+basejump/repo \
 *     /work/.mirror/aaronallison+rfid-saas/repo:supabase/migrations:supabase/rls_policies.sql /work/.mirror/ontwerpllc+booking/repo
 *   EVAL_VERBOSE=1 ...   # also every leak's reproduction SQL
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { withClient } from '../../src/db/scoped.ts';
import { withDatabase } from '../../src/db/connect.ts';
import { materialise } from './compare.ts';
import { ROOT, supabaseFiles } from './plain.ts';
import { installPlatform } from './platform-db.ts';
import type { AuditReport, TenancyReport } from '../../src/commands/rls-audit.ts';

const ADMIN = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const VERBOSE = process.env.EVAL_VERBOSE === '1';

function cli(url: string, args: string[]): { code: number | null; stdout: string; ms: number } {
  const started = performance.now();
  const r = spawnSync(process.execPath, [path.join(ROOT, 'bin', 'dbkit.js'), ...args, '--db', url], { env: { ...process.env, NO_COLOR: '1', DATABASE_URL: '' }, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  return { code: r.status, stdout: r.stdout, ms: performance.now() - started };
}

function materialiseFile(location: string, file: string, into: string): string {
  materialise(location, path.dirname(file), into);
  return path.join(into, file);
}

async function evaluate(location: string, folder: string, extra: string[]): Promise<void> {
  const name = `eval_rls_${randomBytes(4).toString('hex')}`;
  const work = mkdtempSync(path.join(os.tmpdir(), 'dbkit-eval-rls-'));
  const empty = mkdtempSync(path.join(os.tmpdir(), 'dbkit-eval-policies-'));
  const project = path.basename(location.replace(/\/repo\/?$/, ''));
  await withClient(ADMIN, {}, (c) => c.query(`CREATE DATABASE ${name}`));
  const url = withDatabase(ADMIN, name);
  try {
    await installPlatform(ADMIN, url);
    const dir = materialise(location, folder, work);
    // Each file in its own transaction; one that needs what plain PostgreSQL lacks (a foreign data
    // wrapper, say) is reported and skipped, and the rest applied.
    const failed: string[] = [];
    let applied = 0;
    await withClient(url, {}, async (c) => {
      for (const file of [...supabaseFiles(dir).map((f) => path.join(dir, f)), ...extra.map((f) => materialiseFile(location, f, work))]) {
        try {
          await c.query('BEGIN');
          await c.query(readFileSync(file, 'utf8'));
          await c.query('COMMIT');
          applied += 1;
        } catch (error) {
          await c.query('ROLLBACK');
          failed.push(`${path.basename(file)}: ${(error as Error).message.split('\n')[0]}`);
        }
      }
    });
    console.log(`\n== ${project} (${[folder, ...extra].join(' + ')}): ${applied} file(s) applied${failed.length ? `; skipped ${failed.join('; ')}` : ''}`);
    const printed = cli(url, ['rls-audit', '--print-tenancy', '--json', '--policies-dir', empty]);
    const inferred = JSON.parse(printed.stdout) as TenancyReport;
    const audit = cli(url, ['rls-audit', '--json', '--policies-dir', empty, '--fail-on', 'never']);
    const report = JSON.parse(audit.stdout) as AuditReport;
    const rlsTables = report.summary.tables;
    console.log(`tables: ${rlsTables} (policies ${report.summary.policies}); inferred map: ${inferred.tenancy.map.tables.length} table(s) placed, root ${inferred.tenancy.map.root.table}, ${inferred.tenancy.unplaced.length} left out`);
    for (const [table, note] of Object.entries(inferred.tenancy.notes)) console.log(`  path  ${table}: ${note}`);
    for (const u of inferred.tenancy.unplaced) console.log(`  left out  ${u.table}: ${u.why}`);
    const s = report.summary;
    console.log(`audit: ${Math.round(audit.ms)} ms; ${s.matrixCells} cells, ${s.leaks} leak(s), ${s.blocked} blocked, ${s.probeErrors} probe error(s), ${s.unseedable} unseedable; ${s.errors} error / ${s.warnings} warning findings; residue ${report.residue?.clean === false ? 'LEFT' : 'none'}${report.matrixSkipped ? `; matrix ${report.matrixSkipped}` : ''}`);
    const attacks = report.matrix.filter((c) => ['owner-takeover', 'self-join', 'raise-role', 'definer-call', 'storage-write'].includes(c.operation));
    console.log(`attack probes: ${attacks.length} (${[...new Set(attacks.map((c) => c.operation))].map((o) => `${o} ${attacks.filter((c) => c.operation === o).length}`).join(', ') || 'none applied'})`);
    for (const c of report.matrix.filter((x) => x.verdict !== 'ok')) {
      console.log(`  ${c.verdict.toUpperCase()}  ${c.identity} ${c.operation} on ${c.table}${c.target ? ` (${c.target})` : ''}: ${c.detail}`);
      if (c.verdict === 'leak') console.log(`        fix: ${c.fix}`);
      if (VERBOSE && c.verdict === 'leak') console.log(c.reproduction.split('\n').map((l) => `        ${l}`).join('\n'));
    }
    for (const u of report.unseedable) console.log(`  UNSEEDABLE  ${u.table}: ${u.constraint} (${u.reason})`);
  } finally {
    rmSync(work, { recursive: true, force: true });
    rmSync(empty, { recursive: true, force: true });
    if (process.env.EVAL_KEEP === '1') console.log(`kept database ${name}`);
    else await withClient(ADMIN, {}, (c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
  }
}

const args = process.argv.slice(2);
if (args.length === 0) {
  console.error('usage: npx tsx scripts/eval/rls-projects.ts <fetched repository>[:<migrations folder>] ...');
  process.exit(2);
}
for (const arg of args) {
  // <repository>[:<migrations folder>[:<extra .sql file applied after>...]]
  const [location, folder, ...extra] = arg.split(':');
  await evaluate(location!, folder || 'supabase/migrations', extra);
}

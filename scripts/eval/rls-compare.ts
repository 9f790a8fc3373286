/**
 * dbkit rls-audit (inferred map, attacks) side by side with the tools a user would reach for
 * instead, on the same databases in the same run: Supabase's splinter (its lint queries, one by
 * one, from a fetched supabase/splinter) and supashield (`supashield init` + `supashield test
 * --json`, from an npm install outside this repository). For each: what it flags, time. On
 * test/fixtures/rls-attacks.sql also the score: planted holes found, safe look-alikes flagged (a
 * tool flags an object when one of its findings names it; crude, and said so).
 *
 *   npx tsx scripts/eval/rls-compare.ts --splinter /work/.mirror/supabase+splinter/repo \
 *     --supashield /tmp/supashield/node_modules/supashield/dist/cli.js [project[:folder[:extra.sql]] ...]
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { withClient } from '../../src/db/scoped.ts';
import { withDatabase } from '../../src/db/connect.ts';
import { materialise } from './compare.ts';
import { ROOT, supabaseFiles } from './plain.ts';
import { installPlatform } from './platform-db.ts';
import type { AuditReport } from '../../src/commands/rls-audit.ts';

const ADMIN = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** The fixture's planted holes and their safe look-alikes, by the object name a finding would carry. */
const HOLES = [
  { attack: 'self-join / raise-role', hole: ['club_members'], safe: ['team_members'] },
  { attack: 'owner takeover', hole: ['public.projects'], safe: ['public.documents'] },
  { attack: 're-parenting', hole: ['public.tasks'], safe: ['public.notes'] },
  { attack: 'anon writes', hole: ['public.feedback'], safe: ['public.comments'] },
  { attack: 'SECURITY DEFINER', hole: ['team_projects', 'api.all_projects'], safe: ['my_team_projects', 'internal.all_projects'] },
  // dbkit names the bucket it wrote into, splinter and supashield the policy or bucket: either counts.
  { attack: 'storage', hole: ['avatars by folder|a bucket no policy names', 'bucket shared|"shared"'], safe: ['docs by folder|bucket docs'] },
];

interface ToolResult {
  tool: string;
  ms: number;
  /** One line per thing it flags (holes and false alarms are matched against these). */
  flagged: string[];
  note: string;
}

function args(): { splinter: string | null; supashield: string | null; projects: string[] } {
  const out = { splinter: null as string | null, supashield: null as string | null, projects: [] as string[] };
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i += 1) {
    if (argv[i] === '--splinter') out.splinter = argv[++i]!;
    else if (argv[i] === '--supashield') out.supashield = argv[++i]!;
    else out.projects.push(argv[i]!);
  }
  return out;
}

function dbkit(url: string, exposed: string): ToolResult {
  const empty = mkdtempSync(path.join(os.tmpdir(), 'dbkit-cmp-policies-'));
  const started = performance.now();
  const r = spawnSync(process.execPath, [path.join(ROOT, 'bin', 'dbkit.js'), 'rls-audit', '--db', url, '--json', '--policies-dir', empty, '--exposed-schemas', exposed, '--fail-on', 'never'], { env: { ...process.env, NO_COLOR: '1', DATABASE_URL: '' }, encoding: 'utf8', maxBuffer: 256 << 20 });
  const ms = performance.now() - started;
  rmSync(empty, { recursive: true, force: true });
  const report = JSON.parse(r.stdout) as AuditReport;
  const leaks = report.matrix.filter((c) => c.verdict === 'leak').map((c) => `leak ${c.identity} ${c.operation} ${c.table}${c.target ? ` (${c.target})` : ''}`);
  const errors = report.findings.filter((f) => f.level === 'error').map((f) => `${f.rule} ${f.object}`);
  return { tool: 'dbkit rls-audit', ms, flagged: [...leaks, ...errors], note: `${leaks.length} leak(s) from ${report.summary.matrixCells} cells, ${errors.length} error finding(s), ${report.summary.warnings} warning(s); ${report.summary.unseedable} unseedable` };
}

async function splinter(url: string, repo: string, exposed: string): Promise<ToolResult> {
  // splinter.sql: every lint as one query (what the Supabase dashboard runs), with the API's exposed schemas set.
  const sql = execFileSync('git', ['--git-dir', repo, 'show', 'HEAD:splinter.sql'], { encoding: 'utf8' }).replace(/^set local search_path = '';/m, '');
  const started = performance.now();
  const flagged: string[] = [];
  let note = '';
  await withClient(url, {}, async (c) => {
    await c.query('BEGIN');
    try {
      await c.query("SELECT set_config('search_path', '', true), set_config('pgrst.db_schemas', $1, true)", [exposed]);
      const { rows } = await c.query<{ name: string; level: string; detail: string; categories: string[] }>(sql);
      // Its security lints only: the performance ones (auth_rls_initplan ...) name tables without saying they leak.
      for (const r of rows) if ((r.level === 'ERROR' || r.level === 'WARN') && r.categories.includes('SECURITY')) flagged.push(`${r.name} ${r.level}: ${r.detail}`);
      note = `${rows.length} row(s), ${flagged.length} security finding(s) at ERROR/WARN`;
    } catch (error) {
      note = `splinter.sql failed on this database: ${(error as Error).message.split('\n')[0]}`;
    } finally {
      await c.query('ROLLBACK');
    }
  });
  return { tool: 'splinter', ms: performance.now() - started, flagged, note };
}

function supashield(url: string, cli: string): ToolResult {
  const cwd = mkdtempSync(path.join(os.tmpdir(), 'dbkit-cmp-supashield-'));
  const env = { ...process.env, SUPASHIELD_DATABASE_URL: url, DATABASE_URL: url, NO_COLOR: '1' };
  const started = performance.now();
  spawnSync(process.execPath, [cli, 'init'], { cwd, env, encoding: 'utf8' });
  const r = spawnSync(process.execPath, [cli, 'test', '--json'], { cwd, env, encoding: 'utf8', maxBuffer: 256 << 20 });
  const ms = performance.now() - started;
  rmSync(cwd, { recursive: true, force: true });
  try {
    const out = JSON.parse(r.stdout.slice(r.stdout.indexOf('{'))) as { summary: Record<string, number>; issues: { table: string; scenario: string; operation: string; expected: string; actual: string }[] };
    const leaks = out.issues.filter((i) => i.expected === 'DENY' && i.actual !== 'DENY');
    return { tool: 'supashield', ms, flagged: leaks.map((i) => `${i.scenario} ${i.operation} ${i.table}`), note: `${out.summary.total} tests: ${out.summary.failed} failed (${leaks.length} allowed where it expected deny), ${out.summary.skipped} skipped` };
  } catch {
    return { tool: 'supashield', ms, flagged: [], note: `no JSON (exit ${r.status}): ${(r.stderr || r.stdout).split('\n')[0]}` };
  }
}

async function scratch(): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `eval_cmp_${randomBytes(4).toString('hex')}`;
  await withClient(ADMIN, {}, (c) => c.query(`CREATE DATABASE ${name}`));
  const url = withDatabase(ADMIN, name);
  await installPlatform(ADMIN, url);
  return { url, drop: () => withClient(ADMIN, {}, (c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => {}) };
}

async function applyProject(url: string, spec: string): Promise<string> {
  const [location, folder = 'supabase/migrations', ...extra] = spec.split(':');
  const work = mkdtempSync(path.join(os.tmpdir(), 'dbkit-cmp-project-'));
  try {
    const dir = materialise(location!, folder, work);
    const files = [...supabaseFiles(dir).map((f) => path.join(dir, f)), ...extra.map((f) => (materialise(location!, path.dirname(f), work), path.join(work, f)))];
    let applied = 0;
    await withClient(url, {}, async (c) => {
      for (const file of files) {
        try {
          await c.query('BEGIN');
          await c.query(readFileSync(file, 'utf8'));
          await c.query('COMMIT');
          applied += 1;
        } catch {
          await c.query('ROLLBACK');
        }
      }
    });
    return `${path.basename(location!.replace(/\/repo\/?$/, ''))} (${applied}/${files.length} files applied)`;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

function report(label: string, results: ToolResult[], scored: boolean): void {
  console.log(`\n== ${label}`);
  for (const r of results) {
    console.log(`${r.tool.padEnd(16)} ${String(Math.round(r.ms)).padStart(6)} ms  flags ${String(r.flagged.length).padStart(3)}  ${r.note}`);
    if (!scored) continue;
    const mentions = (names: string) => names.split('|').some((name) => r.flagged.some((f) => f.includes(name)));
    let found = 0;
    let holes = 0;
    let alarms = 0;
    const lines: string[] = [];
    for (const h of HOLES) {
      const hit = h.hole.filter(mentions);
      const alarm = h.safe.filter(mentions);
      found += hit.length;
      holes += h.hole.length;
      alarms += alarm.length;
      lines.push(`${h.attack}: ${hit.length}/${h.hole.length} holes${alarm.length ? `, look-alike flagged: ${alarm.join(', ')}` : ''}`);
    }
    console.log(`${''.padEnd(16)} holes found ${found}/${holes}, look-alikes flagged ${alarms}: ${lines.join('; ')}`);
  }
}

const opts = args();
const fixture = await scratch();
try {
  await withClient(fixture.url, {}, (c) => c.query(readFileSync(path.join(ROOT, 'test/fixtures/rls-attacks.sql'), 'utf8')));
  const exposed = 'public,api,internal';
  const results = [dbkit(fixture.url, exposed)];
  if (opts.splinter) results.push(await splinter(fixture.url, opts.splinter, exposed));
  if (opts.supashield) results.push(supashield(fixture.url, opts.supashield));
  report('test/fixtures/rls-attacks.sql (a hole and a safe look-alike per attack)', results, true);
} finally {
  await fixture.drop();
}
for (const spec of opts.projects) {
  const db = await scratch();
  try {
    const label = await applyProject(db.url, spec);
    const results = [dbkit(db.url, 'public')];
    if (opts.splinter) results.push(await splinter(db.url, opts.splinter, 'public'));
    if (opts.supashield) results.push(supashield(db.url, opts.supashield));
    report(label, results, false);
    for (const r of results) for (const f of r.flagged.slice(0, 12)) console.log(`  ${r.tool}: ${f.slice(0, 200)}`);
  } finally {
    await db.drop();
  }
}

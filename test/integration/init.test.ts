/**
 * dbkit init in existing repositories (fixtures written here): it detects the migration folder,
 * writes dbkit.config.json, policies/, tests-sql/ and .env.example, never overwrites a file, and
 * what it writes works with the other commands.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { needsPgTap } from '../helpers/pgtap.ts';
import { cleanEnv, parseJson, runCli, type CliResult } from '../helpers/cli.ts';
import { createTestDatabase, testServers } from '../helpers/db.ts';
import { loadConfig } from '../../src/config.ts';
import type { InitReport } from '../../src/commands/init.ts';
import type { AuditReport } from '../../src/commands/rls-audit.ts';
import { ERROR_CODES } from '../../src/errors.ts';

const WRITTEN = ['dbkit.config.json', 'policies/rls.ts', 'tests-sql/example.sql', '.env.example'];
const dirs: string[] = [];

function repository(files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'dbkit-init-'));
  dirs.push(dir);
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    writeFileSync(path.join(dir, name), content);
  }
  return dir;
}

const init = (cwd: string, args: string[] = []) => runCli(['init', ...args], { cwd, env: cleanEnv() });
const show = (r: CliResult) => `exit ${r.code}\n${r.stdout}\n${r.stderr}`;
const contents = (dir: string, files: string[]) => Object.fromEntries(files.map((f) => [f, readFileSync(path.join(dir, f), 'utf8')]));

afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('dbkit init', () => {
  it('in a node-pg-migrate repository: detects its folder, writes the four files, and ends with the next three commands', async () => {
    const dir = repository({
      'package.json': JSON.stringify({ scripts: { migrate: 'node-pg-migrate -m db/migrations --migrations-table pgm up' }, devDependencies: { 'node-pg-migrate': '^7.0.0' } }),
      'db/migrations/1700000000000_init.js': 'exports.up = (pgm) => {};\nexports.down = (pgm) => {};\n',
    });
    const result = await init(dir);
    expect(result.code, show(result)).toBe(0);
    expect(result.stdout).toContain('Detected  node-pg-migrate; migrations in db/migrations/');
    for (const file of WRITTEN) expect(result.stdout).toContain(`wrote   ${file}`);
    expect(result.stdout.trimEnd().split('\n').slice(-3)).toEqual(['  $ npx dbkit status', '  $ npx dbkit apply --dry-run', '  $ npx dbkit rls-audit --no-matrix']);
    const config = loadConfig({ cwd: dir, env: {} });
    expect(config.migrationsDir).toBe(path.join(dir, 'db/migrations'));
    expect(config.policiesDir).toBe(path.join(dir, 'policies'));

    // Run again: everything is there, nothing is touched.
    const before = contents(dir, WRITTEN);
    const again = await init(dir, ['--json']);
    expect(again.code, show(again)).toBe(0);
    const report = parseJson<InitReport>(again);
    expect(report.files.map((f) => [f.path, f.status])).toEqual(WRITTEN.map((f) => [f, 'skipped']));
    expect(report.detected.nodePgMigrate).toMatchObject({ migrationsDir: 'db/migrations', migrationsTable: 'pgm' });
    expect(report.next).toEqual(['npx dbkit status', 'npx dbkit apply --dry-run', 'npx dbkit rls-audit --no-matrix']);
    expect(contents(dir, WRITTEN)).toEqual(before);
  });

  it('never overwrites: an existing config, policies and tests folders, and a link, are skipped and left exactly as they were', async () => {
    const outside = repository({ 'secret.txt': 'do not touch\n' });
    const dir = repository({
      'dbkit.config.json': '{ "migrationsDir": "sql" }\n',
      'policies/app.ts': 'export const policies = [];\n',
      'tests-sql/app.sql': 'SELECT plan(0);\n',
      'supabase/migrations/20240101000000_init.sql': 'create table public.t (id int);\n',
    });
    symlinkSync(path.join(outside, 'secret.txt'), path.join(dir, '.env.example'));
    const before = contents(dir, ['dbkit.config.json', 'policies/app.ts', 'tests-sql/app.sql']);
    const result = await init(dir, ['--json']);
    expect(result.code, show(result)).toBe(0);
    const report = parseJson<InitReport>(result);
    expect(report.detected.tool).toBe('supabase');
    expect(report.files.map((f) => [f.path, f.status, f.reason])).toEqual([
      ['dbkit.config.json', 'skipped', 'exists; left as it is'],
      ['policies/rls.ts', 'skipped', 'policies/ already holds policy modules'],
      ['tests-sql/example.sql', 'skipped', 'tests-sql/ already holds pgTAP files'],
      ['.env.example', 'skipped', 'exists; left as it is'],
    ]);
    expect(contents(dir, ['dbkit.config.json', 'policies/app.ts', 'tests-sql/app.sql'])).toEqual(before);
    expect(readFileSync(path.join(outside, 'secret.txt'), 'utf8')).toBe('do not touch\n');
  });

  it('a file it cannot write is INIT_FAILED (exit 33), naming it; the others are written', async () => {
    const dir = repository({ 'not-a-folder': 'a file\n' });
    const result = await init(dir, ['--config', 'not-a-folder/dbkit.config.json', '--json']);
    expect(result.code, show(result)).toBe(ERROR_CODES.INIT_FAILED.exit);
    const report = parseJson<InitReport>(result);
    expect(report.files.map((f) => [f.path, f.status])).toEqual([['not-a-folder/dbkit.config.json', 'failed'], ...WRITTEN.slice(1).map((f) => [f, 'written'])]);
    expect(report.error?.message).toContain('not-a-folder/dbkit.config.json');
  });

  it('refuses a --migrations-dir outside the repository (exit 2), writing nothing', async () => {
    const dir = repository({});
    const result = await init(dir, ['--migrations-dir', '../elsewhere']);
    expect(result.code).toBe(ERROR_CODES.USAGE.exit);
    expect(result.stderr).toContain('must be a folder inside this repository');
    expect(() => readFileSync(path.join(dir, 'dbkit.config.json'))).toThrow();
  });
});

describe.each(testServers())('what dbkit init writes works, on $name', (server) => {
  it('in a Supabase repository: rls-audit --no-matrix and dbkit test run from the written files', async (context) => {
    const dir = repository({ 'supabase/migrations/20240101000000_init.sql': 'create table public.notes (id int);\n' });
    const written = await init(dir);
    expect(written.code, show(written)).toBe(0);
    const db = await createTestDatabase(server, 'init');
    try {
      const audit = await runCli(['rls-audit', '--no-matrix', '--db', db.url, '--json'], { cwd: dir, env: cleanEnv() });
      expect(audit.code, show(audit)).toBe(0);
      const report = parseJson<AuditReport>(audit);
      expect(report.drift.skipped).toBe('skipped: no policies declared in policies/');
      expect(report.notice).toBeNull();
      needsPgTap(context, server);
      const tests = await runCli(['test', '--db', db.url], { cwd: dir, env: cleanEnv() });
      expect(tests.code, show(tests)).toBe(0);
      expect(tests.stdout).toContain('tests-sql/example.sql');
    } finally {
      await db.drop();
    }
  });
});

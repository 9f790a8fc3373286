/**
 * dbkit test against real PostgreSQL: the shipped suites pass on the CreatorOS schema (pgTAP is
 * installed, or provisioned into the embedded cluster from the system's files); failing, dying,
 * mis-planned files fail the run; every file is rolled back, even when it commits or is killed.
 * Where pgTAP cannot be had (no system package), the tests that need it are skipped, saying what
 * to install (test/helpers/pgtap.ts); .ci/run makes that a failure.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanEnv, parseJson, runCli } from '../helpers/cli.ts';
import { createTestDatabase, query, testServers, type TestDatabase } from '../helpers/db.ts';
import { needsPgTap } from '../helpers/pgtap.ts';
import type { TestReport } from '../../src/commands/test.ts';
import { ERROR_CODES } from '../../src/errors.ts';

const FILES: Record<string, string> = {
  'pass.sql': "SELECT plan(2);\nSELECT ok(true, 'first');\nSELECT is(1 + 1, 2, 'second');\nSELECT * FROM finish();\n",
  'fail.sql': "SELECT plan(2);\nSELECT ok(true, 'fine');\nSELECT is(1, 2, 'one is two');\nSELECT * FROM finish();\n",
  'died.sql': "SELECT plan(3);\nSELECT ok(true, 'before');\n\nSELECT 1 / 0;\nSELECT ok(true, 'never reached');\n",
  'short.sql': "SELECT plan(3);\nSELECT ok(true, 'one');\nSELECT ok(true, 'two');\n",
  'todo.sql': "SELECT plan(2);\nSELECT todo('not built yet', 1);\nSELECT ok(false, 'future feature');\nSELECT ok(true, 'present feature');\nSELECT * FROM finish();\n",
  // psql meta-commands and the file's own transaction statements are not run: the runner's transaction always wins
  'commits.sql': "\\set ON_ERROR_STOP 1\nBEGIN;\nCREATE TABLE public.dbkit_test_residue (id int);\nSELECT plan(1);\nSELECT has_table('public', 'dbkit_test_residue', 'created inside the file');\nSELECT * FROM finish();\nCOMMIT;\n",
};

describe.each(testServers())('dbkit test on $name', (server) => {
  let db: TestDatabase;
  let dir: string;
  beforeAll(async () => {
    db = await createTestDatabase(server, 'pgtap');
    const applied = await runCli(['apply', '--db', db.url, '--no-backup'], { env: cleanEnv() });
    expect(applied.code, applied.stderr).toBe(0);
    dir = mkdtempSync(path.join(os.tmpdir(), 'dbkit-pgtap-'));
    for (const [name, text] of Object.entries(FILES)) writeFileSync(path.join(dir, name), text);
  });
  afterAll(async () => {
    await db.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs the shipped schema, policies and isolation suites green, ending with the closing line', async (context) => {
    needsPgTap(context, server);
    const result = await runCli(['test', '--db', db.url], { env: cleanEnv() });
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toMatch(/✓ pgTAP 1\.\d+\.\d+ in schema \w+/);
    for (const suite of ['schema', 'policies', 'isolation']) expect(result.stdout).toMatch(new RegExp(`✓ tests-sql/${suite}\\.sql  \\d+ passed`));
    expect(result.stdout.trimEnd().split('\n').pop()).toMatch(/^\d+ passed, 0 failed$/);
    const json = parseJson<TestReport>(await runCli(['test', '--db', db.url, '--json', 'tests-sql/isolation.sql'], { env: cleanEnv() }));
    expect(json.ok).toBe(true);
    expect(json.files[0]?.tests.map((t) => t.description)).toContain("B does not see A's course");
    expect(json.summary).toMatchObject({ files: 1, passed: 34, failed: 0 });
  });

  it('fails on a failed assertion, a file that dies, a plan mismatch; TODO does not fail; writes JUnit', async (context) => {
    needsPgTap(context, server);
    const junit = path.join(dir, 'report.xml');
    const files = Object.keys(FILES).map((f) => path.join(dir, f));
    const result = await runCli(['test', '--db', db.url, '--json', '--jobs', '3', '--junit', junit, ...files], { env: cleanEnv() });
    expect(result.code).toBe(ERROR_CODES.TESTS_FAILED.exit);
    const report = parseJson<TestReport>(result);
    const byName = Object.fromEntries(report.files.map((f) => [path.basename(f.file), f]));
    expect(byName['pass.sql']).toMatchObject({ ok: true, passed: 2, failed: 0, problems: [] });
    expect(byName['fail.sql']).toMatchObject({ ok: false, passed: 1, failed: 1 });
    expect(byName['fail.sql']?.tests[1]?.diagnostics.join('\n')).toMatch(/have: 1\s+want: 2/);
    expect(byName['died.sql']?.ok).toBe(false);
    expect(byName['died.sql']?.problems.join()).toMatch(/died: line 4: division by zero \(SQLSTATE 22012\)/);
    expect(byName['short.sql']?.problems).toEqual(['planned 3 tests but ran 2']);
    expect(byName['todo.sql']).toMatchObject({ ok: true, todo: 1, passed: 1, failed: 0 });
    expect(byName['commits.sql']).toMatchObject({ ok: true, passed: 1 });
    // 1 failed assertion + died + short (a file that dies counts once), over 6 files
    expect(report.summary).toMatchObject({ files: 6, failed: 3 });
    const exists = await query<{ t: string | null }>(db.url, "SELECT to_regclass('public.dbkit_test_residue')::text AS t");
    expect(exists[0]?.t).toBeNull();
    const xml = readFileSync(junit, 'utf8');
    expect(xml).toContain('<testsuites name="dbkit test"');
    expect(xml).toMatch(/<failure message="one is two">/);
    expect(xml).toMatch(/<error message="died: line 4: division by zero/);
  });

  it('prints a TAP document with --tap, and the closing line in human mode', async (context) => {
    needsPgTap(context, server);
    const tap = await runCli(['test', '--db', db.url, '--tap', path.join(dir, 'pass.sql'), path.join(dir, 'fail.sql')], { env: cleanEnv() });
    expect(tap.code).toBe(ERROR_CODES.TESTS_FAILED.exit);
    const lines = tap.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe('TAP version 14');
    expect(lines).toContain('    not ok 2 - one is two');
    expect(lines.some((l) => /^not ok 2 - .*fail\.sql$/.test(l))).toBe(true);
    expect(lines).toContain('1..2');
    const human = await runCli(['test', '--db', db.url, path.join(dir, 'fail.sql')], { env: cleanEnv() });
    expect(human.stdout).toMatch(/not ok 2 - one is two/);
    expect(human.stdout.trimEnd().split('\n').pop()).toBe('1 passed, 1 failed');
    expect(human.stderr).toMatch(/error: 1 test file\(s\) failed/);
  });

  it('rejects a missing file with a one-line error and runs nothing', async () => {
    const result = await runCli(['test', '--db', db.url, 'tests-sql/nope.sql'], { env: cleanEnv() });
    expect(result.code).toBe(2);
    expect(result.stderr.trim().split('\n')[0]).toBe('error: test file tests-sql/nope.sql does not exist');
  });

  it('leaves nothing behind when killed mid-file', async (context) => {
    needsPgTap(context, server);
    const slow = path.join(dir, 'slow.sql');
    writeFileSync(slow, "SELECT plan(1);\nCREATE TABLE public.dbkit_killed_probe (id int);\nSELECT pg_sleep(20);\nSELECT ok(true);\n");
    const result = await runCli(['test', '--db', db.url, slow], {
      env: cleanEnv(),
      onSpawn: (child) => setTimeout(() => child.kill('SIGTERM'), 2500),
    });
    expect(result.code).toBe(130);
    const exists = await query<{ t: string | null }>(db.url, "SELECT to_regclass('public.dbkit_killed_probe')::text AS t");
    expect(exists[0]?.t).toBeNull();
  });
});

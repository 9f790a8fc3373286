/**
 * Keeping the proof, on the CreatorOS schema: --snapshot and --diff, --export-pgtap run by dbkit
 * test, and the evidence every leak carries (identities, operation, table, fix, and a reproduction
 * that psql runs as printed and that does reproduce the leak). A planted hole must fail the
 * exported suite, fail --diff with its own exit code, and reproduce by hand.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { needsPgTap } from '../helpers/pgtap.ts';
import { cleanEnv, parseJson, runCli } from '../helpers/cli.ts';
import { createTestDatabase, query, testServers, type TestDatabase } from '../helpers/db.ts';
import { runPsql } from '../helpers/psql.ts';
import type { AuditReport } from '../../src/commands/rls-audit.ts';
import type { TestReport } from '../../src/commands/test.ts';
import { ERROR_CODES } from '../../src/errors.ts';

const HOLE = `BEGIN;
  DROP POLICY content_projects_rw_mine ON public.content_projects;
  CREATE POLICY content_projects_rw_mine ON public.content_projects FOR ALL TO authenticated
    USING (creator_mind_id = (SELECT private.current_mind_id())) WITH CHECK (true);
  COMMIT;`;
const LEAKS = ['public.content_projects tenant-a insert-other', 'public.content_projects tenant-a move-own', 'public.content_projects tenant-b insert-other', 'public.content_projects tenant-b move-own'];

async function rowCounts(url: string): Promise<unknown> {
  return query(url, 'SELECT (SELECT count(*) FROM public.minds)::int AS minds, (SELECT count(*) FROM public.content_projects)::int AS projects, (SELECT count(*) FROM public.contents)::int AS contents');
}

describe.each(testServers())('rls-audit keeps the proof on $name', (server) => {
  let db: TestDatabase;
  let admins: string;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'dbkit-proof-'));
  const snapshot = path.join(dir, 'rls-snapshot.json');
  const suite = path.join(dir, 'tests-sql', 'rls-matrix.sql');
  const audit = (args: string[]) => runCli(['rls-audit', '--db', db.url, '--privileged-roles', admins, ...args], { env: cleanEnv() });

  beforeAll(async () => {
    db = await createTestDatabase(server, 'proof');
    const applied = await runCli(['apply', '--db', db.url, '--no-backup'], { env: cleanEnv() });
    expect(applied.code, applied.stderr).toBe(0);
    const rows = await query<{ rolname: string }>(db.url, `SELECT rolname FROM pg_roles WHERE (rolsuper OR rolbypassrls) AND rolname NOT LIKE 'pg\\_%'`);
    admins = rows.map((r) => r.rolname).join(',') || 'postgres';
    mkdirSync(path.dirname(suite));
  });
  afterAll(async () => {
    await db.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('--snapshot and --export-pgtap: the snapshot holds no secret, the exported suite passes under dbkit test, a --diff without change passes', async (context) => {
    const result = await audit(['--json', '--snapshot', snapshot, '--export-pgtap', suite]);
    expect(result.code, result.stderr).toBe(0);
    const report = parseJson<AuditReport>(result);
    expect(report.written.snapshot).toBe(snapshot);
    expect(report.written.pgtap).toEqual({ file: suite, tests: report.matrix.length });
    const saved = readFileSync(snapshot, 'utf8');
    const parsed = JSON.parse(saved) as { format: string; version: number; cells: unknown[] };
    expect([parsed.format, parsed.version, parsed.cells.length]).toEqual(['dbkit-rls-audit-snapshot', 1, report.matrix.length]);
    // no URL, no seeded values (the tenants' user ids), no reproduction
    for (const secretish of [db.url, report.database.url, 'BEGIN;', report.matrix[0]!.reproduction.slice(0, 40)]) expect(saved).not.toContain(secretish);
    expect(existsSync(`${snapshot}.tmp`)).toBe(false);

    const text = readFileSync(suite, 'utf8');
    expect(text).toContain(`SELECT plan(${report.matrix.length});`);

    const again = await audit(['--json', '--diff', snapshot]);
    expect(again.code, again.stderr).toBe(0);
    const diff = parseJson<AuditReport>(again).diff!;
    expect([diff.regressions, diff.newlyBlocked, diff.newFindings, diff.changed, diff.removed]).toEqual([[], [], [], [], []]);

    needsPgTap(context, server);
    const before = await rowCounts(db.url);
    const tested = await runCli(['test', '--db', db.url, '--json', suite], { env: cleanEnv() });
    expect(tested.code, tested.stdout + tested.stderr).toBe(0);
    const testReport = parseJson<TestReport>(tested);
    expect(testReport.summary).toMatchObject({ passed: report.matrix.length, failed: 0 });
    expect(await rowCounts(db.url)).toEqual(before);
  });

  it('a planted hole: the exported suite fails, --diff fails with RLS_AUDIT_REGRESSION naming the cells, and every leak reproduces in psql as printed', async (context) => {
    await query(db.url, HOLE);

    const sarif = path.join(dir, 'leaks.sarif');
    const result = await audit(['--json', '--diff', snapshot, '--sarif', sarif]);
    expect(result.code).toBe(ERROR_CODES.RLS_AUDIT_REGRESSION.exit);
    const report = parseJson<AuditReport>(result);
    expect(report.error?.code).toBe('RLS_AUDIT_REGRESSION');
    expect(report.diff!.regressions.map((c) => `${c.table} ${c.identity} ${c.operation} ${c.before?.actual}->${c.after.actual}`).sort()).toEqual(LEAKS.map((l) => `${l} deny->allow`));
    expect(report.diff!.newFindings.map((f) => f.rule).sort()).toEqual(['policy-always-true', 'policy-drift-changed', 'update-check-weaker']);

    const leaks = report.matrix.filter((c) => c.verdict === 'leak');
    expect(leaks.map((c) => `${c.table} ${c.identity} ${c.operation}`).sort()).toEqual(LEAKS);
    for (const leak of leaks) {
      expect(leak.identities).toEqual([leak.identity, leak.identity === 'tenant-a' ? 'tenant-b' : 'tenant-a']);
      expect(leak.fix).toMatch(/WITH CHECK \(creator_mind_id IN \(SELECT id FROM public\.minds WHERE user_id = \(select auth\.uid\(\)\)\)\)/);
      const before = await rowCounts(db.url);
      const psql = await runPsql(db.url, leak.reproduction);
      expect(psql.stderr, leak.reproduction).toBe('');
      // the probe succeeded: the insert, or the move through the cursor, touched one row
      expect(psql.stdout).toMatch(leak.operation === 'insert-other' ? /^INSERT 0 1\nROLLBACK$/m : /^UPDATE 1\nROLLBACK$/m);
      expect(await rowCounts(db.url)).toEqual(before);
    }
    // a cell that is as it should be reproduces as a denial
    const denied = report.matrix.find((c) => c.table === 'public.contents' && c.identity === 'tenant-b' && c.operation === 'select-other')!;
    expect(denied.verdict).toBe('ok');
    expect(denied.fix).toBe('');
    const psql = await runPsql(db.url, denied.reproduction);
    expect(psql.stderr).toBe('');
    expect(psql.stdout).toMatch(/visible \| aimed *\n-+\+-+\n +0 \| +[1-9]/);

    const results = (JSON.parse(readFileSync(sarif, 'utf8')) as { runs: { results: { ruleId: string; properties?: { reproduction: string; identities: string[] } }[] }[] }).runs[0]!.results;
    const sarifLeaks = results.filter((r) => r.ruleId === 'isolation-leak');
    expect(sarifLeaks).toHaveLength(4);
    expect(sarifLeaks.map((r) => r.properties!.reproduction).sort()).toEqual(leaks.map((l) => l.reproduction).sort());

    needsPgTap(context, server);
    const tested = await runCli(['test', '--db', db.url, '--json', suite], { env: cleanEnv() });
    expect(tested.code).toBe(ERROR_CODES.TESTS_FAILED.exit);
    const failed = parseJson<TestReport>(tested).files[0]!.tests.filter((t) => !t.ok).map((t) => t.description).sort();
    expect(failed).toEqual(LEAKS.map((l) => l.split(' ')).map(([table, identity, op]) => `${identity} ${op} on ${table}: deny`).sort());
  });

  it('prints every leak with its identities, fix and reproduction, and the regressions, in the human output', async () => {
    const result = await audit(['--diff', snapshot]);
    expect(result.code).toBe(ERROR_CODES.RLS_AUDIT_REGRESSION.exit);
    expect(result.stdout.match(/^ {2}LEAK /gm)).toHaveLength(4);
    expect(result.stdout.match(/reproduce \(psql, rolled back\):/g)).toHaveLength(4);
    expect(result.stdout).toContain('identities: tenant-a → tenant-b');
    expect(result.stdout).toMatch(/REGRESSION: denied before, allowed now \(or a new leak\) \(4\)\n {4}tenant-a insert-other on public\.content_projects: deny \(ok\) -> allow \(leak\)/);
    expect(result.stderr).toContain(`rls-audit: worse than ${snapshot}: 4 matrix cell(s) went from denied to allowed`);
  });
});

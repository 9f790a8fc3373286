/**
 * dbkit rls-audit against real PostgreSQL: every planted hole of the fixture is found by its rule
 * and no look-alike is flagged by any rule; the CreatorOS schema is clean and isolated; breaking
 * one policy is caught by the lints, the drift check and the matrix.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanEnv, parseJson, runCli, ROOT } from '../helpers/cli.ts';
import { createTestDatabase, query, testServers, withAdmin, type TestDatabase } from '../helpers/db.ts';
import { applySupabaseCompat } from '../helpers/migrations.ts';
import { RULES } from '../../src/audit/rules/index.ts';
import type { AuditReport } from '../../src/commands/rls-audit.ts';
import { ERROR_CODES } from '../../src/errors.ts';

// Roles are cluster-wide: a per-run prefix keeps concurrent runs on one server apart.
const RUN = `dbkit_fx${randomBytes(3).toString('hex')}_`;
const FIXTURE = readFileSync(path.join(ROOT, 'test/fixtures/rls-holes.sql'), 'utf8').replaceAll('dbkit_fixture_', RUN);
const FIXTURE_ROLES = ['owner', 'bypass'].map((r) => `${RUN}${r}`);
const inRun = (object: string) => object.replace(/^dbkit_fixture_/, RUN);

/** Superuser/BYPASSRLS roles the server already had (e.g. the machine's own admin): allowed, as an operator would. */
async function serverAdmins(adminUrl: string): Promise<string> {
  const rows = await query<{ rolname: string }>(adminUrl, `SELECT rolname FROM pg_roles WHERE (rolsuper OR rolbypassrls) AND rolname NOT LIKE 'pg\\_%'`);
  return rows.map((r) => r.rolname).join(',') || 'postgres';
}

describe.each(testServers())('dbkit rls-audit on $name', (server) => {
  describe('the holes fixture', () => {
    let db: TestDatabase;
    let report: AuditReport;
    let exitCode: number | null;
    let emptyPolicies: string;
    beforeAll(async () => {
      db = await createTestDatabase(server, 'holes');
      await applySupabaseCompat(db.url);
      await query(db.url, FIXTURE);
      emptyPolicies = mkdtempSync(path.join(os.tmpdir(), 'dbkit-nopolicies-'));
      const result = await runCli(['rls-audit', '--db', db.url, '--json', '--policies-dir', emptyPolicies], { env: cleanEnv() });
      exitCode = result.code;
      report = parseJson<AuditReport>(result);
    });
    afterAll(async () => {
      rmSync(emptyPolicies, { recursive: true, force: true });
      await db.drop();
      await withAdmin(server.adminUrl, async (c) => {
        for (const role of FIXTURE_ROLES) await c.query(`DROP ROLE IF EXISTS ${role}`).catch(() => {});
      });
    });

    it('fails with the audit exit code and names every rule it ran', () => {
      expect(exitCode).toBe(ERROR_CODES.RLS_AUDIT_FAILED.exit);
      expect(report.summary.rules).toBe(RULES.length);
      // No declared map: the matrix runs on the one inferred from the catalog (or says why none could be).
      expect(report.matrixSkipped === null ? report.tenancy?.source : report.matrixSkipped).toMatch(/inferred/);
    });

    it.each(RULES.map((r) => [r.id, r] as const))('%s finds its planted hole(s) and flags no look-alike', (_id, rule) => {
      const objects = report.findings.filter((f) => f.rule === rule.id).map((f) => f.object);
      for (const hole of rule.fixture.hole.map(inRun)) expect(objects, `${rule.id} should flag ${hole}`).toContain(hole);
      const flaggedByAnyRule = report.findings.map((f) => f.object);
      for (const safe of rule.fixture.safe.map(inRun)) {
        expect(flaggedByAnyRule.filter((o) => o === safe || o.startsWith(`${safe}.`)), `no rule may flag the look-alike ${safe}`).toEqual([]);
      }
      for (const f of report.findings.filter((x) => x.rule === rule.id)) {
        expect(f.message.length).toBeGreaterThan(10);
        expect(f.fix.length).toBeGreaterThan(5);
        expect(f.splinter ?? null).toSatisfy((s: string | null) => s === null || /^[a-z_]+$/.test(s));
      }
    });

    it('rls-disabled-reachable names the view and the functions in an exposed schema that read the table, and the PUBLIC grant', () => {
      const f = report.findings.find((x) => x.rule === 'rls-disabled-reachable' && x.object === 'fixture_ops.h17_ip_log');
      expect(f?.level).toBe('warn');
      expect(f?.message).toContain('anon has USAGE on schema fixture_ops and SELECT on it (partly through PUBLIC)');
      expect(f?.message).toContain('read by public.h17_ip_count() (function), public.h17_last_ip() (function), public.h17_recent_ips (view)');
      expect(f?.fix).toBe('ALTER TABLE fixture_ops.h17_ip_log ENABLE ROW LEVEL SECURITY (no policy: API roles see no row), or REVOKE ALL ON fixture_ops.h17_ip_log FROM anon, PUBLIC, or REVOKE USAGE ON SCHEMA fixture_ops FROM anon');
    });

    it('folds the repeats of a rule into one line with the count and the first objects; --verbose lists each; the JSON keeps every one', async () => {
      const repeated = report.findings.filter((f) => f.rule === 'policy-always-true' && f.level === 'error');
      expect(repeated.length).toBeGreaterThan(2);
      const args = ['rls-audit', '--db', db.url, '--policies-dir', emptyPolicies, '--no-matrix'];
      const folded = await runCli(args, { env: cleanEnv() });
      const shown = repeated.slice(0, 3).map((f) => f.object).join(', ');
      expect(folded.stdout).toContain(`✗ policy-always-true ×${repeated.length}  ${shown}${repeated.length > 3 ? ` and ${repeated.length - 3} more` : ''}\n`);
      expect(folded.stdout.match(/^ {2}✗ policy-always-true/gm)).toHaveLength(1);
      expect(folded.stdout).toContain('--verbose lists each');
      const verbose = await runCli([...args, '--verbose'], { env: cleanEnv() });
      expect(verbose.stdout.match(/^ {2}✗ policy-always-true {2}/gm)).toHaveLength(repeated.length);
      for (const f of repeated) expect(verbose.stdout).toContain(`policy-always-true  ${f.object}\n      ${f.message}\n`);
      expect(folded.stdout.split('\n').length).toBeLessThan(verbose.stdout.split('\n').length);
    });

    it('catches the unwrapped call beside a wrapped one, and reports the deny-all INSERT as nothing', () => {
      const perRow = report.findings.find((f) => f.rule === 'per-row-call' && f.object === 'public.h07_unwrapped.h07_mixed');
      expect(perRow?.message).toContain('1 bare call');
      expect(report.findings.filter((f) => f.object.startsWith('public.s05_insert_nocheck'))).toEqual([]);
    });
  });

  describe('the CreatorOS schema', () => {
    let db: TestDatabase;
    let admins: string;
    beforeAll(async () => {
      db = await createTestDatabase(server, 'audit');
      const applied = await runCli(['apply', '--db', db.url, '--no-backup'], { env: cleanEnv() });
      expect(applied.code, applied.stderr).toBe(0);
      admins = await serverAdmins(server.adminUrl);
    });
    afterAll(async () => {
      await db.drop();
    });

    it('has no error or warning, no drift, and the matrix shows no leak and leaves no residue', async () => {
      const before = await query<{ n: number }>(db.url, 'SELECT (SELECT count(*) FROM public.minds) + (SELECT count(*) FROM public.contents) AS n');
      const result = await runCli(['rls-audit', '--db', db.url, '--json', '--fail-on', 'warn', '--privileged-roles', admins], { env: cleanEnv() });
      expect(result.code, result.stdout + result.stderr).toBe(0);
      const report = parseJson<AuditReport>(result);
      expect(report.findings.filter((f) => f.level !== 'info')).toEqual([]);
      expect(report.drift.compared).toBe(10);
      expect(report.summary.drift).toBe(0);
      expect(report.matrix.length).toBeGreaterThan(100);
      expect(report.matrix.filter((c) => c.verdict !== 'ok')).toEqual([]);
      // the probes really ran: tenants read their own rows and B reads A's published content
      expect(report.matrix.find((c) => c.relation === 'public.contents' && c.identity === 'tenant-b' && c.operation === 'select-published')?.actual).toBe('allow');
      expect(report.matrix.find((c) => c.relation === 'public.content_projects' && c.identity === 'tenant-a' && c.operation === 'insert-own')?.actual).toBe('allow');
      expect(report.residue?.clean).toBe(true);
      expect(report.residue?.tables.map((t) => t.table)).toContain('public.content_tags');
      const after = await query<{ n: number }>(db.url, 'SELECT (SELECT count(*) FROM public.minds) + (SELECT count(*) FROM public.contents) AS n');
      expect(after).toEqual(before);
    });

    it('prints grouped human output with the matrix and a summary line, and writes SARIF', async () => {
      const dir = mkdtempSync(path.join(os.tmpdir(), 'dbkit-sarif-'));
      try {
        const result = await runCli(['rls-audit', '--db', db.url, '--privileged-roles', admins, '--sarif', path.join(dir, 'out.sarif')], { env: cleanEnv() });
        expect(result.code, result.stderr).toBe(0);
        expect(result.stdout).toContain('Isolation matrix');
        expect(result.stdout).toMatch(/no residue/);
        expect(result.stdout).toMatch(/^rls-audit: 0 errors, 0 warnings, 0 info; matrix: \d+ checks, 0 leaks, no residue/m);
        const sarif = JSON.parse(readFileSync(path.join(dir, 'out.sarif'), 'utf8')) as { version: string; runs: { tool: { driver: { rules: { id: string }[] } }; results: unknown[] }[] };
        expect(sarif.version).toBe('2.1.0');
        expect(sarif.runs[0]?.tool.driver.rules.map((r) => r.id)).toContain('per-row-call');
        expect(sarif.runs[0]?.results).toEqual([]);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('finds a deliberately broken policy: lint, drift and matrix leak', async () => {
      await query(db.url, `BEGIN;
        DROP POLICY content_projects_rw_mine ON public.content_projects;
        CREATE POLICY content_projects_rw_mine ON public.content_projects FOR ALL TO authenticated
          USING (creator_mind_id = (SELECT private.current_mind_id())) WITH CHECK (true);
        COMMIT;`);
      const result = await runCli(['rls-audit', '--db', db.url, '--json', '--privileged-roles', admins], { env: cleanEnv() });
      expect(result.code).toBe(ERROR_CODES.RLS_AUDIT_FAILED.exit);
      const report = parseJson<AuditReport>(result);
      const object = 'public.content_projects.content_projects_rw_mine';
      // the hand-written policy also calls the SQL SECURITY DEFINER helper the shipped ones no longer call
      expect(report.findings.filter((f) => f.object === object).map((f) => f.rule).sort()).toEqual(['policy-always-true', 'policy-drift-changed', 'policy-helper-cost', 'update-check-weaker']);
      const leaks = report.matrix.filter((c) => c.verdict === 'leak').map((c) => `${c.relation} ${c.identity} ${c.operation}`);
      expect(leaks).toContain('public.content_projects tenant-a insert-other');
      expect(leaks).toContain('public.content_projects tenant-b move-own');
      // with RETURNING the moved row must also pass the SELECT policy, so that variant is denied
      expect(leaks).not.toContain('public.content_projects tenant-a move-own-returning');
      expect(report.residue?.clean).toBe(true);
      expect(report.error?.code).toBe('RLS_AUDIT_FAILED');
    });

    it('a tenancy map that names a missing table: the matrix is skipped with one notice naming it, the findings still decide, nothing changes', async () => {
      const dir = mkdtempSync(path.join(os.tmpdir(), 'dbkit-policies-'));
      try {
        writeFileSync(path.join(dir, 'map.ts'), `export const tenancy = { root: { table: 'public.minds', userColumn: 'user_id' }, tables: [{ table: 'public.nope', via: { column: 'x', parent: 'public.minds' } }] };\n`);
        const result = await runCli(['rls-audit', '--db', db.url, '--policies-dir', dir, '--json'], { env: cleanEnv() });
        const report = parseJson<AuditReport>(result);
        expect(report.notice).toContain('public.nope');
        // The map names a table the database lacks: the matrix runs on the map inferred from the catalog instead.
        expect(report.tenancy?.source).toBe('inferred');
        expect(report.summary.probeErrors).toBe(0);
        // the policy the test before broke is still broken: the inferred matrix finds it too
        expect([...new Set(report.matrix.filter((c) => c.verdict === 'leak').map((c) => c.relation))]).toEqual(['public.content_projects']);
        expect(result.code).toBe(report.findings.some((f) => f.level === 'error') ? ERROR_CODES.RLS_AUDIT_FAILED.exit : 0);
        expect(result.stderr).not.toMatch(/at .*\.js:\d+/);
        const rows = await query<{ n: number }>(db.url, 'SELECT count(*)::int AS n FROM public.minds');
        expect(rows[0]?.n).toBe(0);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
});

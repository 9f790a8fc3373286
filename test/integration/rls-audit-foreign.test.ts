/**
 * rls-audit on a schema dbkit did not create (test/fixtures/helpdesk.sql), with dbkit's own
 * policies/ folder, which describes the CreatorOS tables: every lint finding is still reported,
 * drift and the isolation matrix are skipped with one notice that says how to describe this
 * database, and the exit code comes from the findings alone.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanEnv, parseJson, ROOT, runCli, type CliResult } from '../helpers/cli.ts';
import { createTestDatabase, query, testServers, type TestDatabase } from '../helpers/db.ts';
import { applySupabaseCompat } from '../helpers/migrations.ts';
import type { AuditReport } from '../../src/commands/rls-audit.ts';
import { ERROR_CODES } from '../../src/errors.ts';

const FIXTURE = readFileSync(path.join(ROOT, 'test/fixtures/helpdesk.sql'), 'utf8');
const NOTICE = /names tables .* that this database does not have, so it describes another schema/g;
const errorsOf = (report: AuditReport) => report.findings.filter((f) => f.level === 'error').map((f) => `${f.rule} ${f.object}`).sort();

describe.each(testServers())('rls-audit on a schema dbkit did not create, on $name', (server) => {
  let db: TestDatabase;
  const audit = (args: string[] = []) => runCli(['rls-audit', '--db', db.url, ...args], { env: cleanEnv() });

  beforeAll(async () => {
    db = await createTestDatabase(server, 'foreign');
    await applySupabaseCompat(db.url);
    await query(db.url, FIXTURE);
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('lints and reports every finding, skips drift and the matrix with one notice, and fails on the findings', async () => {
    const result = await audit(['--json']);
    expect(result.code).toBe(ERROR_CODES.RLS_AUDIT_FAILED.exit);
    const report = parseJson<AuditReport>(result);
    expect(errorsOf(report)).toEqual(['policy-always-true public.comments.comments_any', 'rls-disabled-exposed public.tickets']);
    expect(report.findings.filter((f) => f.rule.startsWith('policy-drift'))).toEqual([]);
    expect(report.drift.skipped).toMatch(/describes another schema/);
    // The folder's map describes another schema: the matrix runs on a map inferred from this one.
    expect(report.matrixSkipped).toBeNull();
    expect(report.tenancy?.source).toBe('inferred');
    expect(report.summary.leaks + report.summary.probeErrors).toBe(0);
    expect(report.absent.tables).toEqual(expect.arrayContaining(['public.contents', 'public.minds', 'public.v_contents_with_creators']));
    expect(report.notice).toContain('public.audience_profiles');
    expect(report.notice).toContain('dbkit init');
    expect(report.notice).toContain('--policies-dir');
    expect(report.error?.message).toBe('rls-audit failed: 2 finding(s) at or above error');
  });

  it('prints the findings and the notice once, with or without the matrix', async () => {
    for (const args of [[], ['--no-matrix']]) {
      const result: CliResult = await audit(args);
      expect(result.code, result.stderr).toBe(ERROR_CODES.RLS_AUDIT_FAILED.exit);
      const out = `${result.stdout}${result.stderr}`;
      expect(out.match(NOTICE)?.length, out).toBe(1);
      expect(out).toContain('rls-disabled-exposed');
      expect(out).toContain('policy-always-true');
      expect(out).not.toContain('CREATE POLICY');
      expect(out).not.toContain('bug in dbkit');
    }
  });

  it('exits 0 once the findings are fixed, the notice still given', async () => {
    await query(db.url, `ALTER TABLE public.tickets ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
      CREATE POLICY tickets_org ON public.tickets FOR SELECT TO authenticated USING (org_id IN (SELECT a.org_id FROM public.agents a WHERE a.user_id = (SELECT auth.uid())));
      REVOKE ALL ON public.tickets FROM anon;
      DROP POLICY comments_any ON public.comments;
      CREATE POLICY comments_org ON public.comments FOR UPDATE TO authenticated
        USING (ticket_id IN (SELECT t.id FROM public.tickets t)) WITH CHECK (ticket_id IN (SELECT t.id FROM public.tickets t));`);
    const result = await audit(['--json']);
    const report = parseJson<AuditReport>(result);
    expect(errorsOf(report)).toEqual([]);
    expect(result.code).toBe(0);
    expect(report.notice).toMatch(/describes another schema/);
  });
});

/**
 * rls-audit with an inferred tenancy map and the attack probes, against real PostgreSQL.
 * - CreatorOS: the map inferred from the catalog equals the declared one (policies/creatoros.ts),
 *   and the matrix on it is clean.
 * - test/fixtures/rls-attacks.sql: for each attack a planted hole and a safe look-alike; every hole
 *   is found and no look-alike is flagged, attack by attack; a table that cannot be seeded is
 *   reported with its constraint (human, JSON, SARIF).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanEnv, parseJson, runCli, ROOT } from '../helpers/cli.ts';
import { createTestDatabase, query, testServers, type TestDatabase } from '../helpers/db.ts';
import { copyMigrations } from '../helpers/migrations.ts';
import type { AuditReport, TenancyReport } from '../../src/commands/rls-audit.ts';
import type { MatrixCell } from '../../src/audit/matrix.ts';
import { tenancy as declared } from '../../policies/creatoros.ts';
import type { TenancyMap } from '../../src/audit/tenancy.ts';

const FIXTURE = readFileSync(path.join(ROOT, 'test/fixtures/rls-attacks.sql'), 'utf8');
const EXPOSED = ['--exposed-schemas', 'public,api,internal'];

/** The declared map without the seed values it gives by hand (generic seeding makes them up). */
function structure(map: TenancyMap) {
  const tables = map.tables.map(({ values: _v, probeValues: _p, ...t }) => t).sort((a, b) => a.table.localeCompare(b.table));
  return { root: map.root, tables, views: map.views ?? [] };
}

const leaks = (r: AuditReport) => r.matrix.filter((c) => c.verdict === 'leak');
const cellsOf = (r: AuditReport, operation: string, table: string) => r.matrix.filter((c) => c.operation === operation && c.table === table);
const leaked = (cells: MatrixCell[]) => cells.filter((c) => c.verdict === 'leak');

describe.each(testServers())('rls-audit inferred tenancy and attacks on $name', (server) => {
  let empty: string;
  beforeAll(() => {
    empty = mkdtempSync(path.join(os.tmpdir(), 'dbkit-nopolicies-'));
  });
  afterAll(() => rmSync(empty, { recursive: true, force: true }));

  describe('CreatorOS', () => {
    let db: TestDatabase;
    beforeAll(async () => {
      db = await createTestDatabase(server, 'infer');
      const applied = await runCli(['apply', '--db', db.url, '--no-backup'], { env: cleanEnv() });
      expect(applied.code, applied.stderr).toBe(0);
    });
    afterAll(() => db.drop());

    it('--print-tenancy infers the declared tenancy map', async () => {
      const result = await runCli(['rls-audit', '--db', db.url, '--print-tenancy', '--json', '--policies-dir', empty], { env: cleanEnv() });
      expect(result.code, result.stderr).toBe(0);
      const report = parseJson<TenancyReport>(result);
      expect(structure(report.tenancy.map)).toEqual(structure(declared));
      expect(report.tenancy.notes['public.content_projects']).toMatch(/creator_mind_id/);
      expect(report.module).toMatch(/export const tenancy: TenancyMap = \{/);
      const human = await runCli(['rls-audit', '--db', db.url, '--print-tenancy', '--policies-dir', empty], { env: cleanEnv() });
      expect(human.stdout.startsWith('/**')).toBe(true);
      expect(human.stdout).toContain('"table":"public.content_minds","via":{"column":"content_id","parent":"public.contents"}');
    });

    it('without a declared map, the matrix runs on the inferred one, says so, and is clean', async () => {
      const result = await runCli(['rls-audit', '--db', db.url, '--json', '--policies-dir', empty, '--fail-on', 'never'], { env: cleanEnv() });
      const report = parseJson<AuditReport>(result);
      expect(report.tenancy?.source).toBe('inferred');
      expect(report.matrixSource).toBe('inferred from the catalog');
      expect(report.summary.matrixCells).toBeGreaterThan(100);
      expect(report.summary.leaks + report.summary.probeErrors + report.summary.blocked).toBe(0);
      expect(report.unseedable).toEqual([]);
      expect(report.residue?.clean).toBe(true);
      expect(result.code, result.stdout.slice(0, 2000)).toBe(0);
      const human = await runCli(['rls-audit', '--db', db.url, '--policies-dir', empty, '--fail-on', 'never'], { env: cleanEnv() });
      expect(human.stdout).toMatch(/Tenancy {2}inferred from the catalog/);
    });
  });

  describe('the attacks fixture', () => {
    let db: TestDatabase;
    let report: AuditReport;
    let sarif: { runs: { results: { ruleId: string; properties?: Record<string, unknown>; locations: { logicalLocations: { fullyQualifiedName: string }[] }[] }[] }[] };
    let human: string;
    const dir = mkdtempSync(path.join(os.tmpdir(), 'dbkit-attacks-'));
    beforeAll(async () => {
      db = await createTestDatabase(server, 'attacks');
      const compat = copyMigrations({ count: 1 });
      try {
        const applied = await runCli(['apply', '--db', db.url, '--no-backup', '--migrations-dir', compat.dir], { env: cleanEnv() });
        expect(applied.code, applied.stderr).toBe(0);
      } finally {
        compat.cleanup();
      }
      await query(db.url, FIXTURE);
      const args = ['rls-audit', '--db', db.url, '--policies-dir', empty, ...EXPOSED, '--sarif', path.join(dir, 'out.sarif')];
      const result = await runCli([...args, '--json'], { env: cleanEnv() });
      report = parseJson<AuditReport>(result);
      sarif = JSON.parse(readFileSync(path.join(dir, 'out.sarif'), 'utf8'));
      human = (await runCli(args, { env: cleanEnv() })).stdout;
    }, 120_000);
    afterAll(async () => {
      rmSync(dir, { recursive: true, force: true });
      await db.drop();
    });

    it('infers the membership tenancy: two groups with their membership and role columns, the rest through them', () => {
      expect(report.tenancy?.source).toBe('inferred');
      expect(report.summary.probeErrors).toBe(0);
      expect(report.residue?.clean).toBe(true);
      expect(report.tenancy?.notes['public.teams']).toMatch(/group: public.team_members .*role column role, owner "owner", member "member"/);
      expect(report.tenancy?.notes['public.clubs']).toMatch(/group: public.club_members .*role column member_role, owner "admin"/);
      expect(report.tenancy?.notes['public.tasks']).toMatch(/child of public.projects through project_id/);
    });

    it('self-join: joining another group and raising one\'s own role are found on club_members, not on team_members', () => {
      // as tenant A, and as user C who belongs to nothing
      expect(leaked(cellsOf(report, 'self-join', 'public.club_members')).map((c) => c.identity).sort()).toEqual(['outsider', 'tenant-a']);
      expect(leaked(cellsOf(report, 'raise-role', 'public.club_members'))).toHaveLength(1);
      expect(cellsOf(report, 'self-join', 'public.team_members').map((c) => c.verdict)).toEqual(['ok', 'ok']);
      expect(cellsOf(report, 'raise-role', 'public.team_members').map((c) => c.verdict)).toEqual(['ok']);
    });

    it('owner takeover: naming B as created_by is found on projects (insert and update), not on documents or teams.owner_id', () => {
      expect(leaked(cellsOf(report, 'owner-takeover', 'public.projects')).map((c) => c.target).sort()).toEqual(['created_by (insert)', 'created_by (update)']);
      expect(cellsOf(report, 'owner-takeover', 'public.documents').map((c) => c.verdict)).toEqual(['ok', 'ok']);
      expect(cellsOf(report, 'owner-takeover', 'public.teams').map((c) => c.verdict)).toEqual(['ok']);
    });

    it('re-parenting: moving a task under the other tenant\'s project is found, a note is not', () => {
      expect(leaked(cellsOf(report, 'move-own', 'public.tasks')).map((c) => c.identity).sort()).toEqual(['tenant-a', 'tenant-b']);
      expect(leaked([...cellsOf(report, 'move-own', 'public.notes'), ...cellsOf(report, 'insert-other', 'public.notes')])).toEqual([]);
    });

    it('anon writes: feedback accepts anon rows, comments do not', () => {
      expect(leaked(cellsOf(report, 'insert-other', 'public.feedback')).map((c) => c.identity)).toContain('anon');
      expect(cellsOf(report, 'insert-other', 'public.comments').filter((c) => c.identity === 'anon').map((c) => c.verdict)).toEqual(['ok']);
    });

    it('SECURITY DEFINER: the functions that hand out B\'s rows are found; a membership check or a schema without USAGE is not flagged', () => {
      const calls = report.matrix.filter((c) => c.operation === 'definer-call');
      expect(leaked(calls).map((c) => c.table).sort()).toEqual(['api.all_projects()', 'team_projects(uuid)']);
      expect(calls.find((c) => c.table === 'my_team_projects(uuid)')?.verdict).toBe('ok');
      expect(calls.some((c) => c.table.startsWith('internal.'))).toBe(false);
      expect(leaked(calls)[0]!.detail).toMatch(/returned B's data/);
    });

    it('storage: a bucket no policy names and another tenant\'s folder in "shared" are found, "docs" is not', () => {
      const storage = cellsOf(report, 'storage-write', 'storage.objects');
      expect(leaked(storage).map((c) => c.target).sort()).toEqual(['a bucket no policy names', 'bucket shared, folder of B\'s group', 'bucket shared, folder of B\'s user id']);
      expect(storage.filter((c) => c.target?.startsWith('bucket docs')).map((c) => c.verdict)).toEqual(['ok', 'ok']);
    });

    it('every leak carries identities, the reproduction SQL and a fix, in the JSON, the SARIF and the human output', () => {
      expect(leaks(report).length).toBe(15);
      for (const c of leaks(report)) {
        expect(c.identities[0]).toBe(c.identity);
        expect(c.reproduction).toMatch(/^-- dbkit rls-audit:[\s\S]*BEGIN;[\s\S]*SET LOCAL ROLE[\s\S]*ROLLBACK;$/);
        expect(c.fix.length).toBeGreaterThan(20);
      }
      const raise = leaks(report).find((c) => c.operation === 'raise-role')!;
      expect(raise.reproduction).toMatch(/what the attack starts from[\s\S]*INSERT INTO public.club_members[\s\S]*SET LOCAL ROLE authenticated[\s\S]*UPDATE public.club_members/);
      const results = sarif.runs[0]!.results;
      expect(results.filter((r) => r.ruleId === 'isolation-leak')).toHaveLength(15);
      expect(results.find((r) => r.ruleId === 'isolation-leak' && r.properties?.operation === 'storage-write')?.properties?.reproduction).toMatch(/INSERT INTO storage.objects/);
      expect(human).toMatch(/LEAK tenant-a self-join on public.club_members \(group public.clubs\)/);
      expect(human).toMatch(/attack probes: 22 /);
    });

    it('a table that cannot be seeded is reported with the constraint that stopped it (JSON, human, SARIF), its cells not probed', () => {
      expect(report.unseedable).toEqual([expect.objectContaining({ table: 'public.audits', constraint: 'audits_code_format' })]);
      expect(report.summary.unseedable).toBe(1);
      expect(report.matrix.some((c) => c.table === 'public.audits')).toBe(false);
      expect(human).toMatch(/UNSEEDABLE public.audits: stopped by audits_code_format/);
      expect(sarif.runs[0]!.results.find((r) => r.ruleId === 'matrix-unseedable')?.locations[0]!.logicalLocations[0]!.fullyQualifiedName).toBe('public.audits');
    });

    it('anon may not create a group: a group table gets anon\'s insert probed', () => {
      expect(cellsOf(report, 'insert-other', 'public.teams').map((c) => `${c.identity} ${c.verdict}`)).toEqual(['anon ok']);
    });

    it('snapshots keep the attack cells apart by target, and --export-pgtap leaves out those it cannot replay', async () => {
      const snapshot = path.join(dir, 'snap.json');
      const pgtap = path.join(dir, 'matrix.sql');
      const taken = await runCli(['rls-audit', '--db', db.url, '--policies-dir', empty, ...EXPOSED, '--json', '--fail-on', 'never', '--snapshot', snapshot, '--export-pgtap', pgtap], { env: cleanEnv() });
      const first = parseJson<AuditReport>(taken);
      const saved = JSON.parse(readFileSync(snapshot, 'utf8')) as { cells: { table: string; operation: string; target?: string }[] };
      expect(saved.cells.filter((c) => c.operation === 'owner-takeover' && c.table === 'public.projects').map((c) => c.target).sort()).toEqual(['created_by (insert)', 'created_by (update)']);
      const sql = readFileSync(pgtap, 'utf8');
      const left = first.matrix.filter((c) => c.operation === 'raise-role' || c.operation === 'definer-call' || c.operation === 'storage-write').length;
      expect(Number(/-- (\d+) attack probe\(s\) that need rows of their own/.exec(sql)?.[1])).toBe(left);
      expect(first.written.pgtap?.tests).toBe(first.matrix.length - left);
      expect(sql).toContain(`SELECT plan(${first.matrix.length - left});`);
      const again = await runCli(['rls-audit', '--db', db.url, '--policies-dir', empty, ...EXPOSED, '--json', '--fail-on', 'never', '--diff', snapshot], { env: cleanEnv() });
      const diff = parseJson<AuditReport>(again).diff!;
      expect(diff.regressions).toEqual([]);
      expect(diff.removed).toEqual([]);
    });

    it('with the bucket check in place, no storage write is flagged (the safe look-alike)', async () => {
      await query(db.url, 'DROP POLICY "avatars by folder" ON storage.objects; DROP POLICY "shared" ON storage.objects');
      try {
        const result = await runCli(['rls-audit', '--db', db.url, '--policies-dir', empty, ...EXPOSED, '--json', '--fail-on', 'never'], { env: cleanEnv() });
        const again = parseJson<AuditReport>(result);
        const storage = cellsOf(again, 'storage-write', 'storage.objects');
        expect(storage.length).toBe(3);
        expect(leaked(storage)).toEqual([]);
      } finally {
        await query(db.url, `CREATE POLICY "avatars by folder" ON storage.objects FOR INSERT TO authenticated WITH CHECK ((storage.foldername(name))[1] = (auth.uid())::text);
          CREATE POLICY "shared" ON storage.objects FOR INSERT TO authenticated WITH CHECK (bucket_id = 'shared')`);
      }
    });
  });
});

/**
 * Attack (issue 9.2): foreign-key checks ignore RLS. As tenant A, a content of A's own project
 * could name B's draft as its parent (and an unknown id gave a different error: an existence
 * oracle); once committed, B could no longer delete its own content. A could also name B's mind
 * as the persona of a project or the author of a content.
 *
 * Performed as the API does it (SET LOCAL ROLE authenticated + request.jwt.claims) on the full
 * CreatorOS set; the isolation matrix's reference-other probe finds the hole on the set before
 * 20261130120000_same-tenant-references and passes after; a brownfield database holding a
 * cross-project parent is refused by the migration with the row named, and nothing is lost.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanEnv, parseJson, ROOT, runCli } from '../helpers/cli.ts';
import { createTestDatabase, query, testServers, type TestDatabase } from '../helpers/db.ts';
import { copyMigrations, MIGRATION_NAMES } from '../helpers/migrations.ts';
import type { AuditReport } from '../../src/commands/rls-audit.ts';
import { ERROR_CODES } from '../../src/errors.ts';

const NEW_MIGRATION = '20261130120000_same-tenant-references';
const USER = { a: '10000000-0000-4000-8000-0000000000aa', b: '20000000-0000-4000-8000-0000000000bb' };
const MIND = { a: 'a0000000-0000-4000-8000-0000000000aa', b: 'b0000000-0000-4000-8000-0000000000bb', persona: 'c0000000-0000-4000-8000-0000000000cc' };
const PROJECT = { a: 'a1000000-0000-4000-8000-0000000000aa', b: 'b1000000-0000-4000-8000-0000000000bb' };
const DRAFT = { a: 'a2000000-0000-4000-8000-0000000000aa', b: 'b2000000-0000-4000-8000-0000000000bb' };
const UNKNOWN = 'dddddddd-0000-4000-8000-0000000000dd';

const SEED = `
INSERT INTO public.minds (id, slug, display_name, user_id) VALUES
  ('${MIND.a}', 'attack-a', 'A', '${USER.a}'), ('${MIND.b}', 'attack-b', 'B', '${USER.b}'), ('${MIND.persona}', 'attack-persona', 'Persona', NULL);
INSERT INTO public.content_projects (id, slug, name, creator_mind_id) VALUES ('${PROJECT.a}', 'attack-pa', 'PA', '${MIND.a}'), ('${PROJECT.b}', 'attack-pb', 'PB', '${MIND.b}');
INSERT INTO public.contents (id, project_id, slug, title, content_type) VALUES
  ('${DRAFT.a}', '${PROJECT.a}', 'draft-a', 'Draft A', 'course_outline'), ('${DRAFT.b}', '${PROJECT.b}', 'draft-b', 'Draft B', 'course_outline');`;

type Outcome = { ok: true } | { ok: false; code: string; constraint: string | null };

/** Runs `sql` as tenant `who` through the API roles, committed when it succeeds. */
async function asTenant(url: string, who: 'a' | 'b', sql: string): Promise<Outcome> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('BEGIN');
    await client.query('SET LOCAL ROLE authenticated');
    await client.query("SELECT set_config('request.jwt.claims', $1, true)", [JSON.stringify({ sub: USER[who], role: 'authenticated' })]);
    await client.query(sql);
    await client.query('COMMIT');
    return { ok: true };
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    const e = error as { code?: string; constraint?: string };
    return { ok: false, code: e.code ?? '', constraint: e.constraint ?? null };
  } finally {
    await client.end();
  }
}

const childOf = (parent: string, slug: string) =>
  `INSERT INTO public.contents (project_id, parent_content_id, slug, title, content_type) VALUES ('${PROJECT.a}', '${parent}', '${slug}', 'Child', 'course_module')`;

describe.each(testServers())('cross-tenant references ($name)', (server) => {
  describe('on the full CreatorOS set', () => {
    let db: TestDatabase;
    beforeAll(async () => {
      db = await createTestDatabase(server, 'xref');
      const applied = await runCli(['apply', '--db', db.url, '--no-backup'], { env: cleanEnv() });
      expect(applied.code, applied.stderr).toBe(0);
      await query(db.url, SEED);
    });
    afterAll(async () => {
      await db.drop();
    });

    it("A cannot hang a child under B's draft, and learns nothing B's id and an unknown id would not both say", async () => {
      const theirs = await asTenant(db.url, 'a', childOf(DRAFT.b, 'under-b'));
      const unknown = await asTenant(db.url, 'a', childOf(UNKNOWN, 'under-nothing'));
      expect(theirs).toEqual({ ok: false, code: '23503', constraint: 'contents_parent_same_project_fkey' });
      expect(unknown).toEqual(theirs);
      // A's own hierarchy still works
      expect(await asTenant(db.url, 'a', childOf(DRAFT.a, 'under-a'))).toEqual({ ok: true });
    });

    it('B can still delete its own draft and project', async () => {
      expect(await asTenant(db.url, 'b', `DELETE FROM public.contents WHERE id = '${DRAFT.b}'`)).toEqual({ ok: true });
      expect(await asTenant(db.url, 'b', `DELETE FROM public.content_projects WHERE id = '${PROJECT.b}'`)).toEqual({ ok: true });
      const [left] = await query<{ n: number }>(db.url, `SELECT count(*)::int AS n FROM public.contents WHERE project_id = '${PROJECT.b}'`);
      expect(left?.n).toBe(0);
    });

    it("A cannot name B's mind as persona or author; a persona mind and A's own mind are fine", async () => {
      const refused = { ok: false, code: '42501', constraint: null };
      expect(await asTenant(db.url, 'a', `INSERT INTO public.content_minds (content_id, mind_id, role) VALUES ('${DRAFT.a}', '${MIND.b}', 'author')`)).toEqual(refused);
      expect(await asTenant(db.url, 'a', `UPDATE public.content_projects SET persona_mind_id = '${MIND.b}' WHERE id = '${PROJECT.a}'`)).toEqual(refused);
      expect(await asTenant(db.url, 'a', `INSERT INTO public.content_projects (slug, name, creator_mind_id, persona_mind_id) VALUES ('attack-px', 'PX', '${MIND.a}', '${MIND.b}')`)).toEqual(refused);
      expect(await asTenant(db.url, 'a', `INSERT INTO public.content_minds (content_id, mind_id, role) VALUES ('${DRAFT.a}', '${MIND.persona}', 'creator')`)).toEqual(refused);
      expect(await asTenant(db.url, 'a', `UPDATE public.content_projects SET persona_mind_id = '${MIND.persona}' WHERE id = '${PROJECT.a}'`)).toEqual({ ok: true });
      expect(
        await asTenant(db.url, 'a', `INSERT INTO public.content_minds (content_id, mind_id, role) VALUES ('${DRAFT.a}', '${MIND.a}', 'creator'), ('${DRAFT.a}', '${MIND.persona}', 'persona'), ('${DRAFT.a}', '${MIND.a}', 'author')`),
      ).toEqual({ ok: true });
      const rows = await query<{ mind_id: string }>(db.url, `SELECT mind_id FROM public.content_minds WHERE mind_id = '${MIND.b}' UNION ALL SELECT persona_mind_id FROM public.content_projects WHERE persona_mind_id = '${MIND.b}'`);
      expect(rows).toEqual([]);
    });
  });

  describe("the isolation matrix's reference-other probe", () => {
    let db: TestDatabase;
    const before = copyMigrations({ count: MIGRATION_NAMES.indexOf(NEW_MIGRATION) });
    beforeAll(async () => {
      db = await createTestDatabase(server, 'xrefm');
      const applied = await runCli(['apply', '--db', db.url, '--no-backup', '--migrations-dir', before.dir], { env: cleanEnv() });
      expect(applied.code, applied.stderr).toBe(0);
    });
    afterAll(async () => {
      await db.drop();
      before.cleanup();
    });
    const audit = async () => {
      const result = await runCli(['rls-audit', '--db', db.url, '--json', '--fail-on', 'never'], { env: cleanEnv() });
      return { code: result.code, report: parseJson<AuditReport>(result) };
    };

    it('finds the holes on the set before the migration, and none after it', async () => {
      const vulnerable = await audit();
      expect(vulnerable.code).toBe(ERROR_CODES.RLS_AUDIT_FAILED.exit);
      const leaks = vulnerable.report.matrix.filter((c) => c.verdict === 'leak');
      expect(leaks.map((c) => `${c.relation} ${c.identity} ${c.operation}`).sort()).toEqual([
        'public.content_minds tenant-a reference-other', 'public.content_minds tenant-b reference-other',
        'public.content_projects tenant-a reference-other', 'public.content_projects tenant-b reference-other',
        'public.contents tenant-a reference-other', 'public.contents tenant-b reference-other',
      ]);
      expect(leaks.find((c) => c.relation === 'public.contents' && c.identity === 'tenant-a')?.detail).toBe("parent_content_id -> tenant B's public.contents row accepted");
      expect(vulnerable.report.residue?.clean).toBe(true);

      const applied = await runCli(['apply', '--db', db.url, '--no-backup'], { env: cleanEnv() });
      expect(applied.code, applied.stderr).toBe(0);
      const fixed = await audit();
      expect(fixed.code).toBe(0);
      expect(fixed.report.matrix.filter((c) => c.verdict !== 'ok')).toEqual([]);
      const probes = fixed.report.matrix.filter((c) => c.operation === 'reference-other');
      expect(probes).toHaveLength(6);
      expect(probes.find((c) => c.relation === 'public.contents' && c.identity === 'tenant-b')?.detail).toBe('parent_content_id refused (23503)');
      expect(probes.find((c) => c.relation === 'public.content_minds' && c.identity === 'tenant-a')?.detail).toBe('mind_id refused (42501)');
    });
  });

  describe('a brownfield database with a parent in another project', () => {
    let db: TestDatabase;
    const CROSS = '66666666-6666-4666-8666-666666666665';
    beforeAll(async () => {
      db = await createTestDatabase(server, 'xrefb');
      await query(db.url, readFileSync(path.join(ROOT, 'test/fixtures/v070-brownfield.sql'), 'utf8'));
      // a module of project sql-avancado whose parent is the outline of supabase-zero
      await query(db.url, `INSERT INTO public.contents (id, project_id, parent_content_id, slug, title, content_type) VALUES
        ('${CROSS}', '55555555-5555-4555-8555-555555555555', '66666666-6666-4666-8666-666666666661', 'stray', 'Stray module', 'course_module')`);
    });
    afterAll(async () => {
      await db.drop();
    });
    const rows = () => query<{ r: unknown }>(db.url, 'SELECT to_jsonb(c) AS r FROM public.contents c ORDER BY id');
    const parentKeys = () =>
      query<{ conname: string; def: string }>(db.url, `SELECT conname, pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE conrelid = 'public.contents'::regclass AND contype IN ('f', 'u') ORDER BY conname`);

    it('the migration refuses, naming the row, and changes nothing; fixed, it applies; its down restores the old key', async () => {
      const rowsBefore = await rows();
      const refused = await runCli(['apply', '--db', db.url, '--no-backup'], { env: cleanEnv() });
      expect(refused.code).not.toBe(0);
      expect(refused.stderr).toContain(`migration ${NEW_MIGRATION} failed: dbkit: 1 contents row(s) have a parent in another project, which the new key forbids: ${CROSS} (project 55555555-5555-4555-8555-555555555555; its parent 66666666-6666-4666-8666-666666666661 is in project 44444444-4444-4444-8444-444444444444)`);
      expect(refused.stderr).toMatch(/hint: move each into its parent's project, or set its parent_content_id to NULL/);
      expect(await rows()).toEqual(rowsBefore);
      const applied = await query<{ name: string }>(db.url, 'SELECT name FROM dbkit.migrations ORDER BY id');
      expect(applied.map((r) => r.name)).toEqual(MIGRATION_NAMES.slice(0, MIGRATION_NAMES.indexOf(NEW_MIGRATION)));
      const keysBefore = await parentKeys();
      expect(keysBefore.map((k) => k.conname)).toContain('contents_parent_content_id_fkey');

      await query(db.url, `UPDATE public.contents SET parent_content_id = NULL WHERE id = '${CROSS}'`);
      const fixed = await runCli(['apply', '--db', db.url, '--no-backup'], { env: cleanEnv() });
      expect(fixed.code, fixed.stderr).toBe(0);
      expect((await parentKeys()).map((k) => k.def)).toEqual(expect.arrayContaining(['UNIQUE (project_id, id)', 'FOREIGN KEY (project_id, parent_content_id) REFERENCES contents(project_id, id)']));
      expect((await parentKeys()).map((k) => k.conname)).not.toContain('contents_parent_content_id_fkey');

      // back to the migration before it (later ones, applied with it, go first)
      const reverted = await runCli(['rollback', '--db', db.url, '--yes', '--no-backup', '--to', MIGRATION_NAMES[MIGRATION_NAMES.indexOf(NEW_MIGRATION) - 1]!], { env: cleanEnv() });
      expect(reverted.code, reverted.stderr).toBe(0);
      expect(await parentKeys()).toEqual(keysBefore);
      expect((await rows()).length).toBe(rowsBefore.length);
    });
  });
});

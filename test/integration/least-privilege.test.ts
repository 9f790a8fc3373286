/**
 * dbkit run as roles that are not superusers, on both servers: a role without privileges is
 * refused at pre-flight with every missing privilege and its GRANT (exit 7), never "a bug in
 * dbkit", and nothing changes; a read-only role runs the read-only commands; the GRANTs a refusal
 * prints, run as they are, are enough for the command to succeed; a permission error past
 * pre-flight is the user's to fix (exit 32, or the migration's own exit code) with its GRANT.
 */
import { MIGRATION_NAMES } from '../helpers/migrations.ts';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanEnv, parseJson, runCli, type CliResult } from '../helpers/cli.ts';
import { createTestDatabase, query, testServers, type TestDatabase } from '../helpers/db.ts';
import { migrate, tempDir } from '../helpers/courses.ts';
import { createRole, type TestRole } from '../helpers/roles.ts';
import { generateCourses } from '../../scripts/generate-courses.ts';
import { withClient } from '../../src/db/scoped.ts';
import { errorDocument, type ErrorDocument } from '../../src/output/errors.ts';
import { ERROR_CODES } from '../../src/errors.ts';
import type { AuditReport } from '../../src/commands/rls-audit.ts';

const as = (url: string, args: string[]) => runCli([...args, '--db', url], { env: cleanEnv() });
const show = (r: CliResult) => `exit ${r.code}\n${r.stdout}\n${r.stderr}`;

/** The statements a refusal's hint tells an administrator to run. */
function grantsIn(hint: string): string[] {
  return [...hint.matchAll(/((?:GRANT|ALTER ROLE|ALTER DATABASE) [^;]+);/g)].map((m) => m[1]!);
}

function expectRefused(result: CliResult, ...mentions: string[]): void {
  expect(result.code, show(result)).toBe(ERROR_CODES.PREFLIGHT_FAILED.exit);
  expect(result.stderr).not.toContain('bug in dbkit');
  for (const text of mentions) expect(result.stderr, show(result)).toContain(text);
}

const refusal = (result: CliResult): ErrorDocument => parseJson<{ error: ErrorDocument }>(result).error;

describe.each(testServers())('least-privilege roles on $name', (server) => {
  let db: TestDatabase;
  let none: TestRole;
  let reader: TestRole;
  const work = tempDir('lp-courses');
  let courseDir: string;
  let slug: string;

  beforeAll(async () => {
    db = await createTestDatabase(server, 'lp');
    await migrate(db);
    courseDir = path.join(work.dir, generateCourses(work.dir, { count: 1, lessons: 3, modules: 1 })[0]!);
    const synced = await runCli(['sync', courseDir, '--creator', 'alan', '--db', db.url, '--json'], { env: cleanEnv() });
    expect(synced.code, show(synced)).toBe(0);
    slug = parseJson<{ courses: { slug: string }[] }>(synced).courses[0]!.slug;
    none = await createRole(server, 'lpnone');
    reader = await createRole(server, 'lpread', 'BYPASSRLS');
    await query(db.url, `GRANT USAGE ON SCHEMA dbkit TO ${reader.name}; GRANT SELECT ON ALL TABLES IN SCHEMA dbkit, public TO ${reader.name}`);
  });

  afterAll(async () => {
    await db?.drop();
    await none?.drop();
    await reader?.drop();
    work.cleanup();
  });

  const state = () => query<{ migrations: number; contents: number }>(db.url, 'SELECT (SELECT count(*)::int FROM dbkit.migrations) AS migrations, (SELECT count(*)::int FROM public.contents) AS contents');

  it('a role without privileges is refused at pre-flight by every command, each privilege named with its GRANT, and nothing changes', async () => {
    const before = await state();
    const url = none.url(db.name);
    const role = `"${none.name}"`;
    const reading = [`USAGE on schema dbkit`, `GRANT USAGE ON SCHEMA "dbkit" TO ${role}`, `GRANT SELECT ON TABLE "dbkit"."migrations" TO ${role}`];
    expectRefused(await as(url, ['status']), ...reading);
    expectRefused(await as(url, ['apply', '--dry-run']), ...reading);
    // Without read access dbkit cannot tell whether anything is pending: it names what a run needs.
    const writing = [`USAGE on schema dbkit`, `GRANT CREATE ON SCHEMA "dbkit" TO ${role}`, `GRANT SELECT, INSERT, DELETE ON TABLE "dbkit"."migrations" TO ${role}`, `ALTER ROLE ${role} BYPASSRLS`];
    expectRefused(await as(url, ['apply']), ...writing);
    expectRefused(await as(url, ['rollback', '--yes']), ...reading);
    expectRefused(await as(url, ['backup']), 'read access to every schema, table and sequence a backup reads', `ALTER ROLE ${role} BYPASSRLS`);
    const courses = [`SELECT on table public.contents`, `GRANT SELECT ON TABLE "public"."contents" TO ${role}`];
    expectRefused(await as(url, ['monitor']), ...courses);
    expectRefused(await as(url, ['tree', slug]), ...courses);
    expectRefused(await as(url, ['verify', courseDir]), ...courses);
    expectRefused(await as(url, ['sync', courseDir]), `GRANT SELECT, INSERT, UPDATE ON TABLE "public"."contents" TO ${role}`);
    expectRefused(await as(url, ['rls-audit']), `GRANT "anon" TO ${role}`, `GRANT SELECT, INSERT ON TABLE "public"."minds" TO ${role}`, '--no-matrix');
    const json = refusal(await as(url, ['status', '--json']));
    expect(json).toMatchObject({ code: 'PREFLIGHT_FAILED', exitCode: ERROR_CODES.PREFLIGHT_FAILED.exit });
    expect(json.message).toContain(`user "${none.name}" lacks 3 privileges that dbkit status needs`);
    expect(await state()).toEqual(before);
  });

  it('rls-audit --no-matrix without rights to compile the declarations says "cannot verify (permission denied)" at info level, never changed or DROP', async () => {
    const result = await as(none.url(db.name), ['rls-audit', '--no-matrix', '--json']);
    expect(result.code, show(result)).toBe(0);
    const report = parseJson<AuditReport>(result);
    const drift = report.findings.filter((f) => f.rule.startsWith('policy-drift'));
    expect(drift.length).toBeGreaterThan(0);
    for (const f of drift) {
      expect(f).toMatchObject({ rule: 'policy-drift-unverified', level: 'info' });
      expect(f.message).toContain('cannot verify (permission denied');
      expect(f.fix).not.toContain('DROP');
    }
    expect(report.drift.unverified).toBe(drift.length);
    expect(report.summary.drift).toBe(0);
  });

  it('a read-only role (SELECT, BYPASSRLS) runs status, rls-audit --no-matrix, monitor, tree, verify, backups and an up-to-date apply', async () => {
    const url = reader.url(db.name);
    const status = await as(url, ['status', '--json']);
    expect(status.code, show(status)).toBe(0);
    expect(parseJson<{ applied: unknown[] }>(status).applied.length).toBe(MIGRATION_NAMES.length);
    const audit = await as(url, ['rls-audit', '--no-matrix', '--json']);
    expect(audit.code, show(audit)).toBe(0);
    expect(parseJson<AuditReport>(audit).findings.filter((f) => f.rule === 'policy-drift-changed' || f.rule === 'policy-drift-missing')).toEqual([]);
    const monitor = await as(url, ['monitor', '--json']);
    expect(monitor.code, show(monitor)).toBe(0);
    expect(parseJson<{ recentWrites: { slug: string }[] }>(monitor).recentWrites.map((w) => w.slug)).toEqual([slug]);
    const tree = await as(url, ['tree', slug, '--json']);
    expect(tree.code, show(tree)).toBe(0);
    const verify = await as(url, ['verify', courseDir, '--json']);
    expect(verify.code, show(verify)).toBe(0);
    const backups = await as(url, ['backups', '--json']);
    expect(backups.code, show(backups)).toBe(0);
    for (const args of [['apply'], ['apply', '--dry-run']]) {
      const apply = await as(url, args);
      expect(apply.code, show(apply)).toBe(0);
    }
    // ...and is refused, naming what is missing, where its work would write.
    expectRefused(await as(url, ['sync', courseDir]), `INSERT, UPDATE on table public.contents`);
    expectRefused(await as(url, ['rollback', '--yes', '--no-backup']), `CREATE on database ${db.name}`, `GRANT CREATE ON SCHEMA "dbkit" TO "${reader.name}"`);
    expectRefused(await as(url, ['backup', '--backup-strategy', 'template']), 'the CREATEDB attribute', `ALTER DATABASE "${db.name}" OWNER TO "${reader.name}"`);
    const backupDir = path.join(work.dir, 'backups');
    const taken = await runCli(['backup', '--db', db.url, '--backup-dir', backupDir, '--json'], { env: cleanEnv() });
    expect(taken.code, show(taken)).toBe(0);
    const id = parseJson<{ backup: { id: string } }>(taken).backup.id;
    expectRefused(await as(url, ['restore', id, '--in-place', '--yes', '--backup-dir', backupDir]), `ownership of database ${db.name} (an in-place restore replaces it)`);
    expectRefused(await as(url, ['restore', id, '--backup-dir', backupDir]), 'the CREATEDB attribute', `ALTER ROLE "${reader.name}" CREATEDB`);
  });

  it('sync: a permission error past pre-flight (an audit trigger the role may not write through) stops the run as PERMISSION_DENIED, never COURSE_INVALID', async () => {
    const writer = await createRole(server, 'lpsync', 'BYPASSRLS');
    try {
      await query(db.url, `GRANT SELECT ON public.minds TO ${writer.name};
        GRANT SELECT, INSERT, UPDATE ON public.content_projects, public.contents, public.audience_profiles, public.content_minds TO ${writer.name};
        CREATE SCHEMA lp_audit; CREATE TABLE lp_audit.log (at timestamptz DEFAULT now());
        CREATE FUNCTION lp_audit.note() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO lp_audit.log DEFAULT VALUES; RETURN NEW; END $$;
        CREATE TRIGGER lp_audit AFTER INSERT ON public.content_projects FOR EACH ROW EXECUTE FUNCTION lp_audit.note();`);
      const dir = path.join(work.dir, generateCourses(work.dir, { count: 1, lessons: 2, modules: 1, prefix: 'audited' })[0]!);
      const before = await state();
      const result = await as(writer.url(db.name), ['sync', dir, '--json']);
      expect(result.code, show(result)).toBe(ERROR_CODES.PERMISSION_DENIED.exit);
      const error = parseJson<{ error: ErrorDocument }>(result).error;
      expect(error).toMatchObject({ code: 'PERMISSION_DENIED', sqlstate: '42501', message: 'permission denied for schema lp_audit' });
      expect(error.hint).toContain(`GRANT USAGE ON SCHEMA "lp_audit" TO "${writer.name}"`);
      expect(result.stdout).not.toContain('COURSE_INVALID');
      expect(await state()).toEqual(before);
    } finally {
      await query(db.url, `DROP SCHEMA lp_audit CASCADE; DROP OWNED BY ${writer.name}`);
      await writer.drop();
    }
  });

  it('a permission error the server raises past pre-flight is PERMISSION_DENIED (exit 32) with its GRANT, not a bug', async () => {
    const error = await withClient(none.url(db.name), {}, (c) => c.query('SELECT count(*) FROM public.contents').then(() => null, (e: unknown) => e));
    const doc = errorDocument(error);
    expect(doc).toMatchObject({ code: 'PERMISSION_DENIED', exitCode: ERROR_CODES.PERMISSION_DENIED.exit, sqlstate: '42501', message: 'permission denied for table contents' });
    expect(doc.hint).toContain(`GRANT SELECT ON TABLE "contents" TO "${none.name}"`);
    // ...also when a library wrapped the server's error in its own.
    expect(errorDocument(new Error('Unable to ensure migrations table', { cause: error }))).toMatchObject({ code: 'PERMISSION_DENIED', message: 'permission denied for table contents' });
  });
});

describe.each(testServers())('the GRANTs a refusal prints are enough, on $name', (server) => {
  let db: TestDatabase;
  let migrator: TestRole;
  const folder = tempDir('lp-migrations');
  const migration = (name: string, table: string) =>
    writeFileSync(path.join(folder.dir, `${name}.ts`), `export const up = (pgm) => { pgm.createTable('${table}', { id: 'id', body: 'text' }); };\nexport const down = (pgm) => { pgm.dropTable('${table}'); };\n`);

  beforeAll(async () => {
    db = await createTestDatabase(server, 'lpgrant');
    migrator = await createRole(server, 'lpmig');
    migration('20250101000000_notes', 'lp_notes');
    // dbkit's bookkeeping created by another role (the administrator's first apply).
    const first = await runCli(['apply', '--db', db.url, '--no-backup', '--migrations-dir', folder.dir], { env: cleanEnv() });
    expect(first.code, show(first)).toBe(0);
  });

  afterAll(async () => {
    await db?.drop();
    await migrator?.drop();
    folder.cleanup();
  });

  /** Runs the hint's statements as the administrator, exactly as printed. */
  const grant = async (hint: string | null) => {
    const statements = grantsIn(hint ?? '');
    expect(statements.length).toBeGreaterThan(0);
    for (const statement of statements) await query(db.url, statement);
  };
  const apply = (args: string[] = []) => as(migrator.url(db.name), ['apply', '--migrations-dir', folder.dir, '--json', ...args]);

  it('apply: refused with the bookkeeping GRANTs; after them a migration the server refuses fails with its own GRANT; then it applies and rolls back', async () => {
    migration('20250102000000_tags', 'lp_tags');
    const refused = await apply(['--no-backup']);
    expect(refused.code, show(refused)).toBe(ERROR_CODES.PREFLIGHT_FAILED.exit);
    const doc = refusal(refused);
    expect(doc.message).toContain('CREATE on schema dbkit');
    await grant(doc.hint);

    // The bookkeeping is now allowed; the migration's own CREATE TABLE in public is not.
    const failed = await apply(['--no-backup']);
    expect(failed.code, show(failed)).toBe(ERROR_CODES.MIGRATION_FAILED.exit);
    const failure = parseJson<{ error: ErrorDocument }>(failed).error;
    expect(failure.sqlstate).toBe('42501');
    expect(failure.hint).toContain(`ON SCHEMA "public" TO "${migrator.name}"`);
    expect(failure.hint).not.toContain('bug in dbkit');

    await query(db.url, `GRANT CREATE ON SCHEMA public TO ${migrator.name}`);
    const applied = await apply(['--no-backup']);
    expect(applied.code, show(applied)).toBe(0);
    expect(await query(db.url, `SELECT to_regclass('public.lp_tags') IS NOT NULL AS ok`)).toEqual([{ ok: true }]);
    const rolledBack = await as(migrator.url(db.name), ['rollback', '--yes', '--no-backup', '--migrations-dir', folder.dir]);
    expect(rolledBack.code, show(rolledBack)).toBe(0);
    expect(await query(db.url, `SELECT to_regclass('public.lp_tags') IS NULL AS ok`)).toEqual([{ ok: true }]);
  });

  it('apply with its backup: refused with what the backup needs, then the GRANTs make it work', async () => {
    const refused = await apply();
    expect(refused.code, show(refused)).toBe(ERROR_CODES.PREFLIGHT_FAILED.exit);
    const doc = refusal(refused);
    // pg_dump (the external server has one as new as itself) or a template copy (the embedded one).
    expect(doc.message).toMatch(/a backup reads|the CREATEDB attribute/);
    await grant(doc.hint);
    const applied = await apply();
    expect(applied.code, show(applied)).toBe(0);
    const report = parseJson<{ backup: { verified: boolean } | null; migrations: { name: string; status: string }[] }>(applied);
    expect(report.backup?.verified).toBe(true);
    expect(report.migrations).toEqual([{ name: '20250102000000_tags', status: 'applied', durationMs: expect.any(Number) }]);
  });
});

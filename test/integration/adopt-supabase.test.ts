/**
 * A Supabase CLI project (supabase/migrations/<version>_<name>.sql, history in
 * supabase_migrations.schema_migrations) taken over by dbkit: status shows what the CLI applied as
 * adopted, apply records it and applies the rest with the same history row the CLI writes,
 * rollback refuses (Supabase migrations are up-only) naming the backup taken before, and the
 * schema matches a database the CLI's way of applying migrated, at every step.
 */
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanEnv, parseJson, runCli } from '../helpers/cli.ts';
import { createTestDatabase, query, testServers, type TestDatabase } from '../helpers/db.ts';
import { appliedNames, describeDiff, fingerprint } from '../helpers/schema.ts';
import { scratchFolder, type ScratchFolder } from '../helpers/folders.ts';
import { applyLikeSupabaseCli, supabaseFileText, type SupabaseFile } from '../helpers/plain-tools.ts';
import type { StatusReport } from '../../src/commands/status.ts';
import type { ApplyReport } from '../../src/commands/apply.ts';

// The platform's auth schema, as a stub (a Supabase database has it before any migration).
const AUTH_STUB = `CREATE SCHEMA auth; CREATE FUNCTION auth.uid() RETURNS uuid LANGUAGE sql STABLE AS $$ SELECT NULLIF(current_setting('request.jwt.claim.sub', true), '')::uuid $$`;

const MIGRATIONS: SupabaseFile[] = [
  {
    version: '20240101000000',
    name: 'remote_schema',
    // A `supabase db dump` clears search_path for the rest of the session: the CLI's RESET ALL keeps it from the next file.
    statements: ["SELECT pg_catalog.set_config('search_path', '', false)", 'CREATE TABLE public.profiles (id uuid PRIMARY KEY, username text UNIQUE)', 'ALTER TABLE public.profiles ENABLE ROW LEVEL SECURITY'],
  },
  {
    version: '20240215093000',
    name: 'profiles_policies',
    statements: ['begin', '-- owners only\ncreate policy "own profile" on profiles for all using ((select auth.uid()) = id)', 'commit'],
  },
  {
    version: '20240301120000',
    name: 'posts',
    statements: [
      'create table posts (id bigint generated always as identity primary key, author uuid not null references profiles(id), body text)',
      'create function post_count(a uuid) returns bigint language sql stable as $$ select count(*) from posts where author = a; $$',
    ],
  },
];

const history = async (url: string) =>
  query<{ version: string; name: string; statements: string[] }>(url, 'SELECT version, name, statements FROM supabase_migrations.schema_migrations ORDER BY version');

describe.each(testServers())('adopting a Supabase CLI project, on $name', (server) => {
  let folder: ScratchFolder;
  let plain: TestDatabase;
  let adopted: TestDatabase;
  // One state folder for every run, as in a project: the rollback finds the backup apply took.
  const env = cleanEnv();
  const dbkit = (args: string[]) => runCli([...args, '--db', adopted.url, '--migrations-dir', folder.dir], { cwd: folder.root, env });

  async function expectSameSchema(step: string): Promise<void> {
    const [a, b] = [await fingerprint(plain.url), await fingerprint(adopted.url)];
    expect(b.hash, `${step}:\n${describeDiff(a, b)}`).toBe(a.hash);
    expect(await history(adopted.url), step).toEqual(await history(plain.url));
  }

  beforeAll(async () => {
    folder = scratchFolder(Object.fromEntries(MIGRATIONS.map((m) => [`${m.version}_${m.name}.sql`, supabaseFileText(m)])), 'supabase');
    folder.write('README.md', '# migrations\n');
    plain = await createTestDatabase(server, 'supa');
    adopted = await createTestDatabase(server, 'supa');
    for (const db of [plain, adopted]) {
      await query(db.url, AUTH_STUB);
      await applyLikeSupabaseCli(db.url, MIGRATIONS.slice(0, 2));
    }
  });
  afterAll(async () => {
    folder.cleanup();
    rmSync(env.DBKIT_STATE_DIR!, { recursive: true, force: true });
    await plain.drop();
    await adopted.drop();
  });

  it('status: the two files the CLI applied are applied and adopted, the third pending; the README is skipped as the CLI skips it', async () => {
    const result = await dbkit(['status', '--json']);
    expect(result.code, result.stderr).toBe(0);
    const report = parseJson<StatusReport>(result);
    expect(report.history).toBe('supabase_migrations.schema_migrations');
    expect(report.applied.map((a) => [a.name, a.adopted?.recorded])).toEqual([
      ['20240101000000_remote_schema', false],
      ['20240215093000_profiles_policies', false],
    ]);
    expect(report.pending).toEqual(['20240301120000_posts']);
    expect(report.skipped).toEqual([{ file: 'README.md', reason: 'not named <timestamp>_<name>.sql, so the Supabase CLI skips it' }]);
    await expectSameSchema('after status');
  });

  it('apply: adopts the two, applies the third (after RESET ALL, as the CLI does) and records the same history row the CLI writes', async () => {
    const result = await dbkit(['apply', '--json']);
    expect(result.code, result.stderr).toBe(0);
    const report = parseJson<ApplyReport>(result);
    expect(report.adopted).toEqual(['20240101000000_remote_schema', '20240215093000_profiles_policies']);
    expect(report.migrations.map((m) => [m.name, m.status])).toEqual([['20240301120000_posts', 'applied']]);
    expect(report.backup?.verified).toBe(true);
    expect(report.validation).toEqual([]);
    await applyLikeSupabaseCli(plain.url, MIGRATIONS.slice(2));
    await expectSameSchema('after apply');
    expect(await appliedNames(adopted.url)).toEqual(MIGRATIONS.map((m) => `${m.version}_${m.name}`));
  });

  it('rollback: refuses before any change, naming the migration and the verified backup taken before it was applied', async () => {
    const backupId = parseJson<StatusReport>(await dbkit(['status', '--json'])).lastBackup?.id;
    expect(backupId).toBeTruthy();
    const before = await fingerprint(adopted.url, { includeDbkitSchema: true });
    const result = await dbkit(['rollback', '--yes']);
    expect(result.code).toBe(7);
    expect(result.stderr).toContain('cannot revert 20240301120000_posts (Supabase CLI migrations are up-only): rollback has no down to run');
    expect(result.stderr).toContain(`restore the verified backup taken before 20240301120000_posts was applied: dbkit restore ${backupId}`);
    const after = await fingerprint(adopted.url, { includeDbkitSchema: true });
    expect(after.hash, describeDiff(before, after)).toBe(before.hash);
    await expectSameSchema('after the refused rollback');
  });

  it('apply again: nothing to apply, nothing changes', async () => {
    const result = await dbkit(['apply']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('Nothing to apply: the database is up to date.');
    await expectSameSchema('after the second apply');
  });
});

describe.each(testServers())('a Supabase folder on a fresh database, on $name', (server) => {
  it('dbkit writes the history the CLI would, so `supabase db push` finds everything applied', async () => {
    const folder = scratchFolder(Object.fromEntries(MIGRATIONS.map((m) => [`${m.version}_${m.name}.sql`, supabaseFileText(m)])), 'supabase');
    const [viaDbkit, viaCli] = [await createTestDatabase(server, 'supa'), await createTestDatabase(server, 'supa')];
    try {
      for (const db of [viaDbkit, viaCli]) await query(db.url, AUTH_STUB);
      const result = await runCli(['apply', '--db', viaDbkit.url, '--migrations-dir', folder.dir, '--no-backup'], { cwd: folder.root });
      expect(result.code, result.stderr).toBe(0);
      await applyLikeSupabaseCli(viaCli.url, MIGRATIONS);
      const [a, b] = [await fingerprint(viaCli.url), await fingerprint(viaDbkit.url)];
      expect(b.hash, describeDiff(a, b)).toBe(a.hash);
      expect(await history(viaDbkit.url)).toEqual(await history(viaCli.url));
    } finally {
      folder.cleanup();
      await viaDbkit.drop();
      await viaCli.drop();
    }
  });
});

/**
 * dbkit minds add|list, and the README's course example as a new user runs it on a fresh
 * database: apply, add the two minds, generate course folders with scripts/generate-courses.ts,
 * sync them attributed to those minds.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cleanEnv, parseJson, ROOT, runCli } from '../helpers/cli.ts';
import { createTestDatabase, query, testServers, type TestDatabase } from '../helpers/db.ts';
import { tempDir } from '../helpers/courses.ts';
import type { MindAddReport, MindListReport } from '../../src/commands/minds.ts';
import type { TreeReport } from '../../src/commands/tree.ts';
import { ERROR_CODES } from '../../src/errors.ts';

describe.each(testServers())('dbkit minds on $name', (server) => {
  let db: TestDatabase;
  let work: ReturnType<typeof tempDir>;
  const cli = (args: string[]) => runCli([...args, '--db', db.url], { env: cleanEnv() });
  const state = async () => ({
    minds: (await query<{ slug: string }>(db.url, 'SELECT slug FROM public.minds ORDER BY slug')).map((r) => r.slug),
    users: (await query<{ email: string | null }>(db.url, 'SELECT email FROM auth.users ORDER BY email')).map((r) => r.email),
  });
  beforeEach(async () => {
    db = await createTestDatabase(server, 'minds');
    work = tempDir('minds');
  });
  afterEach(async () => {
    work.cleanup();
    await db.drop();
  });

  it("runs the README's course example as written on a fresh database", async () => {
    const courses = path.join(work.dir, 'outputs', 'courses');
    expect((await cli(['apply'])).code).toBe(0);
    const alan = await cli(['minds', 'add', 'alan', '--user', 'alan@example.com', '--name', 'Alan']);
    expect(alan.code, alan.stderr).toBe(0);
    expect(alan.stdout).toContain('user alan@example.com added to auth.users');
    expect(alan.stdout).toContain('mind alan added: Alan, user alan@example.com');
    const voice = await cli(['minds', 'add', 'alan-voice', '--name', 'Alan (voice)']);
    expect(voice.code, voice.stderr).toBe(0);
    const generate = spawnSync(path.join(ROOT, 'node_modules', '.bin', 'tsx'), ['scripts/generate-courses.ts', courses, '--count', '3'], { cwd: ROOT, encoding: 'utf8' });
    expect(generate.status, generate.stderr).toBe(0);
    const sync = await cli(['sync', courses, '--creator', 'alan', '--persona', 'alan-voice']);
    expect(sync.code, sync.stderr).toBe(0);
    expect(sync.stdout).toMatch(/^Synced 3 courses: 3 created, 0 updated, 0 unchanged; 93 rows written in /m);

    const tree = parseJson<TreeReport>(await cli(['tree', 'course-0001', '--json']));
    expect(tree.project).toMatchObject({ creator: 'alan', persona: 'alan-voice' });
    const list = parseJson<MindListReport>(await cli(['minds', 'list', '--json']));
    expect(list.minds.map((m) => [m.slug, m.displayName, m.email, m.creatorOf, m.personaOf])).toEqual([
      ['alan', 'Alan', 'alan@example.com', 3, 0],
      ['alan-voice', 'Alan (voice)', null, 0, 3],
    ]);
    const human = await cli(['minds', 'list']);
    expect(human.stdout).toMatch(/^alan\s+alan@example\.com\s+3\/0\s+Alan$/m);
  });

  it('is idempotent, and refuses a taken slug or a second mind for a user without changing anything', async () => {
    expect((await cli(['apply', '--no-backup'])).code).toBe(0);
    const first = parseJson<MindAddReport>(await cli(['minds', 'add', 'alan', '--user', 'Alan@Example.com', '--json']));
    expect(first).toMatchObject({ ok: true, status: 'created', userCreated: true, mind: { slug: 'alan', displayName: 'alan', email: 'Alan@Example.com' } });
    const again = parseJson<MindAddReport>(await cli(['minds', 'add', 'alan', '--user', 'alan@example.com', '--json']));
    expect(again).toMatchObject({ status: 'unchanged', userCreated: false });
    const before = await state();
    expect(before).toEqual({ minds: ['alan'], users: ['Alan@Example.com'] });

    const taken = await cli(['minds', 'add', 'alan', '--user', 'bob@example.com']);
    expect([taken.code, taken.stderr.split('\n')[0]]).toEqual([ERROR_CODES.MIND_CONFLICT.exit, "error: mind 'alan' already exists with another user (Alan@Example.com): nothing was changed"]);
    const second = await cli(['minds', 'add', 'alan-2', '--user', 'alan@example.com']);
    expect([second.code, second.stderr.split('\n')[0]]).toEqual([ERROR_CODES.MIND_CONFLICT.exit, "error: the user Alan@Example.com already has a mind ('alan'): a user has one mind; nothing was changed"]);
    const renamed = await cli(['minds', 'add', 'alan', '--name', 'Someone else']);
    expect(renamed.code).toBe(ERROR_CODES.MIND_CONFLICT.exit);
    const badSlug = await cli(['minds', 'add', 'two words']);
    const badUser = await cli(['minds', 'add', 'x', '--user', 'nobody']);
    expect([badSlug.code, badUser.code]).toEqual([2, 2]);
    for (const r of [taken, second, renamed, badSlug, badUser]) expect(r.stderr).not.toMatch(/\n\s+at /);
    // bob was resolved (and added to auth.users) inside the refused transaction: rolled back with it
    expect(await state()).toEqual(before);
  });

  it("only reads Supabase's auth.users: an unknown user is refused, a known one is found by email or id", async () => {
    // As on Supabase: auth.users exists before dbkit, so the compatibility migration leaves it alone.
    await query(db.url, `CREATE SCHEMA auth; CREATE TABLE auth.users (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), email text UNIQUE)`);
    const id = (await query<{ id: string }>(db.url, `INSERT INTO auth.users (email) VALUES ('known@example.com') RETURNING id`))[0]!.id;
    expect((await cli(['apply', '--no-backup'])).code).toBe(0);
    const unknown = await cli(['minds', 'add', 'ghost', '--user', 'ghost@example.com']);
    expect([unknown.code, unknown.stderr.split('\n')[0]]).toEqual([ERROR_CODES.NOT_FOUND.exit, 'error: no user with email ghost@example.com in auth.users: nothing was changed']);
    expect(unknown.stderr).toContain('create the user in Supabase Auth first');
    expect(await state()).toEqual({ minds: [], users: ['known@example.com'] });
    const byEmail = parseJson<MindAddReport>(await cli(['minds', 'add', 'known', '--user', 'known@example.com', '--json']));
    expect(byEmail).toMatchObject({ status: 'created', userCreated: false, mind: { userId: id } });
    await query(db.url, 'DELETE FROM public.minds');
    const byId = parseJson<MindAddReport>(await cli(['minds', 'add', 'known', '--user', id.toUpperCase(), '--json']));
    expect(byId).toMatchObject({ status: 'created', userCreated: false, mind: { userId: id, email: 'known@example.com' } });
  });

  it('sync names the missing minds with the command that adds them', async () => {
    expect((await cli(['apply', '--no-backup'])).code).toBe(0);
    const result = await cli(['sync', work.dir, '--creator', 'alan', '--persona', 'alan-voice']);
    expect(result.code).toBe(ERROR_CODES.NOT_FOUND.exit);
    expect(result.stderr).toBe("error: minds 'alan' and 'alan-voice' do not exist: nothing was written\n  hint: add them with dbkit minds add alan and dbkit minds add alan-voice (dbkit minds list shows the minds)\n");
  });
});

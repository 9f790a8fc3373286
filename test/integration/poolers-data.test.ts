/**
 * The data commands through a real PgBouncer in transaction mode (pools of 1 and 5): dbkit sync
 * and the CoursePersister send their statements unnamed there and work; rls-audit's matrix,
 * rolled back, leaves nothing behind: no rows, and no role or setting on the server session the
 * pooler hands to the next client.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import pg from 'pg';
import { cleanEnv, parseJson, runCli } from '../helpers/cli.ts';
import { createTestDatabase, query, testServers, type TestDatabase } from '../helpers/db.ts';
import { memoryLogger, migrate, tempDir, testClock } from '../helpers/courses.ts';
import { itWhen, poolerTestsAvailable, startPgBouncer, type PgBouncer } from '../helpers/pgbouncer.ts';
import { generateCourses } from '../../scripts/generate-courses.ts';
import { CoursePersister } from '../../src/persist/persister.ts';
import type { SyncReport } from '../../src/commands/sync.ts';

const external = testServers().find((s) => s.name === 'external');
const available = poolerTestsAvailable(external !== undefined);

async function tableCounts(url: string): Promise<Record<string, number>> {
  const tables = await query<{ t: string }>(url, `SELECT format('%I.%I', schemaname, tablename) AS t FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1`);
  const out: Record<string, number> = {};
  for (const { t } of tables) out[t] = (await query<{ n: number }>(url, `SELECT count(*)::int AS n FROM ${t}`))[0]!.n;
  return out;
}

describe.skipIf(!available).each([1, 5])('data commands through PgBouncer, pool_mode=transaction, default_pool_size=%i', (poolSize) => {
  let bouncer: PgBouncer;
  let db: TestDatabase;
  let url: string;
  beforeAll(async () => {
    bouncer = await startPgBouncer(external!.adminUrl, { mode: 'transaction', poolSize });
  });
  afterAll(async () => {
    await bouncer?.stop();
  });
  beforeEach(async () => {
    db = await createTestDatabase(external!, 'pooldata');
    await migrate(db);
    url = bouncer.urlFor(db.url);
  });
  afterEach(async () => {
    await db.drop();
  });

  it('dbkit sync works with four workers, and a second sync changes nothing', async () => {
    const work = tempDir('pooler-courses');
    try {
      generateCourses(work.dir, { count: 6 });
      const first = await runCli(['sync', work.dir, '--db', url, '--creator', 'alan', '--concurrency', '4', '--json'], { env: cleanEnv() });
      expect(first.code, first.stderr + first.stdout.slice(-2000)).toBe(0);
      expect(parseJson<SyncReport>(first).totals).toMatchObject({ courses: 6, created: 6, failed: 0 });
      const second = await runCli(['sync', work.dir, '--db', url, '--creator', 'alan', '--concurrency', '4', '--json'], { env: cleanEnv() });
      expect(second.code, second.stderr).toBe(0);
      expect(parseJson<SyncReport>(second).totals).toMatchObject({ courses: 6, unchanged: 6 });
      expect((await query<{ n: number }>(db.url, 'SELECT count(*)::int AS n FROM content_projects'))[0]!.n).toBe(6);
    } finally {
      work.cleanup();
    }
  });

  it('the CoursePersister adapts (no statement_timeout startup parameter, unnamed statements) and writes', async () => {
    const log = memoryLogger();
    const persister = new CoursePersister({ enabled: true, url, logger: log.logger, clock: testClock(), poolSize: 3 });
    try {
      const writes = await Promise.all(
        Array.from({ length: 6 }, (_, i) => persister.persistProject({ slug: `p${i}`, name: `Project ${i}`, creatorMind: 'alan' })),
      );
      expect(writes.map((w) => w.status)).toEqual(Array(6).fill('written'));
      for (let i = 0; i < 6; i++) {
        expect((await persister.persistContent(`p${i}`, { slug: 'outline', title: 'Outline', contentType: 'course_outline' })).status).toBe('written');
        expect((await persister.persistAudienceProfile(`p${i}`, 'icp', { age: i })).status).toBe('written');
      }
      // No write failed or waited for a retry: the first refusal adapted the persister, the others went again at once.
      expect(persister.stats(), log.lines.join("\n")).toMatchObject({ failed: 0, written: 18, retries: 0 });
      expect(log.lines.join('\n')).toMatch(/transaction pooler sits between the persister and the database/);
    } finally {
      await persister.close();
    }
    expect((await query<{ n: number }>(db.url, 'SELECT count(*)::int AS n FROM audience_profiles'))[0]!.n).toBe(6);
  });

  itWhen(poolSize === 1)('rls-audit leaves no residue: no rows, and no role or setting on the server session handed on', async () => {
    const before = await tableCounts(db.url);
    const result = await runCli(['rls-audit', '--db', url, '--json'], { env: cleanEnv() });
    expect([0, 22], result.stderr + result.stdout.slice(-1500)).toContain(result.code);
    expect(await tableCounts(db.url)).toEqual(before);
    // The pool has one server session: the next client gets the one the audit used.
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const { rows } = await client.query(`SELECT current_user AS "user", session_user AS "session", current_setting('role') AS role,
        coalesce(current_setting('request.jwt.claims', true), '') AS claims, coalesce(current_setting('request.jwt.claim.sub', true), '') AS sub`);
      expect(rows[0]).toEqual({ user: 'postgres', session: 'postgres', role: 'none', claims: '', sub: '' });
    } finally {
      await client.end();
    }
  });
});

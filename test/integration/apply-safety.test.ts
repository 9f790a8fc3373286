/**
 * What dbkit apply guarantees when things go wrong: concurrent runs, a held lock, drifted files,
 * lock timeouts, failing migrations, interruption, and the plan of a dry run.
 */
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseJson, runCli } from '../helpers/cli.ts';
import { createTestDatabase, query, testServers, type TestDatabase } from '../helpers/db.ts';
import { appliedNames, describeDiff, fingerprint } from '../helpers/schema.ts';
import { copyMigrations, MIGRATION_NAMES } from '../helpers/migrations.ts';
import { lockKeyFor } from '../../src/db/scoped.ts';
import type { ApplyReport } from '../../src/commands/apply.ts';
import type { StatusReport } from '../../src/commands/status.ts';

describe.each(testServers())('dbkit apply safety on $name', (server) => {
  let db: TestDatabase;
  let scratch: ReturnType<typeof copyMigrations> | null = null;
  beforeEach(async () => {
    db = await createTestDatabase(server);
  });
  afterEach(async () => {
    scratch?.cleanup();
    scratch = null;
    await db.drop();
  });

  it('never double-applies when two applies start together', async () => {
    const [a, b] = await Promise.all([runCli(['apply', '--db', db.url, '--json', '--no-backup']), runCli(['apply', '--db', db.url, '--json', '--no-backup'])]);
    expect(a.code, a.stderr).toBe(0);
    expect(b.code, b.stderr).toBe(0);
    const reports = [parseJson<ApplyReport>(a), parseJson<ApplyReport>(b)];
    const appliedByEach = reports.map((r) => r.migrations.filter((m) => m.status === 'applied').map((m) => m.name));
    // Exactly one run applied each migration; the other found it applied.
    expect([...appliedByEach[0]!, ...appliedByEach[1]!].sort()).toEqual(MIGRATION_NAMES);
    expect(await appliedNames(db.url)).toEqual(MIGRATION_NAMES);
    const rows = await query<{ n: number }>(db.url, 'SELECT count(*)::int AS n FROM dbkit.migrations');
    expect(rows[0]?.n).toBe(MIGRATION_NAMES.length);
  });

  it('gives up after --lock-wait when another operation holds the lock, and changes nothing', async () => {
    const holder = new pg.Client({ connectionString: db.url, application_name: 'other-dbkit' });
    await holder.connect();
    try {
      await holder.query('SELECT pg_advisory_lock($1, $2)', lockKeyFor(db.name));
      const before = await fingerprint(db.url, { includeDbkitSchema: true });
      const result = await runCli(['apply', '--db', db.url, '--lock-wait', '1s', '--no-backup']);
      expect(result.code).toBe(9);
      expect(result.stderr).toMatch(/another dbkit operation on this database is running \(backend pid \d+ \(other-dbkit\)\); gave up after 1\.00 s/);
      expect(result.stdout).toContain('Waiting up to 1 s');
      const after = await fingerprint(db.url, { includeDbkitSchema: true });
      expect(after.hash, describeDiff(before, after)).toBe(before.hash);
    } finally {
      await holder.end();
    }
  });

  it('refuses to run when an applied migration file was edited, naming the file', async () => {
    scratch = copyMigrations();
    expect((await runCli(['apply', '--db', db.url, '--no-backup', '--migrations-dir', scratch.dir])).code).toBe(0);
    scratch.add('20261201000000_more', "export const up = (pgm) => { pgm.sql('CREATE TABLE more_stuff (id int)'); };\nexport const down = (pgm) => { pgm.sql('DROP TABLE more_stuff'); };\n");
    appendFileSync(scratch.file('20251028120000_mind-attribution'), '\n// an innocent-looking edit\n');
    const before = await fingerprint(db.url, { includeDbkitSchema: true });
    const result = await runCli(['apply', '--db', db.url, '--no-backup', '--migrations-dir', scratch.dir]);
    expect(result.code).toBe(8);
    expect(result.stderr).toContain('20251028120000_mind-attribution: the file was edited after it was applied');
    const after = await fingerprint(db.url, { includeDbkitSchema: true });
    expect(after.hash).toBe(before.hash);
  });

  it('detects drift through an imported module: the policy file changed after the RLS migration was applied', async () => {
    scratch = copyMigrations();
    expect((await runCli(['apply', '--db', db.url, '--no-backup', '--migrations-dir', scratch.dir])).code).toBe(0);
    const policies = path.join(scratch.root, 'policies', 'creatoros.ts');
    writeFileSync(policies, readFileSync(policies, 'utf8').replace("name: 'content_tags_rw_by_content'", "name: 'content_tags_renamed'"));
    const result = await runCli(['status', '--db', db.url, '--json', '--migrations-dir', scratch.dir]);
    const status = parseJson<StatusReport>(result);
    expect(result.code).toBe(8);
    expect(status.drift).toEqual([expect.objectContaining({ name: '20251028120001_kiss-rls', kind: 'sql-changed' })]);
  });

  it('fails fast on lock_timeout and leaves that migration unapplied', async () => {
    scratch = copyMigrations({ count: 3 });
    expect((await runCli(['apply', '--db', db.url, '--no-backup', '--migrations-dir', scratch.dir])).code).toBe(0);
    const before = await fingerprint(db.url, { includeDbkitSchema: true });
    const blocker = new pg.Client({ connectionString: db.url });
    await blocker.connect();
    try {
      await blocker.query('BEGIN');
      await blocker.query('LOCK TABLE public.contents IN ACCESS SHARE MODE');
      const result = await runCli(['apply', '--db', db.url, '--no-backup', '--lock-timeout', '1s', '--json']);
      expect(result.code).toBe(11);
      const report = parseJson<ApplyReport>(result);
      expect(report.migrations.map((m) => [m.name, m.status])).toEqual(MIGRATION_NAMES.slice(3).map((name, i) => [name, i === 0 ? 'failed' : 'skipped']));
      expect(report.migrations[0]?.name).toBe('20251028120001_kiss-rls');
      expect(report.error?.message).toMatch(/could not take a lock within 1\.00 s \(lock_timeout\)/);
      expect(report.error?.sqlstate).toBe('55P03');
    } finally {
      await blocker.query('ROLLBACK');
      await blocker.end();
    }
    const after = await fingerprint(db.url, { includeDbkitSchema: true });
    expect(after.hash, describeDiff(before, after)).toBe(before.hash);
    expect(await appliedNames(db.url)).toEqual(MIGRATION_NAMES.slice(0, 3));
  });

  it('rolls back a failing migration completely, points at the statement, and skips the rest', async () => {
    scratch = copyMigrations({ count: 2 });
    scratch.add('20251028119000_broken', [
      "export const up = (pgm) => {",
      "  pgm.sql('CREATE TABLE half_done (id int)');",
      "  pgm.sql(`INSERT INTO half_done VALUES (1);\\nSELECT no_such_column\\n  FROM half_done`);",
      '};',
      "export const down = (pgm) => { pgm.sql('DROP TABLE half_done'); };",
      '',
    ].join('\n'));
    scratch.add('20251028119500_after', "export const up = (pgm) => { pgm.sql('CREATE TABLE after_broken (id int)'); };\nexport const down = (pgm) => { pgm.sql('DROP TABLE after_broken'); };\n");
    const result = await runCli(['apply', '--db', db.url, '--no-backup', '--migrations-dir', scratch.dir, '--json']);
    expect(result.code).toBe(11);
    const report = parseJson<ApplyReport>(result);
    expect(report.migrations.map((m) => [m.name, m.status])).toEqual([
      [MIGRATION_NAMES[0], 'applied'],
      [MIGRATION_NAMES[1], 'applied'],
      ['20251028119000_broken', 'failed'],
      ['20251028119500_after', 'skipped'],
    ]);
    expect(report.error?.message).toContain('migration 20251028119000_broken failed: column "no_such_column" does not exist');
    expect(report.error?.message).toContain('at line 2, column 8 of the statement:\n    SELECT no_such_column');
    expect(report.error?.hint).toContain('rolled back');
    const tables = await query<{ t: string | null }>(db.url, "SELECT to_regclass('public.half_done')::text AS t");
    expect(tables[0]?.t).toBeNull();
    expect(await appliedNames(db.url)).toEqual(MIGRATION_NAMES.slice(0, 2));
    const checksums = await query<{ name: string }>(db.url, 'SELECT name FROM dbkit.migration_checksums ORDER BY name');
    expect(checksums.map((c) => c.name)).toEqual(MIGRATION_NAMES.slice(0, 2));
  });

  it('dry run prints the SQL and changes nothing at all, not even its own bookkeeping', async () => {
    const before = await fingerprint(db.url, { includeDbkitSchema: true });
    const result = await runCli(['apply', '--db', db.url, '--dry-run']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('-- 20251028115000_creatoros-baseline (one transaction)');
    expect(result.stdout).toContain('CREATE TABLE public.contents');
    expect(result.stdout).toContain('CREATE POLICY contents_rw_by_project ON public.contents');
    expect(result.stdout).toContain('nothing was changed');
    const after = await fingerprint(db.url, { includeDbkitSchema: true });
    expect(after.hash, describeDiff(before, after)).toBe(before.hash);
    const schemas = await query<{ n: number }>(db.url, "SELECT count(*)::int AS n FROM pg_namespace WHERE nspname IN ('dbkit', 'auth', 'private')");
    expect(schemas[0]?.n).toBe(0);

    scratch = copyMigrations({ count: 3 });
    expect((await runCli(['apply', '--db', db.url, '--no-backup', '--migrations-dir', scratch.dir])).code).toBe(0);
    const partial = parseJson<ApplyReport>(await runCli(['apply', '--db', db.url, '--dry-run', '--json']));
    expect(partial.migrations.map((m) => m.name)).toEqual(MIGRATION_NAMES.slice(3));
    expect(partial.migrations[0]?.status).toBe('planned');
    expect(partial.migrations[0]?.sql?.join('\n')).toContain('ENABLE ROW LEVEL SECURITY');
    expect(await appliedNames(db.url)).toEqual(MIGRATION_NAMES.slice(0, 3));
  });

  it('survives SIGKILL mid-run at a migration boundary; status tells the truth; a re-run completes', async () => {
    scratch = copyMigrations();
    scratch.add('20251028116000_slow', "export const up = (pgm) => { pgm.sql('CREATE TABLE slow_marker (id int)'); pgm.sql('SELECT pg_sleep(60)'); };\nexport const down = (pgm) => { pgm.sql('DROP TABLE slow_marker'); };\n");
    let killed = false;
    const run = runCli(['apply', '--db', db.url, '--no-backup', '--migrations-dir', scratch.dir], {
      onSpawn: (child) => {
        const poll = setInterval(async () => {
          const sleeping = await query<{ n: number }>(db.url, "SELECT count(*)::int AS n FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep(60)%' AND datname = current_database()").catch(() => [{ n: 0 }]);
          if ((sleeping[0]?.n ?? 0) > 0 && !killed) {
            killed = true;
            clearInterval(poll);
            child.kill('SIGKILL');
          }
        }, 100);
        child.on('exit', () => clearInterval(poll));
      },
    });
    const result = await run;
    expect(killed).toBe(true);
    expect(result.signal).toBe('SIGKILL');
    // the server notices the dead connection and rolls the slow migration back
    await waitFor(async () => (await query<{ n: number }>(db.url, "SELECT count(*)::int AS n FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep(60)%'"))[0]?.n === 0);
    expect(await appliedNames(db.url)).toEqual(MIGRATION_NAMES.slice(0, 2));
    expect((await query<{ t: string | null }>(db.url, "SELECT to_regclass('public.slow_marker')::text AS t"))[0]?.t).toBeNull();
    const status = parseJson<StatusReport>(await runCli(['status', '--db', db.url, '--json', '--migrations-dir', scratch.dir]));
    expect(status.applied.map((a) => a.name)).toEqual(MIGRATION_NAMES.slice(0, 2));
    expect(status.pending).toEqual(['20251028116000_slow', ...MIGRATION_NAMES.slice(2)]);
    expect(status.drift).toEqual([]);
    // without the slow migration, a re-run completes the set
    const rerun = await runCli(['apply', '--db', db.url, '--no-backup']);
    expect(rerun.code, rerun.stderr).toBe(0);
    expect(await appliedNames(db.url)).toEqual(MIGRATION_NAMES);
  });
});

async function waitFor(condition: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}


/**
 * Where apply's inputs come from (.env, config file, precedence), what it refuses before changing
 * anything (privileges, a broken migrations folder), and what Ctrl-C does.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cleanEnv, parseJson, runCli } from '../helpers/cli.ts';
import { createTestDatabase, query, testServers, withAdmin, type TestDatabase } from '../helpers/db.ts';
import { appliedNames, fingerprint } from '../helpers/schema.ts';
import { copyMigrations, MIGRATIONS_DIR, MIGRATION_NAMES } from '../helpers/migrations.ts';
import type { StatusReport } from '../../src/commands/status.ts';

describe.each(testServers())('apply inputs and refusals on $name', (server) => {
  let db: TestDatabase;
  let cwd: string;
  beforeEach(async () => {
    db = await createTestDatabase(server);
    cwd = mkdtempSync(path.join(os.tmpdir(), 'dbkit-cwd-'));
  });
  afterEach(async () => {
    rmSync(cwd, { recursive: true, force: true });
    await db.drop();
  });

  it('reads DATABASE_URL from ./.env, and the environment wins over it', async () => {
    writeFileSync(path.join(cwd, '.env'), `DATABASE_URL=${db.url}\n`);
    const fromDotenv = parseJson<StatusReport>(await runCli(['status', '--json', '--migrations-dir', MIGRATIONS_DIR], { cwd }));
    expect(fromDotenv.database.name).toBe(db.name);
    const other = await createTestDatabase(server);
    try {
      const fromEnv = parseJson<StatusReport>(await runCli(['status', '--json', '--migrations-dir', MIGRATIONS_DIR], { cwd, env: cleanEnv({ DATABASE_URL: other.url }) }));
      expect(fromEnv.database.name).toBe(other.name);
      const fromFlag = parseJson<StatusReport>(await runCli(['status', '--json', '--db', db.url, '--migrations-dir', MIGRATIONS_DIR], { cwd, env: cleanEnv({ DATABASE_URL: other.url }) }));
      expect(fromFlag.database.name).toBe(db.name);
    } finally {
      await other.drop();
    }
  });

  it('reads dbkit.config.json and rejects unknown keys', async () => {
    writeFileSync(path.join(cwd, 'dbkit.config.json'), JSON.stringify({ databaseUrl: db.url, migrationsDir: MIGRATIONS_DIR, lockTimeout: '2s' }));
    const ok = await runCli(['apply', '--no-backup', '--json'], { cwd });
    expect(ok.code, ok.stderr).toBe(0);
    expect(await appliedNames(db.url)).toEqual(MIGRATION_NAMES);
    writeFileSync(path.join(cwd, 'dbkit.config.json'), JSON.stringify({ databaseUrl: db.url, lockTimout: '2s' }));
    const bad = await runCli(['status'], { cwd });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('unknown key "lockTimout"');
  });

  it('refuses before any change when the user may not create dbkit\'s schema', async () => {
    const role = `dbkit_limited_${randomBytes(3).toString('hex')}`;
    const password = randomBytes(12).toString('hex');
    await withAdmin(server.adminUrl, (c) => c.query(`CREATE ROLE ${role} LOGIN PASSWORD '${password}'`));
    try {
      const url = new URL(db.url);
      url.username = role;
      url.password = password;
      const before = await fingerprint(db.url, { includeDbkitSchema: true });
      const result = await runCli(['apply', '--db', url.toString()]);
      expect(result.code).toBe(7);
      expect(result.stderr).toContain(`user "${role}" lacks`);
      expect(result.stderr).toContain(`CREATE on database ${db.name}`);
      expect(result.stderr).toContain(`GRANT CREATE ON DATABASE "${db.name}" TO "${role}"`);
      expect(result.stderr).not.toContain(password);
      expect((await fingerprint(db.url, { includeDbkitSchema: true })).hash).toBe(before.hash);
    } finally {
      await withAdmin(server.adminUrl, (c) => c.query(`DROP ROLE ${role}`));
    }
  });

  it('refuses a migrations folder it cannot run, naming the problem, before any change', async () => {
    const scratch = copyMigrations();
    try {
      writeFileSync(path.join(scratch.dir, 'notes.txt'), 'not a migration');
      const folder = await runCli(['apply', '--db', db.url, '--migrations-dir', scratch.dir]);
      expect(folder.code).toBe(7);
      expect(folder.stderr).toContain('notes.txt: not a migration dbkit can run (.txt; migrations are .ts, .js or .sql)');
      expect(folder.stderr).toContain('--ignore-pattern');
      rmSync(path.join(scratch.dir, 'notes.txt'));
      writeFileSync(path.join(scratch.dir, '20261201000001_commits.ts'), "export const up = (pgm) => { pgm.sql('SELECT 1'); pgm.sql('COMMIT'); };\nexport const down = false;\n");
      const commits = await runCli(['apply', '--db', db.url, '--migrations-dir', scratch.dir]);
      expect(commits.code).toBe(7);
      expect(commits.stderr).toContain('20261201000001_commits.ts: its up commits (COMMIT/END) in step 2: COMMIT');
      expect(await appliedNames(db.url)).toEqual([]);
      const missing = await runCli(['apply', '--db', db.url, '--migrations-dir', path.join(cwd, 'nope')]);
      expect(missing.code).toBe(7);
      expect(missing.stderr).toContain('does not exist');
    } finally {
      scratch.cleanup();
    }
  });

  it('Ctrl-C (SIGINT) mid-migration exits 130 with a clear line and leaves a migration boundary', async () => {
    const scratch = copyMigrations({ count: 1 });
    try {
      scratch.add('20251028111000_slow', "export const up = (pgm) => { pgm.sql('CREATE TABLE slow_marker (id int)'); pgm.sql('SELECT pg_sleep(60)'); };\nexport const down = (pgm) => { pgm.sql('DROP TABLE slow_marker'); };\n");
      let sent = false;
      const result = await runCli(['apply', '--db', db.url, '--no-backup', '--migrations-dir', scratch.dir], {
        onSpawn: (child) => {
          const poll = setInterval(async () => {
            const rows = await query<{ n: number }>(db.url, "SELECT count(*)::int AS n FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep(60)%'").catch(() => [{ n: 0 }]);
            if ((rows[0]?.n ?? 0) > 0 && !sent) {
              sent = true;
              clearInterval(poll);
              child.kill('SIGINT');
            }
          }, 100);
          child.on('exit', () => clearInterval(poll));
        },
      });
      expect(sent).toBe(true);
      expect(result.code).toBe(130);
      expect(result.stderr).toContain('interrupted by SIGINT');
      for (let i = 0; i < 50; i += 1) {
        const rows = await query<{ n: number }>(db.url, "SELECT count(*)::int AS n FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep(60)%'");
        if (rows[0]?.n === 0) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(await appliedNames(db.url)).toEqual(MIGRATION_NAMES.slice(0, 1));
      expect((await query<{ t: string | null }>(db.url, "SELECT to_regclass('public.slow_marker')::text AS t"))[0]?.t).toBeNull();
    } finally {
      scratch.cleanup();
    }
  });
});

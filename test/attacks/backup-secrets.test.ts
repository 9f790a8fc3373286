/**
 * Attack (issue 9, item 9): read the database password from pg_dump's command line (`ps` shows
 * every process's argv to every local user). The password and other secrets are given in every
 * form a URL allows: in the authority, as ?password=, with the user in the query string, and as
 * ?sslpassword=. pg_dump is held mid-dump by a table lock while every pg_dump process's argv is
 * read; its environment must not carry them either (another process of the same user can read it).
 */
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cleanEnv } from '../helpers/cli.ts';
import { createTestDatabase, testServers, withAdmin, type TestDatabase } from '../helpers/db.ts';
import { runKillable, seedContents, waitFor } from '../helpers/backups.ts';
import { withClient } from '../../src/db/scoped.ts';

/** argv (as ps shows it) and environment of every pg_dump process on the machine. */
function pgDumpProcesses(): { argv: string; environ: string }[] {
  const found: { argv: string; environ: string }[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
      if (/(^|\/)pg_dump$/.test(argv.split(' ')[0]!)) found.push({ argv, environ: readFileSync(`/proc/${pid}/environ`, 'utf8').replaceAll('\0', '\n') });
    } catch {
      // exited meanwhile
    }
  }
  return found;
}

// pg_dump runs only where one as new as the server exists: the machine's PostgreSQL 15.
const withPgDump = testServers().filter((s) => s.name === 'external');
// Counted as skipped, never an empty file, when there is no such server (DATABASE_URL unset).
if (withPgDump.length === 0) {
  describe('secrets on the pg_dump command line', () => {
    it.skip('needs a DATABASE_URL server: pg_dump 15 refuses the embedded PostgreSQL 17', () => {});
  });
}
describe.each(withPgDump)('secrets on the pg_dump command line on $name', (server) => {
  let db: TestDatabase;
  let env: Record<string, string | undefined>;
  beforeEach(async () => {
    db = await createTestDatabase(server, 'sc');
    env = cleanEnv();
    await seedContents(db.url, 20);
  });
  afterEach(async () => {
    await db.drop();
    rmSync(env.DBKIT_STATE_DIR!, { recursive: true, force: true });
  });

  const forms: [string, (secret: string, url: URL) => string][] = [
    ['?password=', (s, u) => `postgres://${u.username}@${u.host}${u.pathname}?password=${s}`],
    ['user and password in the query string', (s, u) => `postgres://${u.host}${u.pathname}?user=${u.username}&password=${s}&sslmode=disable`],
    ['password in the authority and ?sslpassword=', (s, u) => `postgres://${u.username}:${s}@${u.host}${u.pathname}?sslpassword=${s}x&sslmode=disable`],
  ];
  it.each(forms)('no secret on any command line: %s', async (_label, form) => {
    const secret = `Sekret${Math.random().toString(36).slice(2, 10)}`;
    const url = form(secret, new URL(db.url));
    const seen: { argv: string; environ: string }[] = [];
    await withClient(db.url, {}, async (locker) => {
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE public.contents IN ACCESS EXCLUSIVE MODE');
      // The URL reaches dbkit by its environment, as in CI: only pg_dump's argv is under test.
      const run = runKillable(['backup', '--backup-strategy', 'pg_dump'], { ...env, DATABASE_URL: url });
      try {
        await waitFor('pg_dump to wait for its lock', () =>
          withAdmin(server.adminUrl, async (c) => (await c.query("SELECT 1 FROM pg_stat_activity WHERE datname = $1 AND application_name = 'dbkit-backup' AND wait_event_type = 'Lock'", [db.name])).rows.length > 0),
        );
        seen.push(...pgDumpProcesses());
      } finally {
        await locker.query('COMMIT');
      }
      const result = await run.done;
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout + result.stderr).not.toContain(secret);
    });
    expect(seen.length).toBeGreaterThan(0);
    for (const { argv, environ } of seen) {
      expect(argv).not.toContain(secret);
      expect(environ).not.toContain(secret);
    }
  });
});

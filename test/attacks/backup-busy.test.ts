/**
 * Issue 13, item 4: a psql session open on the database while a template-copy backup runs. The
 * copy needs the database to itself, so the backup fails (exit 10) after a short wait; the message
 * names the blocking session (pid, application_name, user, client address) and how to proceed, and
 * nothing is left behind.
 */
import { rmSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cleanEnv, parseJson, runCli } from '../helpers/cli.ts';
import { createTestDatabase, testServers, withAdmin, type TestDatabase } from '../helpers/db.ts';
import { backupDirOf, backupFiles, seedContents } from '../helpers/backups.ts';
import { connect } from '../../src/db/connect.ts';
import type { BackupListing } from '../../src/commands/backups.ts';

describe.each(testServers())('a session holding the database during a template backup on $name', (server) => {
  let db: TestDatabase;
  let env: Record<string, string | undefined>;
  beforeEach(async () => {
    db = await createTestDatabase(server, 'bb');
    env = cleanEnv();
    await seedContents(db.url, 20);
  });
  afterEach(async () => {
    await db.drop();
    rmSync(env.DBKIT_STATE_DIR!, { recursive: true, force: true });
  });

  it('names the session and says how to proceed; nothing is left behind', async () => {
    const psql = await connect(db.url, { applicationName: 'psql' });
    try {
      const pid = (await psql.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
      const result = await runCli(['backup', '--backup-strategy', 'template', '--db', db.url], { env });
      expect(result.code, result.stderr).toBe(10);
      const [message, hint] = result.stderr.split('\n').filter((l) => l.trim() !== '');
      expect(message).toMatch(new RegExp(`cannot copy database "${db.name}": 1 session is connected to it \\(pid ${pid} "psql" as postgres from (127\\.0\\.0\\.1:\\d+|local socket)\\)`));
      expect(hint).toMatch(/close them .*pg_terminate_backend\(<pid>\).*pg_dump at least as new as the server/);
    } finally {
      await psql.end();
    }
    const listing = parseJson<BackupListing>(await runCli(['backups', '--json'], { env }));
    expect(listing.backups).toEqual([]);
    expect(backupFiles(backupDirOf(env))).toEqual([]);
    expect(await withAdmin(server.adminUrl, async (c) => (await c.query("SELECT 1 FROM pg_database WHERE datname LIKE 'dbkit\\_bk\\_%' AND datname LIKE $1", [`%${db.name.replace(/_/g, '\\_')}%`])).rowCount)).toBe(0);
  });
});

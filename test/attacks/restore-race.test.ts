/**
 * Attack (issue 9, item 12): two `dbkit restore --into` the same new name at once. Both pass the
 * pre-flight check (the name is free), then race to CREATE DATABASE. The loser must get the
 * documented "already exists" exit (2), never exit 1 or a raw pg_database_datname_index error,
 * and must not drop the winner's database.
 */
import { rmSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cleanEnv, parseJson, runCli } from '../helpers/cli.ts';
import { createTestDatabase, query, testServers, urlFor, withAdmin, type TestDatabase } from '../helpers/db.ts';
import { seedContents } from '../helpers/backups.ts';
import type { BackupReport } from '../../src/commands/backup.ts';

describe.each(testServers())('concurrent restores into one name on $name', (server) => {
  let db: TestDatabase;
  let env: Record<string, string | undefined>;
  const targets: string[] = [];
  beforeEach(async () => {
    db = await createTestDatabase(server, 'rr');
    env = cleanEnv();
    await seedContents(db.url, 2000);
  });
  afterEach(async () => {
    await withAdmin(server.adminUrl, async (c) => {
      for (const name of targets.splice(0)) await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    });
    await db.drop();
    rmSync(env.DBKIT_STATE_DIR!, { recursive: true, force: true });
  });

  it('the loser exits 2 with "already exists"; the winner restores in full', async () => {
    const taken = await runCli(['backup', '--db', db.url, '--json'], { env });
    expect(taken.code, taken.stderr).toBe(0);
    const id = parseJson<BackupReport>(taken).backup!.id;
    for (let round = 0; round < 3; round += 1) {
      const into = `${db.name}_race${round}`;
      targets.push(into);
      const results = await Promise.all([0, 1].map(() => runCli(['restore', id, '--into', into, '--db', db.url], { env })));
      const codes = results.map((r) => r.code).sort();
      expect(codes, results.map((r) => r.stderr).join('\n')).toEqual([0, 2]);
      const loser = results.find((r) => r.code === 2)!;
      expect(loser.stderr).toMatch(new RegExp(`^error: database "${into}" already exists on this server`));
      expect(loser.stderr).not.toMatch(/pg_database_datname_index|bug in dbkit|\n\s+at /);
      expect(await query<{ n: string }>(urlFor(server.adminUrl, into), 'SELECT count(*) AS n FROM public.contents')).toEqual([{ n: '2000' }]);
    }
  });
});

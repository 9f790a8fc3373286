/**
 * Attack (issue 9, item 6): kill -9 a template-copy backup after its copy (dbkit_bk_*) exists and
 * before it finished. The copy must not be orphaned: `backups` lists the backup as incomplete,
 * the next `backup` says it exists, `backups --keep` drops the copy (it carries dbkit's marker)
 * and leaves every other database alone.
 */
import { rmSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cleanEnv, parseJson, runCli } from '../helpers/cli.ts';
import { createTestDatabase, testServers, withAdmin, type TestDatabase } from '../helpers/db.ts';
import { runKillable, seedContents, waitFor } from '../helpers/backups.ts';
import type { BackupListing } from '../../src/commands/backups.ts';

async function copiesOf(adminUrl: string, database: string): Promise<{ name: string; comment: string | null }[]> {
  const slug = database.replace(/_/g, '\\_');
  return withAdmin(adminUrl, async (c) =>
    (await c.query<{ name: string; comment: string | null }>(`SELECT datname AS name, shobj_description(oid, 'pg_database') AS comment FROM pg_database WHERE datname LIKE 'dbkit\\_bk\\_%' AND datname LIKE $1`, [`%${slug}%`])).rows,
  );
}

describe.each(testServers())('killed template-copy backups on $name', (server) => {
  let db: TestDatabase;
  let env: Record<string, string | undefined>;
  beforeEach(async () => {
    db = await createTestDatabase(server, 'kb');
    env = cleanEnv();
    // Enough rows that reading the copy back (counts, content checksums) takes a moment to kill in.
    await seedContents(db.url, 200_000);
  });
  afterEach(async () => {
    await db.drop();
    rmSync(env.DBKIT_STATE_DIR!, { recursive: true, force: true });
  });

  it('a copy left by kill -9 is listed as incomplete, reported by the next backup and dropped by --keep', async () => {
    let copy: string | null = null;
    for (let attempt = 0; attempt < 3 && copy === null; attempt += 1) {
      const run = runKillable(['backup', '--backup-strategy', 'template', '--db', db.url], env);
      // Killed as soon as the copy exists and carries its marker: it is being verified.
      const marked = await waitFor('the marked copy (or the end of the backup)', async () => {
        const found = (await copiesOf(server.adminUrl, db.name)).find((c) => c.comment !== null);
        if (found) return found.name;
        return run.child.exitCode !== null ? 'finished' : null;
      }, 60_000, 5);
      run.killAll();
      const result = await run.done;
      if (marked !== 'finished' && result.signal === 'SIGKILL') copy = marked;
      else {
        // The backup finished before the kill landed: prune it away and try again.
        expect((await runCli(['backups', '--keep', '1', '--db', db.url], { env })).code).toBe(0);
      }
    }
    expect(copy, 'could not kill the backup while its copy was verified').not.toBeNull();
    expect((await copiesOf(server.adminUrl, db.name)).map((c) => c.name)).toContain(copy);

    const listing = parseJson<BackupListing>(await runCli(['backups', '--json'], { env }));
    const incomplete = listing.backups.filter((b) => b.status === 'incomplete');
    expect(incomplete.map((b) => b.location)).toContainEqual({ kind: 'database', database: copy });

    const next = await runCli(['backup', '--backup-strategy', 'template', '--db', db.url], { env });
    expect(next.code, next.stderr).toBe(0);
    expect(next.stderr).toMatch(/warning: \d+ incomplete backups? left by killed or failed runs/);

    const pruned = await runCli(['backups', '--keep', '1', '--db', db.url], { env });
    expect(pruned.code, pruned.stderr).toBe(0);
    const left = await copiesOf(server.adminUrl, db.name);
    expect(left.map((c) => c.name)).not.toContain(copy);
    expect(left).toHaveLength(1);
    const after = parseJson<BackupListing>(await runCli(['backups', '--json'], { env }));
    expect(after.backups.map((b) => b.status)).toEqual(['verified']);
    // The live database is untouched.
    expect(await withAdmin(server.adminUrl, async (c) => (await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [db.name])).rowCount)).toBe(1);
  });
});

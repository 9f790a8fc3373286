/**
 * Attack (issue 9, item 6): kill -9 a template-copy backup after its copy (dbkit_bk_*) exists and
 * before it finished. The copy must not be orphaned: `backups` lists the backup as incomplete,
 * the next `backup` says it exists, `backups --keep` drops the copy (it carries dbkit's marker)
 * and leaves every other database alone.
 */
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cleanEnv, parseJson, runCli } from '../helpers/cli.ts';
import { createTestDatabase, testServers, withAdmin, type TestDatabase } from '../helpers/db.ts';
import { backupDirOf, runKillable, seedContents, waitFor } from '../helpers/backups.ts';
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

  it('leftovers of an older dbkit (an archive without a manifest, a marked copy without one) are listed and removed; another folder\'s copy and unmarked ones are not', async () => {
    const dir = backupDirOf(env);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const slug = db.name.replace(/_/g, '-');
    const mine = `20200101T000000Z-${slug}-aaaa`;
    const theirs = '20200101T000000Z-someone-else-bbbb';
    writeFileSync(path.join(dir, `${mine}.dump`), 'old archive');
    writeFileSync(path.join(dir, `${theirs}.dump`), 'old archive');
    const name = (id: string) => `dbkit_bk_${id.replace(/[^a-zA-Z0-9]+/g, '_').toLowerCase()}`.slice(0, 63);
    const oldMarked = `20200101T000001Z-${slug}-cccc`;
    const otherFolder = `20200101T000002Z-${slug}-dddd`;
    const unmarked = `20200101T000003Z-${slug}-eeee`;
    await withAdmin(server.adminUrl, async (c) => {
      for (const id of [oldMarked, otherFolder, unmarked]) await c.query(`CREATE DATABASE "${name(id)}"`);
      await c.query(`COMMENT ON DATABASE "${name(oldMarked)}" IS 'dbkit backup ${oldMarked} of ${db.name} (on demand)'`);
      await c.query(`COMMENT ON DATABASE "${name(otherFolder)}" IS 'dbkit backup ${otherFolder} of ${db.name} (on demand) [folder 0123456789ab]'`);
    });
    const listing = parseJson<BackupListing>(await runCli(['backups', '--json'], { env }));
    expect(listing.strays.map((l) => l.name).sort()).toEqual([`${mine}.dump`, `${theirs}.dump`]);

    const next = await runCli(['backup', '--backup-strategy', 'template', '--db', db.url], { env });
    expect(next.code, next.stderr).toBe(0);
    expect(next.stderr).toContain('warning: 3 incomplete backups left by killed or failed runs');

    const pruned = await runCli(['backups', '--keep', '1', '--db', db.url, '--json'], { env });
    expect(pruned.code, pruned.stderr).toBe(0);
    const result = parseJson<{ pruned: { removed: string[] } }>(pruned).pruned;
    expect(result.removed.sort()).toEqual([`${mine}.dump`, name(oldMarked)].sort());
    expect(existsSync(path.join(dir, `${mine}.dump`))).toBe(false);
    expect(existsSync(path.join(dir, `${theirs}.dump`))).toBe(true);
    const left = (await copiesOf(server.adminUrl, db.name)).map((c) => c.name);
    expect(left).toContain(name(otherFolder));
    expect(left).toContain(name(unmarked));
    expect(left).not.toContain(name(oldMarked));
    await withAdmin(server.adminUrl, async (c) => {
      for (const id of [otherFolder, unmarked]) await c.query(`DROP DATABASE "${name(id)}"`);
    });
  });
});

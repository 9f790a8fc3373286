/**
 * Attack (issue 9, item 1): read a backup archive while pg_dump writes it, or after dbkit was
 * killed. pg_dump is held mid-dump by a lock on a table (it waits for LOCK TABLE ... ACCESS SHARE),
 * so the file is observed while it is being written, not guessed at. Then kill -9 of dbkit and its
 * pg_dump. The archive must be 0600 from its first byte, the folder 0700, and no archive may exist
 * without a manifest; the killed backup is listed as incomplete and removed by --keep (item 6).
 */
import { chmodSync, chownSync, mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cleanEnv, parseJson, runCli } from '../helpers/cli.ts';
import { createTestDatabase, testServers, withAdmin, type TestDatabase } from '../helpers/db.ts';
import { backupDirOf, backupFiles, modeOf, runKillable, seedContents, waitFor } from '../helpers/backups.ts';
import { withClient } from '../../src/db/scoped.ts';
import type { BackupListing } from '../../src/commands/backups.ts';

const withPgDump = testServers().filter((s) => s.name === 'external');
const archiveLike = (name: string) => /\.dump(\.|$)/.test(name);

describe.each(testServers())('backup folder and archive modes on $name', (server) => {
  let db: TestDatabase;
  let env: Record<string, string | undefined>;
  beforeEach(async () => {
    db = await createTestDatabase(server, 'bf');
    env = cleanEnv();
    await seedContents(db.url);
  });
  afterEach(async () => {
    await db.drop();
    rmSync(env.DBKIT_STATE_DIR!, { recursive: true, force: true });
  });

  it('a template-copy backup creates the backups folder 0700 and its manifest 0600', async () => {
    const result = await runCli(['backup', '--backup-strategy', 'template', '--db', db.url, '--json'], { env });
    expect(result.code, result.stderr).toBe(0);
    const dir = backupDirOf(env);
    expect(modeOf(dir).toString(8)).toBe('700');
    for (const name of backupFiles(dir)) expect(`${name} ${modeOf(path.join(dir, name)).toString(8)}`).toBe(`${name} 600`);
  });

  it('an existing backups folder open to others is tightened to 0700 by the next backup', async () => {
    const dir = backupDirOf(env);
    mkdirSync(dir, { mode: 0o755 });
    chmodSync(dir, 0o755);
    const result = await runCli(['backup', '--backup-strategy', 'template', '--db', db.url], { env });
    expect(result.code, result.stderr).toBe(0);
    expect(modeOf(dir).toString(8)).toBe('700');
  });

  it("a backups folder owned by another user is refused: its owner could swap or read what dbkit writes", async () => {
    const dir = backupDirOf(env);
    mkdirSync(dir, { mode: 0o700 });
    chownSync(dir, 65534, 65534);
    const result = await runCli(['backup', '--backup-strategy', 'template', '--db', db.url], { env });
    expect(result.code, result.stderr).toBe(10);
    expect(result.stderr).toMatch(/^error: the backup folder \S+ belongs to another user \(uid 65534\)/);
    expect(backupFiles(dir)).toEqual([]);
  });
});

describe.each(withPgDump)('pg_dump archives while written and after kill -9 on $name', (server) => {
  let db: TestDatabase;
  let env: Record<string, string | undefined>;
  beforeEach(async () => {
    db = await createTestDatabase(server, 'bk');
    env = cleanEnv();
    await seedContents(db.url);
  });
  afterEach(async () => {
    await db.drop();
    rmSync(env.DBKIT_STATE_DIR!, { recursive: true, force: true });
  });

  it('the archive is 0600 while pg_dump writes it, has a manifest from the start, and a killed backup is incomplete, reported and removable', async () => {
    const dir = backupDirOf(env);
    const observed: string[] = [];
    await withClient(db.url, {}, async (locker) => {
      // pg_dump opens its output file, then waits here for its ACCESS SHARE lock on contents.
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE public.contents IN ACCESS EXCLUSIVE MODE');
      const run = runKillable(['backup', '--backup-strategy', 'pg_dump', '--db', db.url], env);
      try {
        await waitFor('pg_dump to wait for its lock', () =>
          withAdmin(server.adminUrl, async (c) => {
            const { rows } = await c.query("SELECT 1 FROM pg_stat_activity WHERE datname = $1 AND application_name = 'dbkit-backup' AND wait_event_type = 'Lock'", [db.name]);
            return rows.length > 0;
          }),
        );
        const files = backupFiles(dir);
        expect(files.filter(archiveLike)).toHaveLength(1);
        for (const name of files) observed.push(`${name} ${modeOf(path.join(dir, name)).toString(8)}`);
        expect(modeOf(dir).toString(8)).toBe('700');
      } finally {
        run.killAll();
        await run.done;
        await locker.query('ROLLBACK');
      }
    });
    // While pg_dump was writing: the archive (and everything else in the folder) was 0600.
    for (const entry of observed) expect(entry).toMatch(/ 600$/);

    // After kill -9: still 0600, and no archive without its manifest.
    const left = backupFiles(dir);
    const archive = left.find(archiveLike)!;
    expect(modeOf(path.join(dir, archive)).toString(8)).toBe('600');
    const id = archive.replace(/\.dump(\.partial)?$/, '');
    expect(left).toContain(`${id}.json`);
    expect(archive).toBe(`${id}.dump.partial`);

    const listed = parseJson<BackupListing>(await runCli(['backups', '--json'], { env }));
    expect(listed.backups.find((b) => b.id === id)?.status).toBe('incomplete');
    expect(listed.backups.find((b) => b.id === id)?.verified).toBe(false);

    const next = await runCli(['backup', '--backup-strategy', 'pg_dump', '--db', db.url], { env });
    expect(next.code, next.stderr).toBe(0);
    expect(next.stderr).toContain(`1 incomplete backup left by killed or failed runs (${id}`);

    const pruned = await runCli(['backups', '--keep', '1', '--db', db.url, '--json'], { env });
    expect(pruned.code, pruned.stderr).toBe(0);
    const after = backupFiles(dir);
    expect(after.filter((n) => n.startsWith(id))).toEqual([]);
    const remaining = parseJson<BackupListing>(await runCli(['backups', '--json'], { env }));
    expect(remaining.backups.map((b) => b.status)).toEqual(['verified']);
  });
});

/**
 * Attack (issue 9, item 4): forged manifests in the backups folder try to make `backups --keep`
 * and `restore` act on things dbkit never created: any database, a file outside the folder (by
 * `..`, an absolute path or a symlink), a dbkit_bk_* database without dbkit's marker. They must be
 * reported and never touched.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cleanEnv, parseJson, runCli } from '../helpers/cli.ts';
import { createTestDatabase, testServers, withAdmin, type TestDatabase } from '../helpers/db.ts';
import { backupDirOf, seedContents } from '../helpers/backups.ts';
import { redactUrl } from '../../src/core/redact.ts';
import type { BackupListing } from '../../src/commands/backups.ts';

const hex = () => randomBytes(2).toString('hex');

async function databaseExists(adminUrl: string, name: string): Promise<boolean> {
  return withAdmin(adminUrl, async (c) => ((await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [name])).rowCount ?? 0) > 0);
}

describe.each(testServers())('forged manifests on $name', (server) => {
  let db: TestDatabase;
  let env: Record<string, string | undefined>;
  const dropLater: string[] = [];

  beforeEach(async () => {
    db = await createTestDatabase(server, 'fm');
    env = cleanEnv();
    await seedContents(db.url, 50);
  });
  afterEach(async () => {
    await db.drop();
    await withAdmin(server.adminUrl, async (c) => {
      for (const name of dropLater.splice(0)) await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    });
    rmSync(env.DBKIT_STATE_DIR!, { recursive: true, force: true });
  });

  it('backups --keep and restore touch neither databases nor files that dbkit did not create', async () => {
    const dir = backupDirOf(env);
    const real = await runCli(['backup', '--backup-strategy', 'template', '--db', db.url, '--json'], { env });
    expect(real.code, real.stderr).toBe(0);
    mkdirSync(dir, { recursive: true });

    // Things an attacker wants destroyed or read.
    const victimDb = `${db.name}_victim`;
    const unmarkedId = `20200101T000000Z-${db.name.replace(/_/g, '-')}-${hex()}`;
    const unmarkedDb = `dbkit_bk_${unmarkedId.replace(/[^a-zA-Z0-9]+/g, '_').toLowerCase()}`.slice(0, 63);
    dropLater.push(victimDb, unmarkedDb);
    await withAdmin(server.adminUrl, async (c) => {
      await c.query(`CREATE DATABASE "${victimDb}"`);
      await c.query(`CREATE DATABASE "${unmarkedDb}"`);
    });
    const victimFile = path.join(env.DBKIT_STATE_DIR!, 'victim.txt');
    const linkedFile = path.join(env.DBKIT_STATE_DIR!, 'linked.txt');
    const absoluteFile = path.join(env.DBKIT_STATE_DIR!, 'absolute.txt');
    for (const f of [victimFile, linkedFile, absoluteFile]) writeFileSync(f, 'precious\n');

    const source = { database: db.name, url: redactUrl(db.url), kind: 'external' };
    const forged = (id: string, strategy: string, location: Record<string, string>) => ({
      formatVersion: 1,
      id,
      createdAt: '2020-01-01T00:00:00.000Z',
      reason: 'forged',
      strategy,
      source,
      server: { version: '15.0', versionNum: 150000 },
      migrations: [],
      location,
      sizeBytes: 1,
      checksum: null,
      fingerprint: 'x',
      rowCounts: {},
      verified: true,
      verification: { method: 'forged', durationMs: 1, detail: 'forged' },
      durationMs: 1,
      tool: null,
    });
    const ids = {
      anyDatabase: `20200101T000001Z-${db.name.replace(/_/g, '-')}-${hex()}`,
      dotDot: `20200101T000002Z-${db.name.replace(/_/g, '-')}-${hex()}`,
      absolute: `20200101T000003Z-${db.name.replace(/_/g, '-')}-${hex()}`,
      symlink: `20200101T000004Z-${db.name.replace(/_/g, '-')}-${hex()}`,
      unmarked: unmarkedId,
    };
    const manifests: Record<string, unknown> = {
      [ids.anyDatabase]: forged(ids.anyDatabase, 'template', { kind: 'database', database: victimDb }),
      [ids.dotDot]: forged(ids.dotDot, 'pg_dump', { kind: 'file', file: '../victim.txt' }),
      [ids.absolute]: forged(ids.absolute, 'pg_dump', { kind: 'file', file: absoluteFile }),
      [ids.symlink]: forged(ids.symlink, 'pg_dump', { kind: 'file', file: `${ids.symlink}.dump` }),
      [ids.unmarked]: forged(ids.unmarked, 'template', { kind: 'database', database: unmarkedDb }),
    };
    for (const [id, manifest] of Object.entries(manifests)) writeFileSync(path.join(dir, `${id}.json`), JSON.stringify(manifest));
    symlinkSync(linkedFile, path.join(dir, `${ids.symlink}.dump`));
    writeFileSync(path.join(dir, '20200101T000005Z-x-abcd.json'), '{"formatVersion":1,"id":"../../etc"');
    // A manifest that is a FIFO (reading it would block for ever) and one that is a symlink.
    const fifo = '20200101T000006Z-x-abcd.json';
    const linked = '20200101T000007Z-x-abcd.json';
    execFileSync('mkfifo', [path.join(dir, fifo)]);
    symlinkSync(path.join(dir, `${ids.unmarked}.json`), path.join(dir, linked));

    const pruned = await runCli(['backups', '--keep', '1', '--db', db.url, '--json'], { env });
    expect(pruned.code, pruned.stderr).toBe(0);
    // Nothing outside what dbkit created was touched.
    expect(await databaseExists(server.adminUrl, victimDb)).toBe(true);
    expect(await databaseExists(server.adminUrl, unmarkedDb)).toBe(true);
    for (const f of [victimFile, linkedFile, absoluteFile]) expect(readFileSync(f, 'utf8')).toBe('precious\n');
    expect(existsSync(path.join(dir, `${ids.symlink}.dump`))).toBe(true);
    const result = parseJson<{ pruned: { removed: string[]; failed: { id: string; reason: string }[] } }>(pruned).pruned;
    expect(result.failed.map((f) => f.id).sort()).toEqual([ids.symlink, ids.unmarked].sort());
    expect(result.failed.find((f) => f.id === ids.symlink)?.reason).toMatch(/symbolic link/);
    expect(result.failed.find((f) => f.id === ids.unmarked)?.reason).toMatch(/does not carry dbkit's marker/);

    const listing = parseJson<BackupListing>(await runCli(['backups', '--json'], { env }));
    // The schema refuses what names things dbkit never names; those are listed as invalid.
    expect(listing.invalid.map((i) => i.file).sort()).toEqual([`${ids.absolute}.json`, `${ids.anyDatabase}.json`, `${ids.dotDot}.json`, '20200101T000005Z-x-abcd.json', fifo, linked].sort());
    expect(listing.invalid.find((i) => i.file === fifo)?.reason).toBe('not a regular file (dbkit writes only regular files)');
    const human = await runCli(['backups'], { env });
    expect(human.stderr).toContain(`ignored ${ids.anyDatabase}.json: not a valid dbkit manifest (location.database: must be`);

    // The real backup is kept.
    const realId = parseJson<{ backup: { id: string } }>(real).backup.id;
    expect(parseJson<BackupListing>(await runCli(['backups', '--json'], { env })).backups.find((b) => b.id === realId)?.status).toBe('verified');

    // Restore refuses every forged manifest before creating anything.
    for (const id of Object.values(ids)) {
      const into = `${db.name}_r${Object.values(ids).indexOf(id)}`;
      dropLater.push(into);
      const restored = await runCli(['restore', id, '--into', into, '--db', db.url], { env });
      expect(restored.code, `${id}: ${restored.stdout}\n${restored.stderr}`).toBe(19);
      expect(restored.stderr).not.toMatch(/\n\s+at /);
      expect(await databaseExists(server.adminUrl, into)).toBe(false);
    }
    expect(await databaseExists(server.adminUrl, victimDb)).toBe(true);
  });
});

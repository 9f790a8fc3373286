/**
 * Issue 13, item 5: `dbkit db reset --yes` deletes the embedded cluster and with it the template
 * copies stored inside. Their manifests must not stay listed as verified backups; `backups` says
 * which database and server each backup belongs to.
 */
import { rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanEnv, parseJson, runCli } from '../helpers/cli.ts';
import type { BackupListing } from '../../src/commands/backups.ts';

describe('db reset and the backups stored in the cluster', () => {
  const env = cleanEnv();
  afterAll(async () => {
    await runCli(['db', 'reset', '--yes'], { env });
    rmSync(env.DBKIT_STATE_DIR!, { recursive: true, force: true });
  });

  it('forgets the copies it deleted; backups shows database and server', async () => {
    const taken = await runCli(['backup', '--json'], { env });
    expect(taken.code, taken.stderr).toBe(0);
    // The folder the embedded path created is the owner's alone.
    expect((statSync(path.join(env.DBKIT_STATE_DIR!, 'backups')).mode & 0o777).toString(8)).toBe('700');
    const before = parseJson<BackupListing>(await runCli(['backups', '--json'], { env }));
    expect(before.backups).toHaveLength(1);
    expect(before.backups[0]).toMatchObject({ database: 'dbkit', databaseKind: 'embedded', serverAddress: 'embedded', status: 'verified', strategy: 'template' });
    expect(before.backups[0]!.systemIdentifier).toMatch(/^\d+$/);
    const human = await runCli(['backups'], { env });
    expect(human.stdout).toMatch(/ID\s+TAKEN\s+DATABASE\s+SERVER\s+SIZE/);
    expect(human.stdout).toMatch(new RegExp(`${before.backups[0]!.id}\\s+\\S+ \\S+\\s+dbkit\\s+embedded #\\d{6} \\(PG 17\\.\\d+\\)`));

    const reset = await runCli(['db', 'reset', '--yes'], { env });
    expect(reset.code, reset.stderr).toBe(0);
    expect(reset.stdout).toContain('with the 1 template-copy backup(s) stored inside it (their manifests removed)');
    const after = parseJson<BackupListing>(await runCli(['backups', '--json'], { env }));
    expect(after.backups).toEqual([]);

    // A new cluster's restore of that id is a clear "no such backup", not a confusing failure.
    const restore = await runCli(['restore', before.backups[0]!.id], { env });
    expect(restore.code).toBe(15);
  });
});

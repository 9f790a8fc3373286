/**
 * Attack: the embedded cluster's fallback folder under /var/tmp (used when dbkit runs as root and
 * the postgres OS user cannot reach the state dir). /var/tmp is writable by every local user, who
 * could prepare dbkit's folder in advance (a symbolic link to a folder of root's, or a folder of
 * their own, 0777) or swap it after a cleaner removed it. dbkit must never follow, use or delete
 * such a folder: it creates a fresh one with an unpredictable name, and refuses (exit 13) a
 * recorded one that is a link, someone else's or writable by others; db reset forgets it unharmed.
 */
import { createHash } from 'node:crypto';
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanEnv, runCli } from '../helpers/cli.ts';

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const NOBODY = 65534;

describe.skipIf(!isRoot)('embedded cluster fallback folder under /var/tmp (dbkit as root)', () => {
  // mkdtemp makes a 0700 folder: the postgres OS user cannot reach it, so the cluster goes to /var/tmp.
  const stateDir = mkdtempSync(path.join(os.tmpdir(), 'dbkit-fallback-'));
  const env = { ...cleanEnv(), DBKIT_STATE_DIR: stateDir };
  const predictable = path.join('/var/tmp', `dbkit-${createHash('sha256').update(path.resolve(stateDir)).digest('hex').slice(0, 12)}`);
  const victim = mkdtempSync(path.join(os.tmpdir(), 'dbkit-victim-'));
  chmodSync(victim, 0o755);
  writeFileSync(path.join(victim, 'precious.txt'), 'keep me\n');
  const planted: string[] = [];
  const state = () => JSON.parse(readFileSync(path.join(stateDir, 'embedded.json'), 'utf8')) as { clusterDir: string };
  const victimUntouched = () => {
    expect(readdirSync(victim)).toEqual(['precious.txt']);
    expect(readFileSync(path.join(victim, 'precious.txt'), 'utf8')).toBe('keep me\n');
    expect(statSync(victim).uid).toBe(0);
    expect(statSync(victim).mode & 0o777).toBe(0o755);
  };

  afterAll(async () => {
    await runCli(['db', 'reset', '--yes'], { env });
    for (const p of planted) rmSync(p, { recursive: true, force: true });
    rmSync(stateDir, { recursive: true, force: true });
    rmSync(victim, { recursive: true, force: true });
  });

  it('ignores a symbolic link and a foreign 0777 folder prepared at the old predictable name, and makes a private one', async () => {
    symlinkSync(victim, predictable);
    planted.push(predictable);
    const result = await runCli(['status'], { env });
    expect(result.code, result.stderr).toBe(0);
    const { clusterDir } = state();
    expect(clusterDir.startsWith(`${predictable}-`)).toBe(true);
    const stat = lstatSync(clusterDir);
    expect(stat.isDirectory()).toBe(true);
    expect(stat.uid).toBe(0);
    expect(stat.mode & 0o777).toBe(0o755);
    expect(lstatSync(path.join(clusterDir, 'pg')).mode & 0o077).toBe(0);
    expect(lstatSync(predictable).isSymbolicLink()).toBe(true);
    victimUntouched();
    expect((await runCli(['db', 'reset', '--yes'], { env })).code).toBe(0);
    expect(existsSync(clusterDir)).toBe(false);

    rmSync(predictable);
    mkdirSync(predictable, { mode: 0o777 });
    chmodSync(predictable, 0o777);
    chownSync(predictable, NOBODY, NOBODY);
    const again = await runCli(['status'], { env });
    expect(again.code, again.stderr).toBe(0);
    expect(state().clusterDir.startsWith(`${predictable}-`)).toBe(true);
    expect(readdirSync(predictable)).toEqual([]);
    expect(statSync(predictable).uid).toBe(NOBODY);
  });

  it('refuses a recorded folder swapped for a link to another folder, and db reset forgets it without following it', async () => {
    const { clusterDir } = state();
    expect((await runCli(['db', 'stop'], { env })).code).toBe(0);
    // A cleaner removes the folder; another user puts a link in its place (with a PG_VERSION, so it looks like a cluster).
    rmSync(clusterDir, { recursive: true, force: true });
    writeFileSync(path.join(victim, 'PG_VERSION'), '17\n');
    mkdirSync(path.join(victim, 'pg'), { recursive: true });
    writeFileSync(path.join(victim, 'pg', 'PG_VERSION'), '17\n');
    symlinkSync(victim, clusterDir);
    planted.push(clusterDir);
    const refused = await runCli(['status'], { env });
    expect(refused.code).toBe(13);
    expect(refused.stderr).toContain(`refusing to use the embedded cluster folder ${clusterDir}: it is a symbolic link`);
    const reset = await runCli(['db', 'reset', '--yes'], { env });
    expect(reset.code, reset.stderr).toBe(0);
    expect(reset.stderr).toContain(`${clusterDir} was left untouched: it is a symbolic link`);
    expect(existsSync(path.join(victim, 'pg', 'PG_VERSION'))).toBe(true);
    expect(readFileSync(path.join(victim, 'precious.txt'), 'utf8')).toBe('keep me\n');
    rmSync(path.join(victim, 'pg'), { recursive: true });
    rmSync(path.join(victim, 'PG_VERSION'));
  });

  it('refuses a recorded folder owned by another user, or whose data folder is writable by others', async () => {
    expect((await runCli(['status'], { env })).code).toBe(0);
    const { clusterDir } = state();
    expect((await runCli(['db', 'stop'], { env })).code).toBe(0);
    chownSync(clusterDir, NOBODY, NOBODY);
    const foreign = await runCli(['status'], { env });
    expect(foreign.code).toBe(13);
    expect(foreign.stderr).toContain(`refusing to use the embedded cluster folder ${clusterDir}: it is owned by another user (uid ${NOBODY})`);
    chownSync(clusterDir, 0, 0);
    chmodSync(path.join(clusterDir, 'pg'), 0o777);
    const open = await runCli(['status'], { env });
    expect(open.code).toBe(13);
    expect(open.stderr).toContain(`refusing to use the embedded cluster folder ${path.join(clusterDir, 'pg')}: it is writable by other users (mode 777)`);
    chmodSync(path.join(clusterDir, 'pg'), 0o700);
    expect((await runCli(['status'], { env })).code).toBe(0);
  });
});

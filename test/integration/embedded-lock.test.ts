/**
 * The embedded cluster's lock file under contention, with real processes (the built
 * dist/src/embedded/lock.js): mutual exclusion holds, the lock file is never seen empty or half
 * written (the old create-then-write let a reader take "pid 0" for stale and delete a live lock),
 * a dead owner's lock is broken by exactly one process, a live owner's lock is never taken.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/cli.ts';
import { parseOwner, UNPARSEABLE_STALE_MS, withFileLock } from '../../src/embedded/lock.ts';

const LOCK_MODULE = pathToFileURL(path.join(ROOT, 'dist', 'src', 'embedded', 'lock.js')).href;
const dir = mkdtempSync(path.join(os.tmpdir(), 'dbkit-lock-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * A process that takes the lock `rounds` times; inside, it claims a marker file with O_EXCL (two
 * holders at once would collide) and increments a counter with a read, a pause and a write
 * (two holders at once would lose an increment).
 */
function contender(lockFile: string, rounds: number): Promise<{ code: number | null; stderr: string }> {
  const marker = `${lockFile}.inside`;
  const counter = `${lockFile}.count`;
  const code = `
    import { withFileLock } from ${JSON.stringify(LOCK_MODULE)};
    import { readFileSync, writeFileSync, rmSync } from 'node:fs';
    for (let i = 0; i < ${rounds}; i += 1) {
      await withFileLock(${JSON.stringify(lockFile)}, async () => {
        writeFileSync(${JSON.stringify(marker)}, String(process.pid), { flag: 'wx' });
        const n = Number(readFileSync(${JSON.stringify(counter)}, 'utf8'));
        await new Promise((r) => setTimeout(r, 1 + Math.random() * 4));
        writeFileSync(${JSON.stringify(counter)}, String(n + 1));
        rmSync(${JSON.stringify(marker)});
      }, { pollMs: 2 });
    }`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', code], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (exit) => resolve({ code: exit, stderr }));
  });
}

/** The pid of a process that has exited (a dead owner). */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '0']);
  await new Promise((resolve) => child.on('close', resolve));
  return child.pid!;
}

describe('embedded cluster lock file', () => {
  it('keeps 6 processes x 15 rounds mutually exclusive, and no reader ever sees the file empty or half written', async () => {
    const lockFile = path.join(dir, 'contended.lock');
    writeFileSync(`${lockFile}.count`, '0');
    const seen = { reads: 0, malformed: [] as string[] };
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        try {
          const text = readFileSync(lockFile, 'utf8');
          seen.reads += 1;
          if (!parseOwner(text)) seen.malformed.push(JSON.stringify(text));
        } catch {
          // not held at this instant
        }
        await new Promise((resolve) => setImmediate(resolve));
      }
    })();
    const results = await Promise.all(Array.from({ length: 6 }, () => contender(lockFile, 15)));
    watching = false;
    await watcher;
    for (const r of results) expect(r.code, r.stderr).toBe(0);
    expect(Number(readFileSync(`${lockFile}.count`, 'utf8'))).toBe(90);
    expect(seen.reads).toBeGreaterThan(0);
    expect(seen.malformed).toEqual([]);
    expect(existsSync(lockFile)).toBe(false);
  });

  it('breaks the lock of a dead owner exactly once, with 6 processes racing to break it', async () => {
    const lockFile = path.join(dir, 'stale.lock');
    writeFileSync(`${lockFile}.count`, '0');
    writeFileSync(lockFile, `${await deadPid()} ${'ab'.repeat(16)}\n`);
    const results = await Promise.all(Array.from({ length: 6 }, () => contender(lockFile, 5)));
    for (const r of results) expect(r.code, r.stderr).toBe(0);
    expect(Number(readFileSync(`${lockFile}.count`, 'utf8'))).toBe(30);
  });

  it('never takes the lock of a live owner, and names it when giving up', async () => {
    const lockFile = path.join(dir, 'live.lock');
    const sleeper = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)']);
    try {
      writeFileSync(lockFile, `${sleeper.pid} ${'cd'.repeat(16)}\n`);
      await expect(withFileLock(lockFile, async () => 'taken', { timeoutMs: 300 })).rejects.toThrow(`busy starting or stopping in process ${sleeper.pid}`);
      expect(readFileSync(lockFile, 'utf8')).toBe(`${sleeper.pid} ${'cd'.repeat(16)}\n`);
    } finally {
      sleeper.kill();
    }
  });

  it('treats an unreadable owner line as live until it is old, then breaks it', async () => {
    const lockFile = path.join(dir, 'garbled.lock');
    writeFileSync(lockFile, '');
    await expect(withFileLock(lockFile, async () => 'taken', { timeoutMs: 300 })).rejects.toThrow('busy starting or stopping');
    expect(readFileSync(lockFile, 'utf8')).toBe('');
    const old = new Date(Date.now() - UNPARSEABLE_STALE_MS - 5_000);
    utimesSync(lockFile, old, old);
    expect(await withFileLock(lockFile, async () => 'taken', { timeoutMs: 5_000 })).toBe('taken');
    expect(existsSync(lockFile)).toBe(false);
  });

  it('releases only its own lock', async () => {
    const lockFile = path.join(dir, 'own.lock');
    const other = `${process.pid} ${'ef'.repeat(16)}\n`;
    await withFileLock(lockFile, async () => {
      // Someone replaced the lock while it was held (cannot happen while the owner lives; simulated).
      writeFileSync(lockFile, other);
    });
    expect(readFileSync(lockFile, 'utf8')).toBe(other);
  });
});

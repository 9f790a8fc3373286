/**
 * Cross-process coordination for the embedded cluster, with plain files: a lock file created
 * with O_EXCL (stale when its owner process is gone) and one lease file per process using the
 * cluster.
 */
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DbkitError } from '../errors.js';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export async function withFileLock<T>(lockFile: string, fn: () => Promise<T>, timeoutMs = 120_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      writeFileSync(lockFile, `${process.pid}\n`, { flag: 'wx' });
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const owner = Number(safeRead(lockFile).trim());
      if (!Number.isInteger(owner) || owner <= 0 || (!alive(owner) && owner !== process.pid)) {
        rmSync(lockFile, { force: true });
        continue;
      }
      if (Date.now() > deadline) {
        throw new DbkitError('EMBEDDED_FAILED', `the embedded cluster is busy starting or stopping in process ${owner}`, { hint: `if no such process exists, delete ${lockFile}` });
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(lockFile, { force: true });
  }
}

function safeRead(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

export function addLease(dir: string, pid: number): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, String(pid)), `${new Date().toISOString()}\n`);
}

export function removeLease(dir: string, pid: number): void {
  rmSync(path.join(dir, String(pid)), { force: true });
}

/** Pids holding a lease; leases of dead processes (killed with SIGKILL, say) are swept. */
export function liveLeases(dir: string): number[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const live: number[] = [];
  for (const name of names) {
    const pid = Number(name);
    if (Number.isInteger(pid) && pid > 0 && alive(pid)) live.push(pid);
    else rmSync(path.join(dir, name), { force: true });
  }
  return live;
}

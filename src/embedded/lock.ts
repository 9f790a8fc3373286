/**
 * A lock file for the embedded cluster's critical sections (create, start, stop, delete), shared
 * by every dbkit process on the machine and by the idle watchdog.
 *
 * - The lock file never exists without its content: it is written under a private temporary
 *   name and hard-linked into place; link(2) fails with EEXIST while someone holds the lock. So a
 *   reader never sees an empty or half-written owner line (the defect of create-then-write).
 * - A lock whose owner process is gone is broken by exactly one process: the right to break the
 *   lock of owner token T is itself a lock file (`<lock>.break-T`, taken the same way), and that
 *   process removes the lock only if it still carries T. Tokens are random, so a lock taken
 *   after the break can never be mistaken for the dead one.
 * - An owner line that does not parse (a foreign or truncated file) is treated as live until the
 *   file is older than UNPARSEABLE_STALE_MS.
 *
 * The owner line is parsed with a strict pattern rather than zod: this runs on every command
 * that uses the embedded cluster, and importing zod costs about as much as starting node.
 */
import { randomBytes } from 'node:crypto';
import { linkSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { DbkitError } from '../errors.js';

export const UNPARSEABLE_STALE_MS = 10_000;
const OWNER_LINE = /^(\d{1,10}) ([0-9a-f]{32})\n$/;

export interface LockOwner {
  pid: number;
  token: string;
}

export function parseOwner(text: string): LockOwner | null {
  const match = OWNER_LINE.exec(text);
  if (!match) return null;
  const pid = Number(match[1]);
  return pid > 0 ? { pid, token: match[2]! } : null;
}

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Filesystems without hard links answer link(2) with one of these. */
const NO_HARD_LINKS = ['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS'];

/** Creates `file` holding `content` in one step; false when it already exists. */
export function createWithContent(file: string, content: string): boolean {
  const temporary = `${file}.${randomBytes(8).toString('hex')}.tmp`;
  writeFileSync(temporary, content, { flag: 'wx', mode: 0o600 });
  try {
    linkSync(temporary, file);
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? '';
    if (code === 'EEXIST') return false;
    if (!NO_HARD_LINKS.includes(code)) throw error;
  } finally {
    rmSync(temporary, { force: true });
  }
  // No hard links here: exclusive create, then write. A reader may see the file empty for an
  // instant, which observe() treats as a live owner (never stale while young).
  try {
    writeFileSync(file, content, { flag: 'wx', mode: 0o600 });
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
}

type Observed = { kind: 'free' } | { kind: 'live'; pid: number | null } | { kind: 'stale'; key: string };

function observe(lockFile: string): Observed {
  let text: string;
  let mtimeMs: number;
  let ino: number;
  try {
    text = readFileSync(lockFile, 'utf8');
    ({ mtimeMs, ino } = statSync(lockFile));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'free' };
    throw error;
  }
  const owner = parseOwner(text);
  if (owner) return processAlive(owner.pid) ? { kind: 'live', pid: owner.pid } : { kind: 'stale', key: owner.token };
  return Date.now() - mtimeMs > UNPARSEABLE_STALE_MS ? { kind: 'stale', key: `ino${ino}` } : { kind: 'live', pid: null };
}

/** The key a lock file currently carries (its owner token, or its inode when unparseable). */
function currentKey(lockFile: string): string | null {
  try {
    const owner = parseOwner(readFileSync(lockFile, 'utf8'));
    return owner ? owner.token : `ino${statSync(lockFile).ino}`;
  } catch {
    return null;
  }
}

/** Removes the lock carrying `key`, if it still does and no other process is already breaking it. */
function breakStale(lockFile: string, key: string, me: string): void {
  const breaker = `${lockFile}.break-${key}`;
  if (!createWithContent(breaker, me)) {
    // Someone else is breaking it. A breaker that died mid-way (a window of microseconds) leaves
    // its file behind: it is cleared once old, and the next attempt breaks the lock.
    const owner = observe(breaker);
    if (owner.kind === 'stale') rmSync(breaker, { force: true });
    return;
  }
  try {
    if (currentKey(lockFile) === key) unlinkSync(lockFile);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  } finally {
    rmSync(breaker, { force: true });
  }
}

export interface LockOptions {
  timeoutMs?: number;
  /** How often a waiting process looks again. */
  pollMs?: number;
}

export async function withFileLock<T>(lockFile: string, fn: () => Promise<T>, options: LockOptions = {}): Promise<T> {
  const { timeoutMs = 120_000, pollMs = 25 } = options;
  const token = randomBytes(16).toString('hex');
  const me = `${process.pid} ${token}\n`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (createWithContent(lockFile, me)) break;
    const seen = observe(lockFile);
    if (seen.kind === 'stale') {
      breakStale(lockFile, seen.key, me);
      continue;
    }
    if (seen.kind === 'free') continue;
    if (Date.now() > deadline) {
      throw new DbkitError('EMBEDDED_FAILED', `the embedded cluster is busy starting or stopping${seen.pid ? ` in process ${seen.pid}` : ''}`, {
        hint: `if no dbkit process is running, delete ${lockFile}`,
      });
    }
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
  // A process that exits while holding the lock (process.exit on SIGINT) releases it on the way out.
  const releaseOnExit = () => releaseIfMine(lockFile, token);
  process.once('exit', releaseOnExit);
  try {
    return await fn();
  } finally {
    process.removeListener('exit', releaseOnExit);
    releaseIfMine(lockFile, token);
  }
}

/** Removes the lock only when it is still this holder's (never someone else's). */
function releaseIfMine(lockFile: string, token: string): void {
  if (currentKey(lockFile) === token) rmSync(lockFile, { force: true });
}

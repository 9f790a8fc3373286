/**
 * The embedded cluster's folder, and keeping it dbkit's own.
 *
 * Normally <stateDir>/embedded. When dbkit runs as root and the postgres OS user cannot reach the
 * state dir (root's home is usually 0700), the cluster goes under /var/tmp instead: a folder any
 * local user can write to. There the folder is created fresh with an unpredictable name (mkdtemp:
 * never a name someone could have prepared as a symbolic link or as a folder of theirs), and every
 * later use checks, without following links (lstat), that the cluster folder and its pg/ and run/
 * are still real folders owned by root or the postgres user and writable by nobody else.
 */
import { createHash } from 'node:crypto';
import { chmodSync, chownSync, lstatSync, mkdirSync, mkdtempSync } from 'node:fs';
import path from 'node:path';
import { DbkitError } from '../errors.js';
import { traversable, type ServiceUser } from './binaries.js';

export const FALLBACK_ROOT = '/var/tmp';

/** A new, empty folder for a cluster about to be created. */
export function newClusterDir(stateDir: string, user: ServiceUser | null, fallbackRoot = FALLBACK_ROOT): string {
  if (!user || traversable(stateDir, user)) {
    const dir = path.join(stateDir, 'embedded');
    mkdirSync(dir, { recursive: true, mode: 0o755 });
    const problem = folderProblem(dir, user);
    if (problem) throw unsafe(dir, problem);
    return dir;
  }
  const digest = createHash('sha256').update(path.resolve(stateDir)).digest('hex').slice(0, 12);
  // mkdtemp creates the folder itself (0700, owned by root) under a random name; open it up for
  // the postgres user to traverse only once it is ours.
  const dir = mkdtempSync(path.join(fallbackRoot, `dbkit-${digest}-`));
  chmodSync(dir, 0o755);
  return dir;
}

/** A subfolder (pg/, run/) created for the service user; an existing one must pass the checks. */
export function ownedSubdir(dir: string, user: ServiceUser | null): void {
  try {
    mkdirSync(dir, { mode: 0o700 });
    if (user) chownSync(dir, user.uid, user.gid);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  const problem = folderProblem(dir, user);
  if (problem) throw unsafe(dir, problem);
}

/** What makes `dir` unsafe to use, or null: a link, not a folder, someone else's, open to others. */
export function folderProblem(dir: string, user: ServiceUser | null): string | null {
  let stat;
  try {
    stat = lstatSync(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'it does not exist';
    throw error;
  }
  if (stat.isSymbolicLink()) return 'it is a symbolic link';
  if (!stat.isDirectory()) return 'it is not a folder';
  const me = typeof process.geteuid === 'function' ? process.geteuid() : null;
  const owners = [me, user?.uid ?? null].filter((uid): uid is number => uid !== null);
  if (owners.length > 0 && !owners.includes(stat.uid)) return `it is owned by another user (uid ${stat.uid})`;
  if (process.platform !== 'win32' && (stat.mode & 0o022) !== 0) return `it is writable by other users (mode ${(stat.mode & 0o777).toString(8)})`;
  return null;
}

/** The first problem with a cluster folder or its pg/ and run/ (those that exist), or null. */
export function clusterDirProblem(clusterDir: string, user: ServiceUser | null): { dir: string; problem: string } | null {
  const top = folderProblem(clusterDir, user);
  if (top) return { dir: clusterDir, problem: top };
  for (const sub of ['pg', 'run']) {
    const dir = path.join(clusterDir, sub);
    const problem = folderProblem(dir, user);
    if (problem && problem !== 'it does not exist') return { dir, problem };
  }
  return null;
}

export function unsafe(dir: string, problem: string): DbkitError {
  return new DbkitError('EMBEDDED_FAILED', `refusing to use the embedded cluster folder ${dir}: ${problem}`, {
    hint: 'someone else may have prepared it; check what it is, then run dbkit db reset --yes (dbkit forgets that folder without touching it and creates a fresh cluster)',
  });
}

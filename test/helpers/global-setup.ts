/**
 * One embedded PostgreSQL 17 cluster for the whole test run, in a temporary state dir (never the
 * project's .dbkit/), plus the external server from DATABASE_URL when given. Tests get both
 * through `inject()` and create their own databases in them.
 */
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { acquireEmbedded, destroyEmbedded } from '../../src/embedded/cluster.ts';
import { withClient } from '../../src/db/scoped.ts';
import { pgtapAvailability, type PgTapAvailability } from './pgtap.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    embeddedAdminUrl: string;
    externalAdminUrl: string | null;
    /** Per server name (see testServers): whether dbkit test can have pgTAP there, else why not. */
    pgtap: Record<string, PgTapAvailability>;
  }
}

/** Every folder under `root` that holds an embedded cluster's state (embedded.json). */
function stateDirsUnder(root: string): string[] {
  const found: string[] = [];
  const walk = (dir: string, depth: number) => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    if (entries.some((e) => e.isFile() && e.name === 'embedded.json')) found.push(dir);
    if (depth < 3) for (const e of entries) if (e.isDirectory() && e.name !== 'embedded') walk(path.join(dir, e.name), depth + 1);
  };
  walk(root, 0);
  return found;
}

const API_ROLES = ['anon', 'authenticated', 'service_role'];

async function apiRoles(url: string): Promise<string[]> {
  return withClient(url, {}, async (c) => (await c.query<{ rolname: string }>('SELECT rolname FROM pg_roles WHERE rolname = ANY($1)', [API_ROLES])).rows.map((r) => r.rolname));
}

/** Leaves the external server's roles as the run found them (a role still in use stays). */
async function dropRolesCreatedSince(url: string, before: string[]): Promise<void> {
  await withClient(url, {}, async (c) => {
    for (const role of API_ROLES.filter((r) => !before.includes(r))) {
      const { rows } = await c.query<{ used: boolean }>(
        "SELECT EXISTS (SELECT 1 FROM pg_shdepend WHERE refclassid = 'pg_authid'::regclass AND refobjid = (SELECT oid FROM pg_roles WHERE rolname = $1)) AS used",
        [role],
      );
      if (rows[0] && !rows[0].used) await c.query(`DROP ROLE IF EXISTS ${role}`);
    }
  });
}

export default async function setup(project: TestProject) {
  // All temporary files of the run (the test processes' and the CLI children's) go under one
  // folder, removed at the end with any embedded cluster a test left behind. 0755: the postgres
  // OS user running the embedded clusters (as root) must reach into it.
  const runDir = mkdtempSync(path.join(os.tmpdir(), 'dbkit-run-'));
  chmodSync(runDir, 0o755);
  process.env.TMPDIR = runDir;
  const stateDir = path.join(runDir, 'cluster');
  mkdirSync(stateDir, { mode: 0o755 });
  const lease = await acquireEmbedded(stateDir, { persistent: true });
  await lease.release();
  const admin = new URL(lease.url);
  admin.pathname = '/postgres';
  project.provide('embeddedAdminUrl', admin.toString());
  const external = process.env.DATABASE_URL ?? null;
  project.provide('externalAdminUrl', external);
  project.provide('pgtap', await pgtapAvailability({ 'embedded-17': admin.toString(), ...(external ? { external } : {}) }));
  // Roles are cluster-wide: the compatibility migration creates anon/authenticated/service_role on
  // the external server if absent, and test databases are dropped without dropping them.
  const rolesBefore = external ? await apiRoles(external) : [];
  if (!external) {
    process.stdout.write('\n[dbkit tests] DATABASE_URL is not set: running against the embedded PostgreSQL 17 only. Set DATABASE_URL to a PostgreSQL 15+ (e.g. postgres://postgres@127.0.0.1:5432/postgres) to also test an external server.\n\n');
  }
  return async () => {
    if (external) await dropRolesCreatedSince(external, rolesBefore).catch(() => {});
    for (const dir of stateDirsUnder(runDir)) await destroyEmbedded(dir).catch(() => {});
    rmSync(runDir, { recursive: true, force: true });
  };
}

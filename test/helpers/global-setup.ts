/**
 * One embedded PostgreSQL 17 cluster for the whole test run, in a temporary state dir (never the
 * project's .dbkit/), plus the external server from DATABASE_URL when given. Tests get both
 * through `inject()` and create their own databases in them.
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { acquireEmbedded, destroyEmbedded } from '../../src/embedded/cluster.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    embeddedAdminUrl: string;
    externalAdminUrl: string | null;
  }
}

export default async function setup(project: TestProject) {
  const stateDir = mkdtempSync(path.join(os.tmpdir(), 'dbkit-test-'));
  chmodSync(stateDir, 0o755);
  const lease = await acquireEmbedded(stateDir, { persistent: true });
  await lease.release();
  const admin = new URL(lease.url);
  admin.pathname = '/postgres';
  project.provide('embeddedAdminUrl', admin.toString());
  const external = process.env.DATABASE_URL ?? null;
  project.provide('externalAdminUrl', external);
  if (!external) {
    process.stdout.write('\n[dbkit tests] DATABASE_URL is not set: running against the embedded PostgreSQL 17 only. Set DATABASE_URL to a PostgreSQL 15+ (e.g. postgres://postgres@127.0.0.1:5432/postgres) to also test an external server.\n\n');
  }
  return async () => {
    await destroyEmbedded(stateDir);
    rmSync(stateDir, { recursive: true, force: true });
  };
}

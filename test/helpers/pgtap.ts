/**
 * Which test servers dbkit test can have pgTAP on, decided once per run (global setup) by the same
 * code dbkit test uses: on the server already, or, for the embedded PostgreSQL 17, from a
 * PostgreSQL installation on this machine (DBKIT_PGTAP_DIR, when set, is the only place looked).
 * A test that needs pgTAP where there is none is skipped with the reason and what to install,
 * and the run says so up front; with DBKIT_REQUIRE_PGTAP=1 (.ci/run sets it) it fails instead.
 */
import path from 'node:path';
import type { TestContext } from 'vitest';
import { inject } from 'vitest';
import { resolveConfig } from '../../src/config.ts';
import { withClient } from '../../src/db/scoped.ts';
import { pgtapObtainable } from '../../src/pgtap/provision.ts';
import type { TestServer } from './db.ts';

export type PgTapAvailability = { ok: true } | { ok: false; reason: string };

export const REQUIRE_PGTAP = process.env.DBKIT_REQUIRE_PGTAP === '1';

/** For each server (name -> admin URL): can pgTAP be had there? Prints a notice for those where not. */
export async function pgtapAvailability(servers: Record<string, string>): Promise<Record<string, PgTapAvailability>> {
  const root = path.resolve(import.meta.dirname, '..', '..');
  const { pgtapDirs } = resolveConfig({ cwd: root, flags: {}, env: { DBKIT_PGTAP_DIR: process.env.DBKIT_PGTAP_DIR }, dotenv: {}, file: null, fileName: null });
  const result: Record<string, PgTapAvailability> = {};
  for (const [name, url] of Object.entries(servers)) {
    result[name] = await withClient(url, {}, (client) => pgtapObtainable(client, pgtapDirs));
    const found = result[name]!;
    if (!found.ok) {
      const then = REQUIRE_PGTAP ? 'they FAIL (DBKIT_REQUIRE_PGTAP=1)' : 'they are skipped (counted below as skipped)';
      process.stdout.write(`\n[dbkit tests] pgTAP tests on ${name}: ${then}, because ${found.reason}\n`);
    }
  }
  return result;
}

/** Call first in a test that runs dbkit test on `server`: skips it (or fails it, when required) without pgTAP. */
export function needsPgTap(context: TestContext, server: TestServer): void {
  const found = inject('pgtap')[server.name];
  if (!found || found.ok) return;
  if (REQUIRE_PGTAP) throw new Error(`DBKIT_REQUIRE_PGTAP=1, but ${found.reason}`);
  context.skip(`pgTAP unavailable on ${server.name}: ${found.reason}`);
}

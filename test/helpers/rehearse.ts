/** Scratch folders holding some of the rehearsal fixture migrations (test/fixtures/rehearse/). */
import { copyFileSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT } from './cli.ts';
import { query } from './db.ts';

export const REHEARSE_FIXTURES = path.join(ROOT, 'test/fixtures/rehearse/migrations');

export function fixtureSubset(prefixes: readonly string[], extra: Record<string, string> = {}): { dir: string; add(prefixes: readonly string[]): void; cleanup(): void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'dbkit-rehearse-'));
  const add = (wanted: readonly string[]) => {
    for (const file of readdirSync(REHEARSE_FIXTURES)) {
      if (wanted.some((p) => file.startsWith(p))) copyFileSync(path.join(REHEARSE_FIXTURES, file), path.join(dir, file));
    }
  };
  add(prefixes);
  for (const [name, source] of Object.entries(extra)) writeFileSync(path.join(dir, name), source);
  return { dir, add, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Rehearsal copies of `database` still on the server (template copies carry its name in their comment). */
export async function leftoverCopies(adminUrl: string, database: string): Promise<string[]> {
  const rows = await query<{ datname: string }>(
    adminUrl,
    `SELECT datname FROM pg_database d WHERE datname LIKE 'dbkit\\_rh\\_%' AND shobj_description(d.oid, 'pg_database') LIKE $1`,
    [`dbkit rehearsal copy of ${database} %`],
  );
  return rows.map((r) => r.datname);
}

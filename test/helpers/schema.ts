/**
 * Catalog views the tests compare: schema fingerprints and dbkit's tracking rows.
 */
import pg from 'pg';
import { schemaFingerprint } from '../../src/db/fingerprint.ts';
import { diffSnapshots, formatDifference, type Fingerprint } from '../../src/core/fingerprint.ts';
import { query } from './db.ts';

export async function fingerprint(url: string, options: { includeDbkitSchema?: boolean } = {}): Promise<Fingerprint> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await schemaFingerprint(client, options);
  } finally {
    await client.end();
  }
}

export function describeDiff(a: Fingerprint, b: Fingerprint): string {
  return diffSnapshots(a.snapshot, b.snapshot).map(formatDifference).join('\n');
}

export async function appliedNames(url: string): Promise<string[]> {
  const exists = await query<{ ok: boolean }>(url, "SELECT to_regclass('dbkit.migrations') IS NOT NULL AS ok");
  if (!exists[0]?.ok) return [];
  return (await query<{ name: string }>(url, 'SELECT name FROM dbkit.migrations ORDER BY run_on, id')).map((r) => r.name);
}

/**
 * Adoption: migrations another tool applied (found in its history) are recorded in dbkit's
 * tracking before dbkit runs anything, with the checksum of their file at that moment and where
 * they were adopted from, so that drift is caught from then on and rollback can revert them.
 */
import type pg from 'pg';
import { quoteLiteral } from '../db/catalog.js';
import type { LoadedMigration } from './load.js';
import type { AdoptEntry } from './plan.js';
import { currentDatabase, guardKeyFor } from './exactly-once.js';
import { CHECKSUMS_TABLE, MIGRATIONS_TABLE, recordChecksumSql, TRACKING_DDL, TRACKING_SCHEMA } from './tracking.js';

const ADOPTION_DDL = `ALTER TABLE ${TRACKING_SCHEMA}.${CHECKSUMS_TABLE} ADD COLUMN IF NOT EXISTS adopted_from text;`;

/**
 * Records `adopt` (in the order given) as applied, in one transaction. Each row sorts after every
 * row already tracked, so dbkit's order stays the folder's order, as node-pg-migrate's runner checks.
 */
export async function recordAdoption(client: pg.ClientBase, migrations: readonly LoadedMigration[], adopt: readonly AdoptEntry[], from: string): Promise<void> {
  if (adopt.length === 0) return;
  const byName = new Map(migrations.map((m) => [m.name, m]));
  const statements = [TRACKING_DDL, ADOPTION_DDL];
  for (const entry of adopt) {
    const m = byName.get(entry.name);
    if (!m) throw new Error(`adopting ${entry.name}, which has no loaded migration`);
    // Another dbkit may have adopted it meanwhile (through a transaction pooler the session lock does not hold).
    statements.push(
      `INSERT INTO ${TRACKING_SCHEMA}.${MIGRATIONS_TABLE} (name, run_on) SELECT ${quoteLiteral(m.name)}, GREATEST(now()::timestamp, coalesce((SELECT max(run_on) FROM ${TRACKING_SCHEMA}.${MIGRATIONS_TABLE}), '-infinity')) WHERE NOT EXISTS (SELECT 1 FROM ${TRACKING_SCHEMA}.${MIGRATIONS_TABLE} WHERE name = ${quoteLiteral(m.name)});`,
      recordChecksumSql(m.name, m.fileChecksum, m.sqlChecksum),
      `UPDATE ${TRACKING_SCHEMA}.${CHECKSUMS_TABLE} SET adopted_from = ${quoteLiteral(from)} WHERE name = ${quoteLiteral(m.name)};`,
    );
  }
  await client.query('BEGIN');
  try {
    const [k1, k2] = guardKeyFor(await currentDatabase(client));
    await client.query(`SELECT pg_advisory_xact_lock(${k1}, ${k2})`);
    await client.query(statements.join('\n'));
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  }
}

/** Migrations dbkit adopted, and from where; empty when it never adopted any. */
export async function readAdoptionMarks(client: pg.ClientBase): Promise<Map<string, string>> {
  const { rows: has } = await client.query<{ ok: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass('${TRACKING_SCHEMA}.${CHECKSUMS_TABLE}') AND attname = 'adopted_from' AND NOT attisdropped) AS ok`,
  );
  if (!has[0]?.ok) return new Map();
  const { rows } = await client.query<{ name: string; from: string }>(`SELECT name, adopted_from AS "from" FROM ${TRACKING_SCHEMA}.${CHECKSUMS_TABLE} WHERE adopted_from IS NOT NULL`);
  return new Map(rows.map((r) => [r.name, r.from]));
}

/**
 * Migrations that failed part-way outside a transaction (pgm.noTransaction()): some of their
 * statements committed, the rest did not, and the migration is not recorded as applied. dbkit
 * records such a failure in its own schema so that `status` keeps saying so until the migration
 * runs through (or the database is restored from a backup taken before it).
 */
import type pg from 'pg';
import { quoteLiteral } from '../db/catalog.js';
import { TRACKING_SCHEMA } from './tracking.js';
import type { Direction } from './load.js';

const TABLE = `${TRACKING_SCHEMA}.partial_migrations`;

const DDL = `CREATE SCHEMA IF NOT EXISTS ${TRACKING_SCHEMA};
REVOKE ALL ON SCHEMA ${TRACKING_SCHEMA} FROM PUBLIC;
CREATE TABLE IF NOT EXISTS ${TABLE} (
  name text PRIMARY KEY,
  direction text NOT NULL,
  failed_at timestamptz NOT NULL DEFAULT now(),
  steps_committed int NOT NULL,
  steps_total int NOT NULL,
  failed_statement text NOT NULL,
  error text NOT NULL,
  backup_id text
);`;

export interface PartialMark {
  name: string;
  direction: Direction;
  failedAt: string;
  stepsCommitted: number;
  stepsTotal: number;
  failedStatement: string;
  error: string;
  /** The verified backup taken before the run that failed, if any. */
  backupId: string | null;
}

export async function markPartial(client: pg.ClientBase, mark: Omit<PartialMark, 'failedAt'>): Promise<void> {
  await client.query(
    `${DDL}
INSERT INTO ${TABLE} (name, direction, steps_committed, steps_total, failed_statement, error, backup_id)
VALUES (${quoteLiteral(mark.name)}, ${quoteLiteral(mark.direction)}, ${mark.stepsCommitted}, ${mark.stepsTotal}, ${quoteLiteral(mark.failedStatement)}, ${quoteLiteral(mark.error)}, ${mark.backupId === null ? 'NULL' : quoteLiteral(mark.backupId)})
ON CONFLICT (name) DO UPDATE SET direction = EXCLUDED.direction, failed_at = now(), steps_committed = EXCLUDED.steps_committed, steps_total = EXCLUDED.steps_total,
  failed_statement = EXCLUDED.failed_statement, error = EXCLUDED.error, backup_id = EXCLUDED.backup_id;`,
  );
}

export async function readPartialMarks(client: pg.ClientBase): Promise<PartialMark[]> {
  const { rows: exists } = await client.query<{ ok: boolean }>(`SELECT to_regclass('${TABLE}') IS NOT NULL AS ok`);
  if (!exists[0]?.ok) return [];
  const { rows } = await client.query<PartialMark>(
    `SELECT name, direction, failed_at::text AS "failedAt", steps_committed AS "stepsCommitted", steps_total AS "stepsTotal", failed_statement AS "failedStatement", error, backup_id AS "backupId"
       FROM ${TABLE} ORDER BY failed_at`,
  );
  return rows;
}

/** Appended to a marked migration that now ran through: its earlier part-way failure is settled. */
export function clearPartialSql(name: string): string {
  return `DELETE FROM ${TABLE} WHERE name = ${quoteLiteral(name)};`;
}

/** The outcome of a failed step, in words for its progress line: never "rolled back" unless it was. */
export function failureLabel(outcome: { transactional: boolean; partial?: { stepsCommitted: number } }): string {
  if (outcome.transactional) return 'failed, rolled back';
  if (outcome.partial && outcome.partial.stepsCommitted > 0) return `failed part-way outside a transaction: ${outcome.partial.stepsCommitted} step(s) stay applied`;
  return 'failed at its first step (outside a transaction): nothing of it was applied';
}

/** Records a part-way failure so that status marks it; says so when even that fails. */
export async function recordPartialFailure(
  client: pg.ClientBase,
  outcome: { name: string; direction: Direction; partial?: { stepsCommitted: number; stepsTotal: number; failedStatement: string }; error?: Error },
  backupId: string | null,
): Promise<string | null> {
  if (!outcome.partial || outcome.partial.stepsCommitted === 0) return null;
  try {
    await markPartial(client, { name: outcome.name, direction: outcome.direction, ...outcome.partial, error: outcome.error?.message.split('\n')[0] ?? 'failed', backupId });
    return null;
  } catch (error) {
    return `could not record the part-way failure of ${outcome.name} for dbkit status (${(error as Error).message}): keep this output`;
  }
}

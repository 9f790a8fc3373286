/**
 * Round-trips declared policy expressions through the server: each is created on a temporary copy
 * of its table (CREATE TEMP TABLE ... LIKE, so the real table is never locked or changed) and read
 * back with pg_get_expr under an empty search_path, exactly as the live policies are read. All of
 * it in one transaction that is rolled back.
 *
 * The declarations are text from policies/*.ts: each CREATE POLICY is first checked by PostgreSQL's
 * parser to be exactly the one declared (createPolicySql), then sent alone through the extended
 * protocol, which refuses a text of several statements. So no declaration can COMMIT the
 * transaction or run anything beside its policy.
 */
import type pg from 'pg';
import { createPolicySql, type PolicyDefinition } from '../core/policy.js';
import { quoteIdent, quoteQualified } from '../core/sql.js';
import { loadSqlParser } from '../core/sql-parse.js';
import { queryOne } from '../db/statement.js';
import { errorMessage, pgErrorInfo } from '../errors.js';
import type { NormalisedDeclaration } from './drift.js';

export async function normaliseDeclarations(client: pg.ClientBase, declared: readonly { policy: PolicyDefinition; file: string }[]): Promise<NormalisedDeclaration[]> {
  await loadSqlParser();
  const out: NormalisedDeclaration[] = [];
  await client.query('BEGIN');
  try {
    await client.query("SET LOCAL lock_timeout = '5s'");
    const copies = new Map<string, string>();
    for (const [i, d] of declared.entries()) {
      await client.query('SAVEPOINT dbkit_drift');
      try {
        let copy = copies.get(d.policy.table);
        if (!copy) {
          copy = `dbkit_drift_${i}`;
          await queryOne(client, `CREATE TEMP TABLE ${quoteIdent(copy)} (LIKE ${quoteQualified(d.policy.table)})`);
        }
        const name = `dbkit_drift_policy_${i}`;
        await queryOne(client, createPolicySql({ ...d.policy, name, table: `pg_temp.${copy}` }));
        await client.query("SELECT set_config('search_path', '', true)");
        const { rows } = await queryOne<{ using: string | null; check: string | null }>(
          client,
          `SELECT pg_get_expr(polqual, polrelid) AS using, pg_get_expr(polwithcheck, polrelid) AS check FROM pg_policy WHERE polname = $1 AND polrelid = $2::regclass`,
          [name, `pg_temp.${copy}`],
        );
        await client.query('RESET search_path');
        await client.query('RELEASE SAVEPOINT dbkit_drift');
        copies.set(d.policy.table, copy);
        out.push({ ...d, using: rows[0]?.using ?? null, withCheck: rows[0]?.check ?? null, error: null });
      } catch (error) {
        await client.query('ROLLBACK TO SAVEPOINT dbkit_drift');
        out.push({ ...d, using: null, withCheck: null, error: errorMessage(error).split('\n')[0] ?? 'unknown error', denied: pgErrorInfo(error)?.code === '42501' });
      }
    }
  } finally {
    await client.query('ROLLBACK').catch(() => {});
  }
  return out;
}

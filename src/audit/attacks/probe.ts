/**
 * What every attack probe shares: acting as an identity inside a savepoint (rolled back), the
 * outcome of the statement, and turning it into a matrix cell with its evidence (proof.ts). An
 * attack is a cell like any other: identities, operation, table, reproduction and fix.
 */
import type pg from 'pg';
import { errorMessage, pgErrorInfo } from '../../errors.js';
import { quoteIdent } from '../../core/sql.js';
import { actingAs, inlineParams } from '../evidence.js';
import type { Identity, MatrixCell, Operation, Outcome } from '../matrix.js';
import type { ProofRecorder } from '../proof.js';
import type { Seeder } from '../seed.js';
import type { ResolvedTenancy } from '../tenancy.js';

export interface AttackEnv {
  client: pg.ClientBase;
  tenancy: ResolvedTenancy;
  seeder: Seeder;
  recorder: ProofRecorder;
  /** Schemas the API exposes (SECURITY DEFINER functions there are probed). */
  exposedSchemas: readonly string[];
}

export interface AttackStep {
  relation: string;
  identity: Identity;
  operation: Operation;
  /** Statements run first as the connecting role (rows the attack starts from). */
  setup?: { sql: string; params: unknown[] }[];
  sql: string;
  params: unknown[];
  /** What a success means, e.g. "A joined B's group as owner". */
  success: string;
  fix: string;
  kind?: 'table' | 'function';
  target?: string;
  /** A function call: judged by what it returned and changed, not by a row count. */
  judge?: (rows: Record<string, unknown>[]) => Promise<{ actual: Outcome; detail: string }>;
  /** Checked as the connecting role after a statement that wrote rows: did the write stick (a trigger may have put the value back)? */
  verify?: { sql: string; params: unknown[] };
  /** Errors that mean the attack was refused (default: RLS/privileges, constraints, a trigger's exception). */
  refusedOnAnyError?: boolean;
}

/** Runs one attack as its identity; success (a row written, or rows affected) is a leak. Rolled back. */
export async function attack(env: AttackEnv, step: AttackStep): Promise<MatrixCell> {
  const { client, tenancy, seeder, recorder } = env;
  const setup = (step.setup ?? []).map((s) => inlineParams(s.sql, s.params));
  const sql = inlineParams(step.sql, step.params);
  const statement = step.judge ? { kind: 'call' as const, sql, ...(setup.length ? { setup } : {}) } : { kind: 'rows' as const, sql, targeted: 1, ...(setup.length ? { setup } : {}) };
  const planned = { relation: step.relation, kind: step.kind ?? ('table' as const), ...(step.target ? { target: step.target } : {}), identity: step.identity, operation: step.operation, expected: 'deny' as const };
  let actual: Outcome;
  let detail: string;
  await client.query('SAVEPOINT dbkit_attack');
  try {
    for (const s of step.setup ?? []) await client.query(s.sql, s.params);
    const acting = actingAs(step.identity, tenancy, seeder.uids);
    await client.query(`SET LOCAL ROLE ${quoteIdent(acting.role)}`);
    await client.query("SELECT set_config('request.jwt.claims', $1, true), set_config('request.jwt.claim.sub', '', true), set_config('request.jwt.claim.role', '', true)", [acting.claims]);
    const result = await client.query(step.sql, step.params);
    if (step.judge) {
      ({ actual, detail } = await step.judge(result.rows as Record<string, unknown>[]));
    } else {
      const n = result.rowCount ?? 0;
      actual = n > 0 ? 'allow' : 'deny';
      detail = n > 0 ? step.success : 'no row written';
      if (n > 0 && step.verify) {
        await client.query('RESET ROLE');
        const { rows } = await client.query<{ n: number }>(`SELECT count(*)::int AS n FROM (${step.verify.sql}) v`, step.verify.params);
        if ((rows[0]?.n ?? 0) === 0) {
          actual = 'deny';
          detail = 'the statement was accepted, but no row holds the value afterwards (a trigger or default put it back)';
        }
      }
    }
  } catch (error) {
    const info = pgErrorInfo(error);
    const message = errorMessage(error).split('\n')[0] ?? '';
    // PostgreSQL checks RLS before a row's constraints: a constraint error means the policies admitted the row.
    const admitted = !step.refusedOnAnyError && Boolean(info?.code?.startsWith('23'));
    actual = admitted ? 'allow' : step.refusedOnAnyError || info?.code === '42501' || info?.code === 'P0001' ? 'deny' : 'error';
    detail = admitted ? `admitted by the policies; only ${info?.constraint || 'a constraint'} stopped it (${message})` : `${info?.code ?? ''} ${message}`.trim();
  } finally {
    await client.query('ROLLBACK TO SAVEPOINT dbkit_attack');
  }
  return recorder.complete(planned, actual, detail, statement, step.fix);
}

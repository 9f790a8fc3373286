/**
 * The attack probes beyond reading and writing one's own and the other tenant's rows: each one a
 * matrix cell with its evidence (identities, reproduction, fix), so that every output (human,
 * JSON, SARIF, snapshots, pgTAP where it can) shows them like the matrix's own cells. Re-parenting
 * (moving a row under, or creating one in, another tenant's parent) and anon writes are the
 * matrix's move-own, insert-other and anon cells.
 */
import type { MatrixCell } from '../matrix.js';
import { definerCalls } from './definer.js';
import { ownerTakeover } from './owner-takeover.js';
import type { AttackEnv } from './probe.js';
import { selfJoin } from './self-join.js';
import { storageWrites } from './storage.js';

export type { AttackEnv } from './probe.js';

export async function runAttacks(env: AttackEnv): Promise<MatrixCell[]> {
  return [...(await ownerTakeover(env)), ...(await selfJoin(env)), ...(await definerCalls(env)), ...(await storageWrites(env))];
}

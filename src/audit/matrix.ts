/**
 * The isolation matrix, as data: which identity tries which operation on which relation, what it
 * should get, and the verdict once the probe has run. Pure; impersonate.ts runs the probes.
 */
import type { ProbeEvidence } from './model.js';
import { seededTables, type ResolvedTenancy } from './tenancy.js';

/** outsider: user C, signed in and member of nothing (the attack probes act as it). */
export const IDENTITIES = ['anon', 'tenant-a', 'tenant-b', 'service_role', 'outsider'] as const;
export type Identity = (typeof IDENTITIES)[number];

export const OPERATIONS = [
  'select-own', 'select-other', 'select-published', 'insert-own', 'insert-other', 'update-other', 'delete-other', 'move-own', 'move-own-returning',
  'reference-other',
  // Attack probes (src/audit/attacks/): planned from the schema, not from expectation().
  'owner-takeover', 'self-join', 'raise-role', 'definer-call', 'storage-write',
] as const;
export const ATTACK_OPERATIONS: readonly Operation[] = ['owner-takeover', 'self-join', 'raise-role', 'definer-call', 'storage-write'];
export type Operation = (typeof OPERATIONS)[number];

export const OUTCOMES = ['allow', 'deny', 'partial', 'error'] as const;
export type Outcome = (typeof OUTCOMES)[number];
export const VERDICTS = ['ok', 'leak', 'blocked', 'error'] as const;
export type Verdict = (typeof VERDICTS)[number];

export interface PlannedCell {
  relation: string;
  kind: 'table' | 'view' | 'function';
  /** What an attack probe aimed at within the relation (a column, a bucket, a membership); absent for the matrix's own cells. */
  target?: string;
  identity: Identity;
  operation: Operation;
  expected: 'allow' | 'deny';
}

/** A probed cell, with its evidence (identities, table, reproduction, fix: see evidence.ts). */
export interface MatrixCell extends PlannedCell, ProbeEvidence {
  operation: Operation;
  actual: Outcome;
  /** e.g. "2/2 rows", "new row violates row-level security policy", "permission denied". */
  detail: string;
  verdict: Verdict;
}

const isTenant = (i: Identity) => i === 'tenant-a' || i === 'tenant-b';

/** What each identity should be able to do on a table of the map. null: the operation does not apply. */
export function expectation(identity: Identity, operation: Operation, readableBy: readonly string[] | null): 'allow' | 'deny' | null {
  const service = identity === 'service_role';
  if (identity === 'outsider') return null; // user C acts in the attack probes only
  switch (operation) {
    case 'select-own':
    case 'insert-own':
      return isTenant(identity) ? 'allow' : null;
    case 'move-own':
    case 'move-own-returning':
    case 'reference-other':
      return isTenant(identity) ? 'deny' : null;
    case 'select-published':
      // tenant A owns the published row, so for A it is part of select-own
      if (readableBy === null || identity === 'tenant-a') return null;
      if (service) return 'allow';
      return readableBy.includes(identity === 'anon' ? 'anon' : 'authenticated') ? 'allow' : 'deny';
    case 'select-other':
    case 'insert-other':
    case 'update-other':
    case 'delete-other':
      return service ? 'allow' : 'deny';
    default:
      return null;
  }
}

const FIXED_SKIPS: readonly Operation[] = ['insert-own', 'insert-other', 'move-own', 'move-own-returning', 'reference-other'];
const READS: readonly Operation[] = ['select-own', 'select-other', 'select-published'];

/**
 * A column of a tenant table, other than the one that ties the row to its tenant, that points at
 * a row of the map (a parent content, a mind named as persona): the reference-other probe makes an
 * own row point it at the other tenant's row. A foreign key checks existence without RLS, so
 * unless the schema or a policy ties the two tenants together, that succeeds.
 */
export interface CrossReference {
  table: string;
  column: string;
  target: { table: string; column: string };
}

/** The cross references of the map's tables, from the foreign keys their columns are part of. Pure. */
export function crossReferences(tenancy: ResolvedTenancy, references: ReadonlyMap<string, readonly { name: string; references: readonly { table: string; column: string }[] }[]>): CrossReference[] {
  const inMap = new Set(seededTables(tenancy));
  const out: CrossReference[] = [];
  for (const t of tenancy.tables) {
    for (const col of references.get(t.table) ?? []) {
      if (col.name === t.via?.column || (t.members && col.name === t.key)) continue;
      if (t.membershipOf && col.name === tenancy.tables.find((g) => g.table === t.membershipOf)?.members?.userColumn) continue;
      // A reference to the users table is another owner: the owner-takeover attack probes it.
      const target = col.references.find((r) => inMap.has(r.table) && !(r.table === tenancy.root.table && tenancy.root.key === tenancy.root.userColumn));
      if (target) out.push({ table: t.table, column: col.name, target: { table: target.table, column: target.column } });
    }
  }
  return out;
}

export function planMatrix(tenancy: ResolvedTenancy, references: readonly CrossReference[] = []): PlannedCell[] {
  const cells: PlannedCell[] = [];
  const add = (relation: string, kind: 'table' | 'view', readableBy: readonly string[] | null, operations: readonly Operation[]) => {
    for (const identity of IDENTITIES) {
      for (const operation of operations) {
        const expected = expectation(identity, operation, readableBy);
        if (expected) cells.push({ relation, kind, identity, operation, expected });
      }
    }
  };
  for (const t of tenancy.tables) {
    const referencing = references.some((r) => r.table === t.table);
    // A group or a membership table: its rows are made by the membership, not inserted or moved
    // under a parent (the self-join attack probes joining another group).
    const fixed = !t.via || t.membershipOf !== null;
    add(t.table, 'table', t.published?.readableBy ?? null, OPERATIONS.filter((o) => (o !== 'reference-other' || referencing) && !(fixed && FIXED_SKIPS.includes(o))));
    // Anyone signed in may usually create a group; anon may not (nor add a membership).
    if (fixed) cells.push({ relation: t.table, kind: 'table', identity: 'anon', operation: 'insert-other', expected: 'deny' });
  }
  for (const v of tenancy.views) {
    const base = tenancy.tables.find((t) => t.table === v.of);
    add(v.view, 'view', base?.published?.readableBy ?? null, READS);
  }
  return cells;
}

export function verdictOf(expected: 'allow' | 'deny', actual: Outcome): Verdict {
  if (actual === 'error') return 'error';
  if (expected === 'deny') return actual === 'deny' ? 'ok' : 'leak';
  return actual === 'allow' ? 'ok' : 'blocked';
}

/** Outcome of a probe that touched `affected` of `targeted` rows. */
export function rowsOutcome(affected: number, targeted: number): Outcome {
  if (affected === 0) return 'deny';
  return affected >= targeted ? 'allow' : 'partial';
}

export interface MatrixSummary {
  cells: number;
  leaks: number;
  blocked: number;
  errors: number;
}

export function summariseMatrix(cells: readonly MatrixCell[]): MatrixSummary {
  return {
    cells: cells.length,
    leaks: cells.filter((c) => c.verdict === 'leak').length,
    blocked: cells.filter((c) => c.verdict === 'blocked').length,
    errors: cells.filter((c) => c.verdict === 'error').length,
  };
}

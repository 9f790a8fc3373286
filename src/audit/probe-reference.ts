/**
 * The reference-other probe: as a tenant, insert an own row (hanging from an own parent) whose
 * other references point at the other tenant's rows: a child under the other tenant's content, the
 * other tenant's mind as persona or author. Foreign keys check existence without RLS, so unless
 * the schema (a composite key within the tenant) or a policy ties the reference to the caller, the
 * insert succeeds: a cross-tenant reference, and, for the other tenant, a row it cannot see that
 * blocks its own deletes.
 *
 * A refusal must also look the same as for an id that does not exist; otherwise the probe found an
 * existence oracle (the other tenant's ids can be confirmed one by one). Runs as the impersonated
 * identity, inside the probe's savepoint; each attempt in a savepoint of its own.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type pg from 'pg';
import { pgErrorInfo, errorMessage } from '../errors.js';
import type { CrossReference, Outcome, PlannedCell } from './matrix.js';
import type { Seeder, Tenant } from './seed.js';
import { inlineParams } from './evidence.js';

/** A refusal: the RLS check (42501) or the foreign key (23503) stopped the insert. */
const REFUSALS = ['42501', '23503'] as const;

type Attempt = { ok: true } | { ok: false; code: string; constraint: string; message: string };

async function attempt(client: pg.ClientBase, sql: string, params: unknown[]): Promise<Attempt> {
  await client.query('SAVEPOINT dbkit_ref');
  try {
    await client.query(sql, params);
    return { ok: true };
  } catch (error) {
    const info = pgErrorInfo(error);
    return { ok: false, code: info?.code ?? '', constraint: info?.constraint ?? '', message: errorMessage(error).split('\n')[0] ?? '' };
  } finally {
    await client.query('ROLLBACK TO SAVEPOINT dbkit_ref');
  }
}

/** A value of the target column's type that no row holds (for the oracle comparison); null when dbkit cannot make one. */
function unknownValue(type: string, category: string): string | null {
  if (type === 'uuid') return randomUUID();
  if (category === 'N') return String(-1_000_000_000 - Math.floor(Math.random() * 1_000_000));
  if (category === 'S') return `dbkit-unknown-${randomBytes(6).toString('hex')}`;
  return null;
}

export interface ReferenceResult {
  actual: Outcome;
  detail: string;
  /** Each INSERT tried, as portable SQL: pointing at the other tenant's row, and at an unknown id. */
  attempts: { column: string; theirs: string; unknown: string | null }[];
}

export async function probeReferences(client: pg.ClientBase, cell: PlannedCell, own: Tenant, other: Tenant, seeder: Seeder, references: readonly CrossReference[]): Promise<ReferenceResult> {
  const parent = seeder.parentFor(cell.relation, own);
  const accepted: string[] = [];
  const oracles: string[] = [];
  const errors: string[] = [];
  const refused: string[] = [];
  const attempts: ReferenceResult['attempts'] = [];
  for (const ref of references.filter((r) => r.table === cell.relation)) {
    const rows = seeder.rowsOf(ref.target.table, other);
    const target = rows.find((r) => !r.published) ?? rows[0];
    if (!target) {
      errors.push(`${ref.column}: no seeded ${ref.target.table} row of tenant ${other.toUpperCase()}`);
      continue;
    }
    const insertWith = (value: unknown) => seeder.insertSql(cell.relation, own, { [parent.column]: parent.value, [ref.column]: value });
    const theirs = insertWith(target.data[ref.target.column]);
    const column = seeder.column(cell.relation, ref.column);
    const unknown = unknownValue(column.type, column.category);
    const missing = unknown === null ? null : insertWith(unknown);
    attempts.push({ column: ref.column, theirs: inlineParams(theirs.sql, theirs.params), unknown: missing ? inlineParams(missing.sql, missing.params) : null });
    const result = await attempt(client, theirs.sql, theirs.params);
    const what = `${ref.column} -> tenant ${other.toUpperCase()}'s ${ref.target.table} row`;
    if (result.ok) {
      accepted.push(`${what} accepted`);
      continue;
    }
    if (!(REFUSALS as readonly string[]).includes(result.code)) {
      errors.push(`${what}: ${result.code} ${result.message}`);
      continue;
    }
    if (missing !== null) {
      const control = await attempt(client, missing.sql, missing.params);
      const same = !control.ok && control.code === result.code && control.constraint === result.constraint;
      if (!same) {
        oracles.push(`${what} refused (${result.code}${result.constraint ? ` ${result.constraint}` : ''}) unlike an unknown id (${control.ok ? 'accepted' : `${control.code}${control.constraint ? ` ${control.constraint}` : ''}`}): an existence oracle`);
        continue;
      }
    }
    refused.push(`${ref.column} refused (${result.code})`);
  }
  if (accepted.length > 0) return { actual: 'allow', detail: [...accepted, ...oracles].join('; '), attempts };
  if (oracles.length > 0) return { actual: 'partial', detail: oracles.join('; '), attempts };
  if (errors.length > 0) return { actual: 'error', detail: errors.join('; '), attempts };
  return { actual: 'deny', detail: refused.join('; '), attempts };
}

/**
 * Owner takeover: as tenant A, write a row of A's own (under A's parent, or A's own group) that
 * names tenant B as its owner, in a column that records a user beside the one that ties the row to
 * its tenant (created_by, owner_id, primary_owner_user_id ...). A policy that checks the group but
 * not who the row names lets A pin rows, or a whole group, on B. Naming B's group or parent instead
 * is the matrix's insert-other and move-own cells.
 */
import { quoteIdent, quoteQualified } from '../../core/sql.js';
import type { MatrixCell } from '../matrix.js';
import { attack, type AttackEnv } from './probe.js';

/** Columns named like an owner, when no foreign key says they hold a user. */
const OWNER_NAME = /(^|_)(owner|owned_by|created_by|creator|author|user)(_user)?(_id)?$/;

/** The user columns of a map table other than the one that ties it to its tenant. Pure. */
export function ownerColumns(env: Pick<AttackEnv, 'tenancy' | 'seeder'>, table: string): string[] {
  const { tenancy, seeder } = env;
  const t = tenancy.tables.find((x) => x.table === table);
  if (!t || t.membershipOf) return [];
  const usersRoot = tenancy.root.key === tenancy.root.userColumn ? tenancy.root.table : null;
  const cols = seeder.columnsOf(table);
  return cols
    .filter((c) => c.name !== t.via?.column && c.type === 'uuid')
    .filter((c) => (usersRoot && c.references.some((r) => r.table === usersRoot)) || (c.references.length === 0 && OWNER_NAME.test(c.name)))
    .map((c) => c.name);
}

export async function ownerTakeover(env: AttackEnv): Promise<MatrixCell[]> {
  const { seeder } = env;
  const cells: MatrixCell[] = [];
  const victim = seeder.uids.b;
  for (const t of env.tenancy.tables) {
    if (seeder.isUnseedable(t.table)) continue;
    for (const column of ownerColumns(env, t.table)) {
      const rel = quoteQualified(t.table);
      const fix = `a row of ${rel} must not name another user in ${quoteIdent(column)}: WITH CHECK (${quoteIdent(column)} = (select auth.uid())) on its INSERT and UPDATE policies (or a trigger that sets it)`;
      if (t.via) {
        const parent = seeder.parentFor(t.table, 'a');
        const insert = seeder.insertSql(t.table, 'a', { [parent.column]: parent.value, [column]: victim });
        cells.push(await attack(env, {
          relation: t.table, target: `${column} (insert)`, identity: 'tenant-a', operation: 'owner-takeover', sql: insert.sql, params: insert.params,
          verify: { sql: `SELECT 1 FROM ${rel} WHERE ${quoteIdent(column)} = $1::uuid AND ${quoteIdent(parent.column)}::text = $2`, params: [victim, String(parent.value)] },
          success: `A inserted a row of its own naming B as ${column}`, fix,
        }));
      }
      const own = seeder.rowsOf(t.table, 'a').find((r) => !r.published);
      if (!own) continue;
      const where = env.recorder.match(t.table, [own]);
      cells.push(await attack(env, {
        relation: t.table, target: `${column} (update)`, identity: 'tenant-a', operation: 'owner-takeover',
        sql: `UPDATE ${rel} SET ${quoteIdent(column)} = $1::uuid WHERE ${where}`, params: [victim],
        verify: { sql: `SELECT 1 FROM ${rel} WHERE ${where} AND ${quoteIdent(column)} = $1::uuid`, params: [victim] },
        success: `A changed ${column} of its own row to B`, fix,
      }));
    }
  }
  return cells;
}

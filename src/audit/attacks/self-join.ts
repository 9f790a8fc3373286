/**
 * Self-join and raising one's role, on every membership table of the map: as tenant A, and as user
 * C who belongs to nothing, insert a membership in tenant B's group (as owner, when there is a
 * role column); and, once A is a
 * plain member of B's group (set up as the connecting role), update A's own membership to owner.
 * A membership INSERT policy that checks only `user_id = auth.uid()` lets anyone join any group.
 */
import { quoteIdent, quoteQualified } from '../../core/sql.js';
import type { MatrixCell } from '../matrix.js';
import { attack, type AttackEnv } from './probe.js';

export async function selfJoin(env: AttackEnv): Promise<MatrixCell[]> {
  const { seeder } = env;
  const cells: MatrixCell[] = [];
  for (const g of env.tenancy.tables) {
    const m = g.members;
    if (!m || seeder.isUnseedable(g.table) || seeder.isUnseedable(m.table)) continue;
    const theirs = seeder.rowsOf(g.table, 'b')[0];
    if (!theirs) continue;
    const group = theirs.data[g.key];
    const rel = quoteQualified(m.table);
    const ownerOnly = `EXISTS (SELECT 1 FROM ${rel} x WHERE x.${quoteIdent(m.groupColumn)} = ${quoteIdent(m.groupColumn)} AND x.${quoteIdent(m.userColumn)} = (select auth.uid())${m.role ? ` AND x.${quoteIdent(m.role.column)} = '${m.role.owner.replaceAll("'", "''")}'` : ''})`;
    const join = seeder.insertSql(m.table, 'a', { [m.groupColumn]: group, [m.userColumn]: seeder.uids.a, ...(m.role ? { [m.role.column]: m.role.owner } : {}) });
    cells.push(await attack(env, {
      relation: m.table, target: `group ${g.table}`, identity: 'tenant-a', operation: 'self-join', sql: join.sql, params: join.params,
      success: `A added itself to B's ${g.table} row${m.role ? ` as ${m.role.owner}` : ''}`,
      fix: `the INSERT policy of ${rel} must admit only the group's owners (e.g. WITH CHECK (${ownerOnly}), through a SECURITY DEFINER helper to avoid recursion), not any row with ${quoteIdent(m.userColumn)} = auth.uid()`,
    }));
    // User C, in no group at all, joining B's group.
    if (seeder.uids.c) {
      const outsider = seeder.insertSql(m.table, 'b', { [m.groupColumn]: group, [m.userColumn]: seeder.uids.c, ...(m.role ? { [m.role.column]: m.role.owner } : {}) });
      cells.push(await attack(env, {
        relation: m.table, target: `group ${g.table}, as a user of no group`, identity: 'outsider', operation: 'self-join', sql: outsider.sql, params: outsider.params,
        success: `C, a member of nothing, added itself to B's ${g.table} row${m.role ? ` as ${m.role.owner}` : ''}`,
        fix: `the INSERT policy of ${rel} must admit only the group's owners (e.g. WITH CHECK (${ownerOnly}), through a SECURITY DEFINER helper to avoid recursion), not any row with ${quoteIdent(m.userColumn)} = auth.uid()`,
      }));
    }
    if (!m.role?.member) continue;
    const setup = seeder.insertSql(m.table, 'a', { [m.groupColumn]: group, [m.userColumn]: seeder.uids.a, [m.role.column]: m.role.member });
    cells.push(await attack(env, {
      relation: m.table, target: `${m.role.column} ${m.role.member} -> ${m.role.owner}`, identity: 'tenant-a', operation: 'raise-role', setup: [setup],
      sql: `UPDATE ${rel} SET ${quoteIdent(m.role.column)} = $1 WHERE ${quoteIdent(m.groupColumn)} = $2 AND ${quoteIdent(m.userColumn)} = $3`,
      params: [m.role.owner, group, seeder.uids.a],
      verify: { sql: `SELECT 1 FROM ${rel} WHERE ${quoteIdent(m.groupColumn)} = $1 AND ${quoteIdent(m.userColumn)} = $2 AND ${quoteIdent(m.role.column)}::text = $3`, params: [group, seeder.uids.a, m.role.owner] },
      success: `A, a ${m.role.member} of B's group, made itself ${m.role.owner}`,
      fix: `the UPDATE policy of ${rel} must admit only the group's owners (USING and WITH CHECK ${ownerOnly}), never a member's own row`,
    }));
  }
  return cells;
}

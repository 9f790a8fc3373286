/**
 * Safer ways to write what a statement does, chosen from its parse tree and from what the
 * rehearsal observed (a rewrite, a scan, a lock that stops writes on a table with rows). Pure.
 */
import { blocksWrites } from './locks.js';
import type { StatementRehearsal } from './model.js';

type Raw = Record<string, unknown>;

/** "IndexStmt", "AlterTableStmt:AT_AddColumn,AT_SetNotNull", ... */
export function statementKind(tree: Raw | null): string {
  if (!tree) return 'unparsed';
  const [node, body] = Object.entries(tree)[0] ?? ['unknown', {}];
  if (node === 'AlterTableStmt') {
    const cmds = (((body as Raw).cmds as Raw[] | undefined) ?? []).map((c) => String(((c.AlterTableCmd as Raw | undefined)?.subtype as string | undefined) ?? '?'));
    return `${node}:${cmds.join(',')}`;
  }
  if (node === 'IndexStmt' && (body as Raw).concurrent) return 'IndexStmt:concurrent';
  if (node === 'RenameStmt') return `${node}:${String((body as Raw).renameType ?? '')}`;
  return node;
}

/** Constraint definitions an ALTER TABLE adds (FOREIGN, CHECK, UNIQUE, ...) and whether NOT VALID was given. */
export function addedConstraints(tree: Raw | null): { type: string; notValid: boolean }[] {
  const body = tree?.AlterTableStmt as Raw | undefined;
  const cmds = (body?.cmds as Raw[] | undefined) ?? [];
  return cmds
    .map((c) => c.AlterTableCmd as Raw)
    .filter((c) => c?.subtype === 'AT_AddConstraint')
    .map((c) => (c.def as Raw | undefined)?.Constraint as Raw | undefined)
    .filter((c): c is Raw => Boolean(c))
    .map((c) => ({ type: String(c.contype ?? ''), notValid: Boolean(c.skip_validation) }));
}

export function adviceFor(statement: Pick<StatementRehearsal, 'kind' | 'locks' | 'rewrites' | 'scans'>, tree: Raw | null): string[] {
  const onExisting = statement.locks.filter((l) => !l.relation.createdHere && l.relation.kind === 'table');
  const blocking = onExisting.some((l) => blocksWrites(l.mode));
  const rewrote = statement.rewrites.some((r) => !r.relation.createdHere && r.relation.kind === 'table');
  const scanned = statement.scans.some((s) => !s.relation.createdHere && s.rows > 0);
  const kind = statement.kind;
  const advice: string[] = [];
  if (kind === 'IndexStmt' && blocking) {
    advice.push('CREATE INDEX CONCURRENTLY (in a migration of its own that calls pgm.noTransaction()): SHARE UPDATE EXCLUSIVE lets reads and writes go on while the index builds');
  }
  if (kind.startsWith('AlterTableStmt:')) {
    const cmds = kind.slice('AlterTableStmt:'.length).split(',');
    if (cmds.includes('AT_AddColumn') && rewrote) advice.push('add the column without a volatile default (or with a constant one: no rewrite since PostgreSQL 11), then fill it in batches of a few thousand rows, each its own transaction');
    if (cmds.includes('AT_AlterColumnType') && rewrote) advice.push('add a new column of the new type, keep both in sync (trigger or application), backfill in batches, then swap the names in one short transaction');
    if (cmds.includes('AT_SetNotNull') && scanned) advice.push('ADD CONSTRAINT ... CHECK (col IS NOT NULL) NOT VALID; VALIDATE CONSTRAINT in a later migration (SHARE UPDATE EXCLUSIVE: writes go on); then SET NOT NULL skips the scan; then drop the check');
    for (const c of addedConstraints(tree)) {
      if (c.notValid || !scanned) continue;
      if (c.type === 'CONSTR_FOREIGN') advice.push('ADD CONSTRAINT ... FOREIGN KEY ... NOT VALID (no scan), then VALIDATE CONSTRAINT in a later migration: it scans under SHARE UPDATE EXCLUSIVE, so writes go on');
      if (c.type === 'CONSTR_CHECK') advice.push('ADD CONSTRAINT ... CHECK (...) NOT VALID, then VALIDATE CONSTRAINT in a later migration (writes go on while it scans)');
      if (c.type === 'CONSTR_UNIQUE' || c.type === 'CONSTR_PRIMARY') advice.push('CREATE UNIQUE INDEX CONCURRENTLY first (noTransaction migration), then ADD CONSTRAINT ... USING INDEX (a brief lock, no scan)');
    }
    if (cmds.includes('AT_DropColumn') && blocking) advice.push('deploy code that no longer reads or writes the column first; the drop itself does not rewrite, but it waits for ACCESS EXCLUSIVE: keep lock_timeout short and retry');
    if ((cmds.includes('AT_EnableRowSecurity') || cmds.includes('AT_ForceRowSecurity')) && blocking) advice.push('create the policies in the same migration before enabling RLS, or non-owners see no rows from the moment it commits');
  }
  if (kind.startsWith('RenameStmt') && blocking) advice.push('a rename breaks application code still using the old name: ship code that works with both (or a view with the old name) before renaming');
  if (kind === 'CreatePolicyStmt' && blocking) advice.push('CREATE POLICY takes ACCESS EXCLUSIVE on the table: it is quick, but queues behind long transactions; keep lock_timeout short');
  if ((kind === 'VacuumStmt' || kind === 'ClusterStmt') && rewrote) advice.push('VACUUM FULL and CLUSTER rewrite the table under ACCESS EXCLUSIVE: use pg_repack or plain VACUUM instead');
  return advice;
}

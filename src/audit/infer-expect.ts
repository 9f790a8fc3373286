/**
 * With an inferred map, the matrix expects only the accesses the schema grants: an "allow" cell is
 * planned only when the acting role holds the privilege and, under RLS, some permissive policy for
 * that command admits the role (service_role bypasses RLS: the grant is enough). A declared map
 * states what must work; an inferred one cannot, so a table with no INSERT policy is not "blocked".
 * Deny cells are always planned: those are the leaks. Pure.
 */
import type { Identity, Operation, PlannedCell } from './matrix.js';
import type { ApiRoles, CatalogRelation } from './model.js';

const COMMAND: Partial<Record<Operation, 'select' | 'insert' | 'update' | 'delete'>> = {
  'select-own': 'select', 'select-other': 'select', 'select-published': 'select', 'insert-own': 'insert', 'insert-other': 'insert', 'update-other': 'update', 'delete-other': 'delete',
};

export function grantedExpectations(relations: readonly CatalogRelation[], roles: ApiRoles): (cell: PlannedCell) => boolean {
  const byName = new Map(relations.map((r) => [`${r.schema}.${r.name}`, r]));
  const roleOf = (i: Identity) => (i === 'service_role' ? roles.service : i === 'anon' ? roles.anon : roles.authenticated);
  return (cell) => {
    if (cell.expected !== 'allow') return true;
    const command = COMMAND[cell.operation];
    const rel = byName.get(cell.relation);
    if (!command || !rel) return true;
    const role = roleOf(cell.identity);
    if (!rel.privileges[role]?.[command]) return false;
    if (cell.identity === 'service_role' || !rel.rls || rel.kind !== 'table') return true;
    const upper = command.toUpperCase();
    return rel.policies.some((p) => p.permissive && (p.command === 'ALL' || p.command === upper) && (p.roles.includes(role) || p.roles.includes('public')));
  };
}

/**
 * What the isolation matrix needs from the role rls-audit connects as: to seed two tenants
 * (INSERT and SELECT on the map's tables, with row-level security not in the way) and to act as
 * each API role (SET ROLE, as PostgREST does). Checked before the matrix starts.
 */
import type { PrivilegeNeed } from '../core/privileges.js';
import { seededTables, type ResolvedTenancy } from './tenancy.js';

export function matrixNeeds(tenancy: ResolvedTenancy): PrivilegeNeed[] {
  const tables = seededTables(tenancy);
  return [
    ...[tenancy.roles.anon, tenancy.roles.authenticated, tenancy.roles.service].map((name): PrivilegeNeed => ({ on: 'role', name })),
    ...tables.map((name): PrivilegeNeed => ({ on: 'table', name, privileges: ['SELECT', 'INSERT'] })),
    { on: 'rls-bypass', tables, why: 'it could not seed the two tenants' },
  ];
}

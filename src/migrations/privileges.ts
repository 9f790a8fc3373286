/**
 * What the migration commands need from the role they connect as, declared once: reading dbkit's
 * bookkeeping (status, dry runs, the plan of a rollback), and writing it (apply and rollback:
 * node-pg-migrate's runner issues CREATE SCHEMA IF NOT EXISTS, and the checksum bookkeeping
 * CREATE TABLE IF NOT EXISTS, which PostgreSQL checks for privilege before it checks existence).
 * The migrations themselves need whatever their SQL needs; a refusal there is reported with its GRANT.
 */
import type { PrivilegeNeed } from '../core/privileges.js';
import { CHECKSUMS_TABLE, MIGRATIONS_TABLE, TRACKING_SCHEMA } from './tracking.js';

export const TRACKING_ACCESS = ['read', 'write'] as const;
export type TrackingAccess = (typeof TRACKING_ACCESS)[number];

export function trackingNeeds(access: TrackingAccess, trackingSchemaExists: boolean): PrivilegeNeed[] {
  const migrations = `${TRACKING_SCHEMA}.${MIGRATIONS_TABLE}`;
  const checksums = `${TRACKING_SCHEMA}.${CHECKSUMS_TABLE}`;
  if (access === 'read') {
    return trackingSchemaExists ? [{ on: 'table', name: migrations, privileges: ['SELECT'] }, { on: 'table', name: checksums, privileges: ['SELECT'] }] : [];
  }
  const create: PrivilegeNeed = { on: 'database', privilege: 'CREATE' };
  if (!trackingSchemaExists) return [create];
  return [
    create,
    { on: 'schema', name: TRACKING_SCHEMA, privilege: 'USAGE' },
    { on: 'schema', name: TRACKING_SCHEMA, privilege: 'CREATE' },
    { on: 'table', name: migrations, privileges: ['SELECT', 'INSERT', 'DELETE'] },
    { on: 'sequence', name: `${migrations}_id_seq`, privilege: 'USAGE' },
    { on: 'table', name: checksums, privileges: ['SELECT', 'INSERT', 'UPDATE', 'DELETE'] },
  ];
}

/** The owner of a table bypasses its RLS unless it is FORCEd; an app connecting as the owner sees everything. */
import type { AuditRule } from '../model.js';
import { finding, isManaged, sqlRelation, tableName } from './helpers.js';

export const rlsNotForced: AuditRule = {
  id: 'rls-not-forced',
  level: 'warn',
  splinter: null,
  title: 'RLS not forced for a table owner that is subject to it',
  description: 'The table has RLS enabled but not forced, and its owner is neither superuser nor BYPASSRLS: the owner silently bypasses every policy, so anything connecting as the owner sees and changes all rows.',
  fixture: { hole: ['public.h04_owner_bypass'], safe: ['public.s04_forced', 'public.s02_policy_rls_on'] },
  check(catalog, settings) {
    return catalog.relations
      .filter((r) => r.kind === 'table' && r.rls && !r.forceRls && !r.ownerBypassesRls && !isManaged(r.schema, settings))
      .map((r) => finding(this, {
        object: tableName(r),
        objectType: 'table',
        message: `${tableName(r)} has RLS enabled but not forced: its owner ${r.owner} bypasses every policy`,
        fix: `ALTER TABLE ${sqlRelation(r)} FORCE ROW LEVEL SECURITY`,
      }));
  },
};

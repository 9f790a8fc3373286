/** A table the API roles can reach with RLS off: every row is theirs to read (and write, if granted). */
import type { AuditRule } from '../model.js';
import { clientRoles, finding, sqlRelation, reachableBy, tableName, sqlRoles } from './helpers.js';

export const rlsDisabledExposed: AuditRule = {
  id: 'rls-disabled-exposed',
  level: 'error',
  splinter: 'rls_disabled_in_public',
  title: 'RLS disabled on a table the API can reach',
  description: 'Row-level security is off on a table in an API-exposed schema that anon or authenticated hold privileges on: every row is readable (and writable, where granted) by any caller.',
  fixture: { hole: ['public.h01_no_rls'], safe: ['public.s01_internal', 'fixture_hidden.s01_unexposed'] },
  check(catalog, settings) {
    return catalog.relations
      .filter((r) => r.kind === 'table' && !r.rls)
      .flatMap((r) => {
        const roles = clientRoles(settings, catalog.apiRolesPresent).filter((role) => reachableBy(r, role, settings));
        if (roles.length === 0) return [];
        return [finding(this, {
          object: tableName(r),
          objectType: 'table',
          message: `RLS is disabled on ${tableName(r)}, which ${roles.join(' and ')} can reach: every row is exposed`,
          fix: `ALTER TABLE ${sqlRelation(r)} ENABLE ROW LEVEL SECURITY (then add policies), or REVOKE ALL ON ${sqlRelation(r)} FROM ${sqlRoles(roles)}`,
        })];
      });
  },
};

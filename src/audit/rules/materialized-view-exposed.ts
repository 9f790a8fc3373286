/** A materialized view has no RLS at all: whoever can select from it sees every row it holds. */
import type { AuditRule } from '../model.js';
import { clientRoles, finding, hasPrivilege, isExposed, sqlRelation, tableName, sqlRoles } from './helpers.js';

export const materializedViewExposed: AuditRule = {
  id: 'materialized-view-exposed',
  level: 'warn',
  splinter: 'materialized_view_in_api',
  title: 'Materialized view readable through the API',
  description: 'Materialized views cannot have RLS; one in an API-exposed schema that anon or authenticated can select from exposes every row it stores.',
  fixture: { hole: ['public.h10_matview'], safe: ['public.s10_matview_private'] },
  check(catalog, settings) {
    return catalog.relations
      .filter((r) => r.kind === 'materialized view' && isExposed(r.schema, settings))
      .flatMap((r) => {
        const roles = clientRoles(settings, catalog.apiRolesPresent).filter((role) => hasPrivilege(r, role, 'SELECT') && r.schemaUsage[role]);
        if (roles.length === 0) return [];
        return [finding(this, {
          object: tableName(r),
          objectType: 'materialized view',
          message: `materialized view ${tableName(r)} has no RLS and ${roles.join(' and ')} can read all of it`,
          fix: `REVOKE SELECT ON ${sqlRelation(r)} FROM ${sqlRoles(roles)} (or move it to a schema the API does not expose)`,
        })];
      });
  },
};

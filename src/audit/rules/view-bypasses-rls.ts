/** A view runs with its owner's rights unless security_invoker is set: readers bypass the RLS of the tables below. */
import type { AuditRule } from '../model.js';
import { clientRoles, finding, hasPrivilege, isExposed, sqlRelation, tableName } from './helpers.js';

const INVOKER = ['security_invoker=true', 'security_invoker=on', 'security_invoker=1', 'security_invoker=yes'];

export const viewBypassesRls: AuditRule = {
  id: 'view-bypasses-rls',
  level: 'error',
  splinter: 'security_definer_view',
  title: 'View readable by API roles without security_invoker',
  description: "A view in an API-exposed schema that anon or authenticated can read, without security_invoker: it queries its tables with the view owner's rights, so the tables' RLS policies do not apply to the reader.",
  fixture: { hole: ['public.h09_definer_view'], safe: ['public.s09_invoker_view', 'public.s09_private_view'] },
  check(catalog, settings) {
    return catalog.relations
      .filter((r) => r.kind === 'view' && isExposed(r.schema, settings) && !r.options.some((o) => INVOKER.includes(o.toLowerCase())))
      .flatMap((r) => {
        const roles = clientRoles(settings, catalog.apiRolesPresent).filter((role) => hasPrivilege(r, role, 'SELECT') && r.schemaUsage[role]);
        if (roles.length === 0) return [];
        return [finding(this, {
          object: tableName(r),
          objectType: 'view',
          message: `view ${tableName(r)} is readable by ${roles.join(' and ')} and runs as its owner ${r.owner}: RLS of the tables it reads is bypassed`,
          fix: `ALTER VIEW ${sqlRelation(r)} SET (security_invoker = true)`,
        })];
      });
  },
};

/** RLS on and no policy: nobody but the owner and BYPASSRLS roles sees a row. Often intended. */
import type { AuditRule } from '../model.js';
import { finding, isManaged, tableName } from './helpers.js';

export const rlsEnabledNoPolicy: AuditRule = {
  id: 'rls-enabled-no-policy',
  level: 'info',
  splinter: 'rls_enabled_no_policy',
  title: 'RLS enabled with no policy (deny-all)',
  description: 'Row-level security is enabled but the table has no policy: every row is hidden from every role subject to RLS. Correct for server-only tables; a bug if clients should see rows.',
  fixture: { hole: ['public.h03_deny_all'], safe: ['public.s02_policy_rls_on'] },
  check(catalog, settings) {
    return catalog.relations
      .filter((r) => r.kind === 'table' && r.rls && r.policies.length === 0 && !isManaged(r.schema, settings))
      .map((r) => finding(this, {
        object: tableName(r),
        objectType: 'table',
        message: `${tableName(r)} has RLS enabled and no policy: it denies every row to every role subject to RLS`,
        fix: 'nothing, if only the server (service_role) uses it; otherwise CREATE POLICY for the roles that need rows',
      }));
  },
};

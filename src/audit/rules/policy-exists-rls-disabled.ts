/** Policies on a table whose RLS is off are never evaluated: they protect nothing. */
import type { AuditRule } from '../model.js';
import { finding, isManaged, sqlRelation, tableName } from './helpers.js';

export const policyExistsRlsDisabled: AuditRule = {
  id: 'policy-exists-rls-disabled',
  level: 'error',
  splinter: 'policy_exists_rls_disabled',
  title: 'Policies present but RLS disabled',
  description: 'The table has row-level security policies, but RLS is not enabled on it, so Postgres ignores them: the policies give a false sense of protection.',
  fixture: { hole: ['public.h02_policy_no_rls'], safe: ['public.s02_policy_rls_on'] },
  check(catalog, settings) {
    return catalog.relations
      .filter((r) => r.kind === 'table' && !r.rls && r.policies.length > 0 && !isManaged(r.schema, settings))
      .map((r) => finding(this, {
        object: tableName(r),
        objectType: 'table',
        message: `${tableName(r)} has ${r.policies.length} polic${r.policies.length === 1 ? 'y' : 'ies'} (${r.policies.map((p) => p.name).join(', ')}) but RLS is disabled, so none of them applies`,
        fix: `ALTER TABLE ${sqlRelation(r)} ENABLE ROW LEVEL SECURITY`,
      }));
  },
};

/** user_metadata (raw_user_meta_data) is editable by the user it describes: a policy must not trust it. */
import type { AuditRule, Finding } from '../model.js';
import { nodes, type Expr } from '../expr.js';
import { expr, finding, isManaged, policyName, tableName } from './helpers.js';

const JSON_OPS = ['->', '->>', '#>', '#>>', '?', '@>'];
const USER_EDITABLE = ['user_metadata', 'raw_user_meta_data'];

function readsUserMetadata(e: Expr): boolean {
  for (const n of nodes(e)) {
    if (n.kind === 'column' && USER_EDITABLE.includes(n.path[n.path.length - 1]!)) return true;
    if (n.kind === 'op' && JSON_OPS.includes(n.op) && n.right) {
      for (const k of nodes(n.right)) if (k.kind === 'const' && typeof k.value === 'string' && k.value.replace(/[{}"\s]/g, '').split(',').some((part) => USER_EDITABLE.includes(part))) return true;
    }
    if (n.kind === 'call' && /^(pg_catalog\.)?jsonb?_extract_path(_text)?$/.test(n.name.join('.')) && n.args.some((a) => a.kind === 'const' && USER_EDITABLE.includes(String(a.value)))) return true;
  }
  return false;
}

export const userMetadata: AuditRule = {
  id: 'user-metadata-in-policy',
  level: 'error',
  splinter: 'rls_references_user_metadata',
  title: 'Policy trusts user_metadata',
  description: 'The policy reads user_metadata from the JWT (or auth.users.raw_user_meta_data), which every user can change for themselves through the auth API: whatever it grants, any user can grant themselves.',
  fixture: { hole: ['public.h08_user_meta.h08_meta'], safe: ['public.s08_app_meta.s08_meta'] },
  check(catalog, settings) {
    const out: Finding[] = [];
    for (const r of catalog.relations) {
      if (r.kind !== 'table' || isManaged(r.schema, settings)) continue;
      for (const p of r.policies) {
        if (![p.using, p.withCheck].some((t) => t !== null && readsUserMetadata(expr(t)))) continue;
        out.push(finding(this, {
          object: policyName(r, p),
          objectType: 'policy',
          message: `policy ${p.name} on ${tableName(r)} reads user_metadata, which users can edit themselves`,
          fix: `use app_metadata (set only by the server), or a table the user cannot write, instead of user_metadata`,
        }));
      }
    }
    return out;
  },
};

/**
 * A permissive policy whose expression is constant true (`true`, `1=1`, `'a'='a'`, `true OR ...`)
 * for anon/authenticated. Decided on the parse tree. Only a finding on a write the role is granted
 * (error), or on a read of columns that hold sensitive data (warn): a public directory read with
 * USING (true) is a legitimate pattern. An INSERT policy without WITH CHECK admits no row at all
 * (Postgres treats the missing check as false), so it is not "always true".
 */
import type { AuditRule, CatalogPolicy, CatalogRelation, Finding } from '../model.js';
import { constantTruth } from '../expr.js';
import { appliesToRole, checkFor, clientRoles, commandsOf, expr, finding, hasPrivilege, isManaged, policyName, sqlRelation, sensitiveReadable, tableName } from './helpers.js';
import { quoteIdent } from '../../core/sql.js';

const alwaysTrue = (text: string | null) => text !== null && constantTruth(expr(text)) === true;

/** The commands for which this policy lets any row through. */
function openCommands(p: CatalogPolicy): string[] {
  const open: string[] = [];
  for (const command of commandsOf(p.command)) {
    if (command === 'SELECT' || command === 'DELETE') {
      if (alwaysTrue(p.using)) open.push(command);
    } else if (command === 'INSERT') {
      if (alwaysTrue(checkFor(p, 'INSERT'))) open.push(command);
    } else if (alwaysTrue(p.using) || (p.using !== null && alwaysTrue(checkFor(p, 'UPDATE')))) {
      open.push(command);
    }
  }
  return open;
}

export const policyAlwaysTrue: AuditRule = {
  id: 'policy-always-true',
  level: 'error',
  splinter: 'rls_policy_always_true',
  title: 'Policy always true for a write or for sensitive data',
  description: 'A permissive policy for anon/authenticated whose USING or WITH CHECK is constant true lets every caller write any row (error), or read every row of columns holding personal or secret data (warn).',
  fixture: {
    hole: ['public.h05_write_true.h05_update_anyone', 'public.h05_insert_true.h05_insert_1eq1', 'public.h05_sensitive_read.h05_read_all'],
    safe: ['public.s05_insert_nocheck.s05_insert_no_check', 'public.s05_directory.s05_read_directory'],
  },
  check(catalog, settings) {
    const out: Finding[] = [];
    const roles = clientRoles(settings, catalog.apiRolesPresent);
    for (const r of catalog.relations) {
      if (r.kind !== 'table' || !r.rls || isManaged(r.schema, settings)) continue;
      for (const p of r.policies.filter((x) => x.permissive)) {
        const open = openCommands(p);
        if (open.length === 0) continue;
        const f = assess(r, p, open, roles.filter((role) => appliesToRole(p, role)), settings);
        if (f) out.push(finding(this, f));
      }
    }
    return out;
  },
};

function assess(r: CatalogRelation, p: CatalogPolicy, open: string[], roles: string[], settings: Parameters<AuditRule['check']>[1]) {
  const writes = roles.flatMap((role) => open.filter((c) => c !== 'SELECT' && hasPrivilege(r, role, c as 'INSERT')).map((c) => `${role} ${c}`));
  const base = { object: policyName(r, p), objectType: 'policy' as const };
  if (writes.length > 0) {
    return { ...base, message: `policy ${p.name} on ${tableName(r)} is always true: ${writes.join(', ')} on any row`, fix: `restrict it to the caller's rows, e.g. ${p.command === 'INSERT' ? 'WITH CHECK' : 'USING'} (owner_id = (select auth.uid())), or DROP POLICY ${quoteIdent(p.name)} ON ${sqlRelation(r)}` };
  }
  if (!open.includes('SELECT')) return null;
  const exposed = roles.filter((role) => hasPrivilege(r, role, 'SELECT')).map((role) => [role, sensitiveReadable(r, role, settings)] as const).filter(([, cols]) => cols.length > 0);
  if (exposed.length === 0) return null;
  return {
    ...base,
    level: 'warn' as const,
    message: `policy ${p.name} on ${tableName(r)} is always true for reads, and ${exposed.map(([role, cols]) => `${role} can read ${cols.join(', ')}`).join('; ')}`,
    fix: `restrict the policy to the caller's rows, or REVOKE SELECT on the sensitive columns and GRANT SELECT (the public columns) instead`,
  };
}

/**
 * Several permissive policies for the same role and command are ORed, and Postgres evaluates every
 * one of them for every row. ALL counts for each of SELECT, INSERT, UPDATE and DELETE; RESTRICTIVE
 * policies are ANDed on top and do not count.
 */
import type { AuditRule, Finding } from '../model.js';
import { appliesToRole, clientRoles, commandsOf, finding, isManaged, ROW_COMMANDS, tableName } from './helpers.js';

export const multiplePermissive: AuditRule = {
  id: 'multiple-permissive-policies',
  level: 'warn',
  splinter: 'multiple_permissive_policies',
  title: 'Several permissive policies for one role and command',
  description: 'More than one permissive policy applies to the same role and command; Postgres evaluates all of them for every row. Merge them into one policy (OR the conditions), or make the extra ones RESTRICTIVE.',
  fixture: { hole: ['public.h16_two_select'], safe: ['public.s16_all_plus_restrictive', 'public.s16_per_role'] },
  check(catalog, settings) {
    const out: Finding[] = [];
    for (const r of catalog.relations) {
      if (r.kind !== 'table' || isManaged(r.schema, settings)) continue;
      const permissive = r.policies.filter((p) => p.permissive);
      const roles = new Set([...clientRoles(settings, catalog.apiRolesPresent), ...permissive.flatMap((p) => p.roles)]);
      const overlaps: string[] = [];
      for (const role of roles) {
        for (const command of ROW_COMMANDS) {
          const hits = permissive.filter((p) => appliesToRole(p, role) && commandsOf(p.command).includes(command));
          if (hits.length > 1) overlaps.push(`${role} ${command}: ${hits.map((p) => p.name).join(', ')}`);
        }
      }
      if (overlaps.length === 0) continue;
      out.push(finding(this, {
        object: tableName(r),
        objectType: 'table',
        message: `${tableName(r)} has several permissive policies for ${overlaps.join('; ')}`,
        fix: 'merge them into one permissive policy per role and command (OR the conditions), or make the additional ones AS RESTRICTIVE',
      }));
    }
    return out;
  },
};

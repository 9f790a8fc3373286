/** Superuser and BYPASSRLS roles skip every policy: each one beyond the known admins is a way around RLS. */
import type { AuditRule } from '../model.js';
import { DEFAULT_PRIVILEGED_ROLES } from '../model.js';
import { finding } from './helpers.js';
import { quoteIdent } from '../../core/sql.js';

export const privilegedRole: AuditRule = {
  id: 'privileged-role',
  level: 'warn',
  splinter: null,
  title: 'Role with SUPERUSER or BYPASSRLS beyond the allowlist',
  description: 'A role that is superuser or has BYPASSRLS ignores every RLS policy. Known admin roles are allowed (DBKIT_PRIVILEGED_ROLES adds more); any other is a way around tenant isolation.',
  fixture: { hole: ['dbkit_fixture_bypass'], safe: ['service_role'] },
  check(catalog, settings) {
    const allowed = new Set<string>([...DEFAULT_PRIVILEGED_ROLES, ...settings.privilegedRoles]);
    return catalog.roles
      .filter((r) => (r.superuser || r.bypassRls) && !allowed.has(r.name))
      .map((r) => {
        const what = [r.superuser ? 'SUPERUSER' : '', r.bypassRls ? 'BYPASSRLS' : ''].filter(Boolean).join(' and ');
        return finding(this, {
          object: r.name,
          objectType: 'role',
          message: `role ${r.name}${r.canLogin ? ' (can log in)' : ''} has ${what}: it bypasses every RLS policy`,
          fix: `ALTER ROLE ${quoteIdent(r.name)} ${[r.superuser ? 'NOSUPERUSER' : '', r.bypassRls ? 'NOBYPASSRLS' : ''].filter(Boolean).join(' ')}, or list it in DBKIT_PRIVILEGED_ROLES if it is an admin role by design`,
        });
      });
  },
};

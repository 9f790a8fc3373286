/**
 * A SECURITY DEFINER function in an API-exposed schema that anon/authenticated may execute runs
 * with its owner's rights on every call through the API. In a schema the API does not expose
 * (Supabase's recommended pattern for RLS helpers), it is not reachable that way: no finding.
 */
import type { AuditRule } from '../model.js';
import { finding, isExposed, sqlFunction, sqlRoles } from './helpers.js';

export const securityDefinerExposed: AuditRule = {
  id: 'security-definer-exposed',
  level: 'warn',
  splinter: 'authenticated_security_definer_function_executable',
  title: 'SECURITY DEFINER function executable through the API',
  description: "A SECURITY DEFINER function in an API-exposed schema that anon or authenticated can execute: callers run it with its owner's privileges (usually bypassing RLS) as an RPC.",
  fixture: { hole: ['public.h11_definer()'], safe: ['fixture_private.s11_definer()', 'public.s11_definer_revoked()'] },
  check(catalog, settings) {
    const clients = [settings.roles.anon, settings.roles.authenticated];
    return catalog.functions
      .filter((f) => f.securityDefiner && !f.returnsTrigger && isExposed(f.schema, settings))
      .flatMap((f) => {
        const roles = clients.filter((r) => f.executableBy.includes(r));
        if (roles.length === 0) return [];
        const signature = `${f.schema}.${f.name}(${f.args})`;
        return [finding(this, {
          object: signature,
          objectType: 'function',
          splinter: roles.includes(settings.roles.anon) ? 'anon_security_definer_function_executable' : 'authenticated_security_definer_function_executable',
          message: `SECURITY DEFINER function ${signature} in API-exposed schema ${f.schema} is executable by ${roles.join(' and ')}`,
          fix: `move it to a schema the API does not expose (e.g. private), or REVOKE EXECUTE ON FUNCTION ${sqlFunction(f)} FROM PUBLIC, ${sqlRoles(roles)}`,
        })];
      });
  },
};

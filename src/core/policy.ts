/**
 * The shape of a declared RLS policy, and the SQL that creates or drops it. Policies are declared
 * once (policies/*.ts) and read by the migrations that create them, by rls-audit's drift check
 * and by the tests.
 */

export const POLICY_COMMANDS = ['ALL', 'SELECT', 'INSERT', 'UPDATE', 'DELETE'] as const;
export type PolicyCommand = (typeof POLICY_COMMANDS)[number];

export interface PolicyDefinition {
  name: string;
  /** Schema-qualified table, e.g. "public.contents". */
  table: string;
  command: PolicyCommand;
  /** false: AS RESTRICTIVE (ANDed with the permissive policies). */
  permissive: boolean;
  roles: readonly string[];
  using: string | null;
  withCheck: string | null;
  /** One line: what this policy guarantees. */
  why: string;
}

const ident = (name: string) => (/^[a-z_][a-z0-9_]*$/.test(name) ? name : `"${name.replaceAll('"', '""')}"`);
const qualifiedIdent = (qualified: string) => qualified.split('.').map(ident).join('.');

export function createPolicySql(p: PolicyDefinition): string {
  const parts = [
    `CREATE POLICY ${ident(p.name)} ON ${qualifiedIdent(p.table)}`,
    `AS ${p.permissive ? 'PERMISSIVE' : 'RESTRICTIVE'}`,
    `FOR ${p.command}`,
    `TO ${p.roles.map((r) => (r === 'public' ? 'PUBLIC' : ident(r))).join(', ')}`,
  ];
  if (p.using !== null) parts.push(`USING (${p.using})`);
  if (p.withCheck !== null) parts.push(`WITH CHECK (${p.withCheck})`);
  return parts.join('\n  ');
}

export function dropPolicySql(p: PolicyDefinition): string {
  return `DROP POLICY IF EXISTS ${ident(p.name)} ON ${qualifiedIdent(p.table)}`;
}

/** pg_policy.polcmd letters for each command. */
export const POLCMD: Record<PolicyCommand, string> = { ALL: '*', SELECT: 'r', INSERT: 'a', UPDATE: 'w', DELETE: 'd' };

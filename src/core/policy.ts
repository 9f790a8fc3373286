/**
 * The shape of a declared RLS policy, and the SQL that creates or drops it. Policies are declared
 * once (policies/*.ts) and read by the migrations that create them, by rls-audit's drift check
 * and by the tests.
 */
import { quoteIdent, quoteQualified, quoteRole, splitQualified } from './sql.js';
import { parseSqlSync, SqlParserNotLoaded } from './sql-parse.js';

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

/**
 * CREATE POLICY for a declaration, checked by PostgreSQL's parser to be exactly that: one
 * statement, a CREATE POLICY of this name on this table with these roles, command and mode, with a
 * USING and a WITH CHECK exactly where declared. The expressions are text from policies/*.ts, and
 * `true); DROP TABLE x; CREATE POLICY zz ON t USING (true` must never become three statements.
 * Needs loadSqlParser() to have been awaited; throws PolicySqlError for any other text.
 */
export function createPolicySql(p: PolicyDefinition): string {
  const parts = [
    `CREATE POLICY ${quoteIdent(p.name)} ON ${quoteQualified(p.table)}`,
    `AS ${p.permissive ? 'PERMISSIVE' : 'RESTRICTIVE'}`,
    `FOR ${p.command}`,
    `TO ${p.roles.map(quoteRole).join(', ')}`,
  ];
  if (p.using !== null) parts.push(`USING (${p.using})`);
  if (p.withCheck !== null) parts.push(`WITH CHECK (${p.withCheck})`);
  const sql = parts.join('\n  ');
  const problem = policyStatementProblem(sql, p);
  if (problem) throw new PolicySqlError(`policy ${p.name} on ${p.table}: ${problem}`);
  return sql;
}

/** A declaration whose SQL is not the single CREATE POLICY it declares. */
export class PolicySqlError extends Error {}

interface ParsedPolicy {
  policy_name?: string;
  table?: { schemaname?: string; relname?: string };
  cmd_name?: string;
  permissive?: boolean;
  roles?: { RoleSpec?: { roletype?: string; rolename?: string } }[];
  qual?: unknown;
  with_check?: unknown;
}

/** Why `sql` is not exactly the CREATE POLICY that `p` declares (null: it is). Exported for tests. */
export function policyStatementProblem(sql: string, p: PolicyDefinition): string | null {
  let tree: { stmts?: { stmt?: { CreatePolicyStmt?: ParsedPolicy } }[] };
  try {
    tree = parseSqlSync(sql) as typeof tree;
  } catch (error) {
    if (error instanceof SqlParserNotLoaded) throw error;
    return `its USING or WITH CHECK is not valid SQL (${(error as Error).message})`;
  }
  const stmts = tree.stmts ?? [];
  if (stmts.length !== 1) return `its text makes ${stmts.length} SQL statements, not one CREATE POLICY: a USING or WITH CHECK expression must not close the statement`;
  const stmt = stmts[0]?.stmt?.CreatePolicyStmt;
  if (!stmt) return 'its text is not a CREATE POLICY statement';
  const [schema, table] = splitQualified(p.table);
  const roles = (stmt.roles ?? []).map((r) => (r.RoleSpec?.roletype === 'ROLESPEC_PUBLIC' ? 'public' : r.RoleSpec?.roletype === 'ROLESPEC_CSTRING' ? r.RoleSpec.rolename : `(${r.RoleSpec?.roletype})`));
  const wrong: string[] = [];
  if (stmt.policy_name !== p.name) wrong.push('name');
  if (stmt.table?.schemaname !== schema || stmt.table?.relname !== table) wrong.push('table');
  if (stmt.cmd_name !== p.command.toLowerCase()) wrong.push('command');
  if ((stmt.permissive ?? false) !== p.permissive) wrong.push('mode');
  if (roles.join(',') !== p.roles.join(',')) wrong.push('roles');
  if ((stmt.qual !== undefined) !== (p.using !== null)) wrong.push('USING');
  if ((stmt.with_check !== undefined) !== (p.withCheck !== null)) wrong.push('WITH CHECK');
  return wrong.length === 0 ? null : `its text parses as a CREATE POLICY with a different ${wrong.join(', ')}: a USING or WITH CHECK expression must not add clauses`;
}

export function dropPolicySql(p: PolicyDefinition): string {
  return `DROP POLICY IF EXISTS ${quoteIdent(p.name)} ON ${quoteQualified(p.table)}`;
}

/** pg_policy.polcmd letters for each command. */
export const POLCMD: Record<PolicyCommand, string> = { ALL: '*', SELECT: 'r', INSERT: 'a', UPDATE: 'w', DELETE: 'd' };

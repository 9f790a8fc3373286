/**
 * Statements whose effect does not stay in the database they run in: on a copy they would act on
 * the real server (drop the real database, change its configuration, alter roles every database
 * shares). A rehearsal refuses to run them. Pure.
 */
export const SERVER_WIDE_STATEMENTS: Record<string, string> = {
  CreatedbStmt: 'CREATE DATABASE',
  DropdbStmt: 'DROP DATABASE',
  AlterDatabaseStmt: 'ALTER DATABASE',
  AlterDatabaseSetStmt: 'ALTER DATABASE ... SET',
  AlterDatabaseRefreshCollStmt: 'ALTER DATABASE ... REFRESH COLLATION VERSION',
  AlterSystemStmt: 'ALTER SYSTEM',
  CreateTableSpaceStmt: 'CREATE TABLESPACE',
  DropTableSpaceStmt: 'DROP TABLESPACE',
  AlterTableSpaceOptionsStmt: 'ALTER TABLESPACE',
  AlterRoleStmt: 'ALTER ROLE',
  AlterRoleSetStmt: 'ALTER ROLE ... SET',
  DropRoleStmt: 'DROP ROLE',
  GrantRoleStmt: 'GRANT/REVOKE role membership',
  CreateSubscriptionStmt: 'CREATE SUBSCRIPTION',
  LoadStmt: 'LOAD',
};

/** What makes the statement server-wide, or null. */
export function serverWide(tree: Record<string, unknown> | null): string | null {
  if (!tree) return null;
  const node = Object.keys(tree)[0] ?? '';
  const known = SERVER_WIDE_STATEMENTS[node];
  if (known) return known;
  // COPY ... TO/FROM PROGRAM runs a command on the database server's machine.
  const copy = tree.CopyStmt as { is_program?: boolean } | undefined;
  if (copy?.is_program) return 'COPY ... PROGRAM';
  return null;
}

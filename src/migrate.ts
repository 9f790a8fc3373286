/**
 * `dbkit/migrate`: what migrations, policy modules and expectation files import from dbkit.
 * Pure and light: loading it never loads commander, node-pg-migrate, pg or libpg-query (only
 * calling loadSqlParser() does), so a migration folder can import it from the installed package
 * (never from dbkit's src/).
 *
 *   import type { MigrationBuilder } from 'node-pg-migrate';
 *   import { createPolicySql, dropPolicySql, type PolicyDefinition } from 'dbkit/migrate';
 */
export { quoteIdent, quoteLiteral, quoteQualified } from './core/sql.js';
export { loadSqlParser } from './core/sql-parse.js';
export { createPolicySql, dropPolicySql, POLICY_COMMANDS, POLCMD, type PolicyDefinition, type PolicyCommand } from './core/policy.js';
export { PUBLIC_READERS, type TenancyMap, type TenantTable, type Membership, type SeedValues, type PublicReader } from './audit/tenancy.js';
export type { ApiRoles } from './audit/model.js';
export type { Check, CheckKind, ExpectationSet, MigrationExpectation } from './core/validation.js';

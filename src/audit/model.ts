/**
 * The data rls-audit works on: what the catalog says (read once, in src/audit/catalog.ts), the
 * settings that scope the rules, and the findings they produce. Everything here is plain data,
 * so the rules are pure functions, unit-testable without a database.
 */
import type { PolicyCommand } from '../core/policy.js';

export const LEVELS = ['error', 'warn', 'info'] as const;
export type Level = (typeof LEVELS)[number];
/** --fail-on: the lowest level that fails the audit; "never" only fails on a matrix leak or drift error. */
export const FAIL_ON = ['error', 'warn', 'info', 'never'] as const;
export type FailOn = (typeof FAIL_ON)[number];

export const LEVEL_RANK: Record<Level, number> = { error: 3, warn: 2, info: 1 };

export const OBJECT_TYPES = ['table', 'view', 'materialized view', 'policy', 'function', 'role'] as const;
export type ObjectType = (typeof OBJECT_TYPES)[number];

export interface Finding {
  rule: string;
  level: Level;
  /** "schema.table", "schema.table.policy", "schema.fn(args)" or a role name. */
  object: string;
  objectType: ObjectType;
  /** One line: what is wrong and why it matters. */
  message: string;
  /** One line: what to do. */
  fix: string;
  /** The Supabase linter (splinter) rule for the same thing, when there is one. */
  splinter: string | null;
}

/** The roles a Supabase-style API connects as. */
export interface ApiRoles {
  anon: string;
  authenticated: string;
  service: string;
}

export const DEFAULT_API_ROLES: ApiRoles = { anon: 'anon', authenticated: 'authenticated', service: 'service_role' };

/** Schemas Supabase (and dbkit itself) manage: their objects are not the user's to fix. */
export const MANAGED_SCHEMAS = [
  'auth', 'storage', 'realtime', '_realtime', 'extensions', 'graphql', 'graphql_public', 'vault', 'pgsodium', 'pgsodium_masks',
  'net', 'supabase_functions', 'supabase_migrations', 'cron', 'pgbouncer', 'pgmq', 'pgtle', 'repack', '_analytics', 'dbkit',
] as const;

/** Roles that may be superuser or BYPASSRLS without a finding (Supabase's and common hosts' admins). */
export const DEFAULT_PRIVILEGED_ROLES = [
  'postgres', 'service_role', 'supabase_admin', 'supabase_auth_admin', 'supabase_storage_admin', 'supabase_replication_admin',
  'supabase_realtime_admin', 'supabase_etl_admin', 'rdsadmin', 'cloudsqladmin', 'azure_superuser',
] as const;

/** Column names that hold personal or secret data wherever they appear (matched as whole words of the name). */
export const SENSITIVE_COLUMN_WORDS = ['email', 'password', 'passwd', 'token', 'secret', 'phone', 'ssn', 'iban', 'card', 'api_key', 'apikey', 'private_key', 'salt', 'otp', 'dob', 'birthdate'] as const;

export interface AuditSettings {
  exposedSchemas: readonly string[];
  managedSchemas: readonly string[];
  /** Extra sensitive objects: "schema.table" (the whole table) or "schema.table.column". */
  sensitive: readonly string[];
  privilegedRoles: readonly string[];
  roles: ApiRoles;
}

/** Privileges one API role holds on a relation (table-level, or on at least one column). */
export interface RolePrivileges {
  select: boolean;
  insert: boolean;
  update: boolean;
  delete: boolean;
  truncate: boolean;
  /** Columns it may SELECT (all columns when select is table-level). */
  selectableColumns: string[];
}

export interface CatalogColumn {
  name: string;
  type: string;
}

export interface CatalogPolicy {
  name: string;
  command: PolicyCommand;
  permissive: boolean;
  /** Role names; "public" for PUBLIC. */
  roles: string[];
  /** pg_get_expr output, deparsed with an empty search_path so every name is qualified. */
  using: string | null;
  withCheck: string | null;
}

export interface CatalogRelation {
  schema: string;
  name: string;
  kind: 'table' | 'view' | 'materialized view';
  owner: string;
  ownerBypassesRls: boolean;
  rls: boolean;
  forceRls: boolean;
  /** reloptions, e.g. "security_invoker=true". */
  options: string[];
  columns: CatalogColumn[];
  /** Leading column of every valid index. */
  indexLeadingColumns: string[];
  policies: CatalogPolicy[];
  /** Keyed by role name (the API roles that exist). */
  privileges: Record<string, RolePrivileges>;
  /** Whether each API role has USAGE on the schema. */
  schemaUsage: Record<string, boolean>;
}

export interface CatalogFunction {
  schema: string;
  name: string;
  /** pg_get_function_identity_arguments */
  args: string;
  argCount: number;
  securityDefiner: boolean;
  /** proconfig pins search_path */
  pinnedSearchPath: boolean;
  volatility: 'immutable' | 'stable' | 'volatile';
  language: string;
  returnsTrigger: boolean;
  /** API roles (and PUBLIC) that may EXECUTE it. */
  executableBy: string[];
}

export interface CatalogRole {
  name: string;
  superuser: boolean;
  bypassRls: boolean;
  canLogin: boolean;
}

/**
 * An object that reads a relation or calls a function: a view or materialized view (pg_depend,
 * through its rewrite rule) or a function (a SQL body parsed by libpg_query, or the dependencies
 * PostgreSQL records for a BEGIN ATOMIC body).
 */
export interface CatalogRead {
  /** "schema.view" or "schema.fn(args)". */
  reader: string;
  readerType: 'view' | 'materialized view' | 'function';
  /** Where the reader lives (its schema). */
  readerSchema: string;
  /** What it reads: "schema.relation", or "schema.fn" for a function it calls (any overload). */
  reads: string;
}

/** How relations can be reached besides their own grants (src/audit/reach.ts reads it). */
export interface CatalogReach {
  reads: CatalogRead[];
  /** Relations on which PUBLIC holds a privilege ("schema.name"). */
  publicRelations: string[];
  /** Schemas on which PUBLIC holds USAGE. */
  publicSchemas: string[];
}

export interface AuditCatalog {
  relations: CatalogRelation[];
  functions: CatalogFunction[];
  roles: CatalogRole[];
  /** The API roles that exist on this server. */
  apiRolesPresent: string[];
  reach: CatalogReach;
}

/**
 * What every isolation probe result carries (the matrix cells and the attack probes): who acted
 * and whose rows it aimed at, what it tried on which relation, the SQL that reproduces it in psql,
 * and what to change.
 */
export interface ProbeEvidence {
  /** The acting identity first, then the identities whose rows the operation aimed at. */
  identities: string[];
  operation: string;
  /** The relation probed, "schema.name". */
  table: string;
  /**
   * Runnable in psql as is: BEGIN; the seeded rows it needs (as the connecting role); SET LOCAL
   * ROLE and request.jwt.claims; the probe; ROLLBACK.
   */
  reproduction: string;
  /** One line: what to change. Empty when the result is as expected. */
  fix: string;
}

export const qualifiedName = (r: { schema: string; name: string }) => `${r.schema}.${r.name}`;

/** A lint rule: one file under src/audit/rules/, with its detection, level, fix and test cases. */
export interface AuditRule {
  id: string;
  /** The level of its findings (a rule may downgrade some, e.g. read vs write). */
  level: Level;
  splinter: string | null;
  title: string;
  /** Longer why, for SARIF and --help of the rules. */
  description: string;
  check(catalog: AuditCatalog, settings: AuditSettings): Finding[];
  /**
   * Objects in test/fixtures/rls-holes.sql: `hole` must be found by this rule, none of `safe` may
   * be. The fixture test runs every rule against them.
   */
  fixture: { hole: string[]; safe: string[] };
}

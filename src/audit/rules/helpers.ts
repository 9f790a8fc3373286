/**
 * What several rules ask of the catalog: is a relation reachable through the API, does a policy
 * apply to a role and command, what does it check on writes, is a column sensitive.
 */
import type { PolicyCommand } from '../../core/policy.js';
import { quoteQualified, quoteRole } from '../../core/sql.js';
import { parseExpression, type Expr } from '../expr.js';
import { SENSITIVE_COLUMN_WORDS, type AuditSettings, type CatalogFunction, type CatalogPolicy, type CatalogRelation, type Finding, type AuditRule } from '../model.js';

export const WRITE_COMMANDS = ['INSERT', 'UPDATE', 'DELETE'] as const;
export const ROW_COMMANDS = ['SELECT', 'INSERT', 'UPDATE', 'DELETE'] as const;
export type RowCommand = (typeof ROW_COMMANDS)[number];

export const isExposed = (schema: string, s: AuditSettings) => s.exposedSchemas.includes(schema);
export const isManaged = (schema: string, s: AuditSettings) => s.managedSchemas.includes(schema);

/** The API roles (anon, authenticated) that exist on the server. */
export const clientRoles = (s: AuditSettings, present: readonly string[]) => [s.roles.anon, s.roles.authenticated].filter((r) => present.includes(r));

/** Can `role` reach the relation through the API at all (exposed schema, USAGE, any privilege)? */
export function reachableBy(rel: CatalogRelation, role: string, s: AuditSettings): boolean {
  const p = rel.privileges[role];
  if (!p || !isExposed(rel.schema, s) || !rel.schemaUsage[role]) return false;
  return p.select || p.insert || p.update || p.delete || p.selectableColumns.length > 0;
}

export function hasPrivilege(rel: CatalogRelation, role: string, command: RowCommand): boolean {
  const p = rel.privileges[role];
  if (!p) return false;
  switch (command) {
    case 'SELECT':
      return p.select || p.selectableColumns.length > 0;
    case 'INSERT':
      return p.insert;
    case 'UPDATE':
      return p.update;
    case 'DELETE':
      return p.delete;
  }
}

export const appliesToRole = (p: CatalogPolicy, role: string) => p.roles.includes(role) || p.roles.includes('public');

export function commandsOf(command: PolicyCommand): RowCommand[] {
  return command === 'ALL' ? [...ROW_COMMANDS] : [command];
}

const parsed = new Map<string, Expr>();

/** The parsed expression (cached: the same text parses once per process). */
export function expr(text: string): Expr {
  let e = parsed.get(text);
  if (!e) {
    e = parseExpression(text);
    parsed.set(text, e);
  }
  return e;
}

/** The expression Postgres checks new rows against for `command`; null means the policy admits no row. */
export function checkFor(p: CatalogPolicy, command: 'INSERT' | 'UPDATE'): string | null {
  if (command === 'INSERT') return p.withCheck;
  return p.withCheck ?? p.using;
}

const words = (name: string) => name.toLowerCase().split(/[^a-z0-9]+/);

export function isSensitiveColumn(rel: CatalogRelation, column: string, s: AuditSettings): boolean {
  const table = `${rel.schema}.${rel.name}`;
  if (s.sensitive.includes(table) || s.sensitive.includes(`${table}.${column}`)) return true;
  const name = column.toLowerCase();
  return SENSITIVE_COLUMN_WORDS.some((w) => (w.includes('_') ? name.includes(w) : words(name).includes(w)));
}

/** Sensitive columns `role` may read. */
export function sensitiveReadable(rel: CatalogRelation, role: string, s: AuditSettings): string[] {
  const p = rel.privileges[role];
  if (!p) return [];
  return p.selectableColumns.filter((c) => isSensitiveColumn(rel, c, s));
}

export const tableName = (rel: CatalogRelation) => `${rel.schema}.${rel.name}`;
export const policyName = (rel: CatalogRelation, p: CatalogPolicy) => `${rel.schema}.${rel.name}.${p.name}`;

/** Builds a finding with the rule's id, level and splinter name filled in. */
export function finding(rule: Pick<AuditRule, 'id' | 'level' | 'splinter'>, f: Omit<Finding, 'rule' | 'level' | 'splinter'> & Partial<Pick<Finding, 'level' | 'splinter'>>): Finding {
  return { rule: rule.id, level: f.level ?? rule.level, object: f.object, objectType: f.objectType, message: f.message, fix: f.fix, splinter: f.splinter === undefined ? rule.splinter : f.splinter };
}

// Names in fix lines are SQL a user may paste: each is quoted the way PostgreSQL would (core/sql).
/** The relation as SQL: public.contents, public."user", "My Schema"."t""x". */
export const sqlRelation = (rel: { schema: string; name: string }) => quoteQualified(rel);
/** The function as SQL, with its identity arguments as the server prints them (already quoted). */
export const sqlFunction = (f: CatalogFunction) => `${quoteQualified(f)}(${f.args})`;
/** Roles for GRANT/REVOKE: each quoted, public as PUBLIC. */
export const sqlRoles = (roles: readonly string[]) => roles.map(quoteRole).join(', ');

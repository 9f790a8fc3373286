/**
 * Policy drift: the live policies against the ones declared in policies/. Expressions are compared
 * as the server prints them (pg_get_expr), the declared ones having been created on a throw-away
 * copy of their table first (see normalise.ts), so formatting, casts and qualification never count
 * as drift. Pure.
 */
import { createPolicySql, type PolicyDefinition } from '../core/policy.js';
import { permissionHint } from '../core/privileges.js';
import { quoteIdent, quoteQualified } from '../core/sql.js';
import type { AuditRule, CatalogPolicy, CatalogRelation, Finding } from './model.js';

export const DRIFT_RULES = [
  { id: 'policy-drift-missing', level: 'error', splinter: null, title: 'Declared policy missing from the database', description: 'A policy declared in policies/ does not exist on its table: the protection it describes is not in force.' },
  { id: 'policy-drift-extra', level: 'error', splinter: null, title: 'Undeclared policy on a declared table', description: 'A table whose policies are declared in policies/ has a policy that is not declared there: someone added it by hand, and it may open rows the declarations do not.' },
  { id: 'policy-drift-changed', level: 'error', splinter: null, title: 'Policy differs from its declaration', description: 'A policy exists under its declared name but its command, roles, mode, USING or WITH CHECK differ from policies/.' },
  { id: 'policy-drift-unverified', level: 'info', splinter: null, title: 'Policy expressions cannot be verified (permission denied)', description: 'The role rls-audit connects as may not compile the declared USING / WITH CHECK (it lacks a privilege on a schema, table or the database), so they were not compared; command, roles and mode were.' },
] as const satisfies readonly Omit<AuditRule, 'check' | 'fixture'>[];

export type DriftRuleId = (typeof DRIFT_RULES)[number]['id'];

/** A declared policy with its expressions as the server prints them (null: could not be created). */
export interface NormalisedDeclaration {
  policy: PolicyDefinition;
  file: string;
  using: string | null;
  withCheck: string | null;
  /** Why the declared expressions could not be normalised (the declaration does not compile). */
  error: string | null;
  /** The server refused for lack of a privilege (SQLSTATE 42501): the declaration was not verified, not found wrong. */
  denied?: boolean;
}

const sortedRoles = (roles: readonly string[]) => [...roles].map((r) => r.toLowerCase()).sort().join(',');

function make(id: DriftRuleId, object: string, message: string, fix: string): Finding {
  return { rule: id, level: DRIFT_RULES.find((r) => r.id === id)!.level, object, objectType: 'policy', message, fix, splinter: null };
}

/** `role`: the role rls-audit connected as, named in the GRANT of an unverified declaration. */
export function compareDrift(declared: readonly NormalisedDeclaration[], relations: readonly CatalogRelation[], role: string | null = null): Finding[] {
  const findings: Finding[] = [];
  const byTable = new Map(relations.map((r) => [`${r.schema}.${r.name}`, r]));
  const declaredTables = new Set(declared.map((d) => d.policy.table));
  for (const d of declared) {
    const p = d.policy;
    const object = `${p.table}.${p.name}`;
    const live = byTable.get(p.table)?.policies.find((x) => x.name === p.name);
    if (!live) {
      findings.push(make('policy-drift-missing', object, `policy ${p.name} declared in ${d.file} does not exist on ${p.table}`, `create it: ${createPolicySql(p).replace(/\s+/g, ' ')}`));
      continue;
    }
    const diffs = differences(d, live);
    if (d.denied && diffs.length === 0) {
      findings.push(make('policy-drift-unverified', object, `policy ${p.name} on ${p.table}: USING / WITH CHECK cannot verify (permission denied: ${d.error}); command, roles and mode match ${d.file}`, `run rls-audit as a role that may compile the declaration: ${permissionHint(d.error ?? '', role)}`));
      continue;
    }
    if (diffs.length > 0) findings.push(make('policy-drift-changed', object, `policy ${p.name} on ${p.table} differs from ${d.file}: ${diffs.join('; ')}${d.denied ? '; USING / WITH CHECK not verified (permission denied)' : ''}`, `DROP POLICY ${quoteIdent(p.name)} ON ${quoteQualified(p.table)}, then recreate it from ${d.file} (in a new migration)`));
  }
  for (const table of declaredTables) {
    const rel = byTable.get(table);
    for (const live of rel?.policies ?? []) {
      if (declared.some((d) => d.policy.table === table && d.policy.name === live.name)) continue;
      findings.push(make('policy-drift-extra', `${table}.${live.name}`, `policy ${live.name} on ${table} (${live.permissive ? 'permissive' : 'restrictive'} ${live.command} to ${live.roles.join(', ')}) is not declared in policies/`, `declare it in policies/ if it is intended, or DROP POLICY ${quoteIdent(live.name)} ON ${quoteQualified(rel ?? table)}`));
    }
  }
  return findings;
}

function differences(d: NormalisedDeclaration, live: CatalogPolicy): string[] {
  const p = d.policy;
  const out: string[] = [];
  if (p.command !== live.command) out.push(`command ${live.command}, declared ${p.command}`);
  if (p.permissive !== live.permissive) out.push(`${live.permissive ? 'permissive' : 'restrictive'}, declared ${p.permissive ? 'permissive' : 'restrictive'}`);
  if (sortedRoles(p.roles) !== sortedRoles(live.roles)) out.push(`roles ${live.roles.join(', ')}, declared ${p.roles.join(', ')}`);
  if (d.error) {
    if (!d.denied) out.push(`the declaration does not compile: ${d.error}`);
    return out;
  }
  if (d.using !== live.using) out.push(`USING is ${oneLine(live.using)}, declared ${oneLine(d.using)}`);
  if (d.withCheck !== live.withCheck) out.push(`WITH CHECK is ${oneLine(live.withCheck)}, declared ${oneLine(d.withCheck)}`);
  return out;
}

const oneLine = (text: string | null) => (text === null ? '(none)' : `(${text.replace(/\s+/g, ' ')})`);

/**
 * What a project declares beside its migrations, in its policies/ folder: the policies (for the
 * drift check) and the tenancy map (for the isolation matrix). Every .ts/.js file there may export
 * `policies` (PolicyDefinition[]) and `tenancy` (TenancyMap).
 */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { loadJiti } from '../lazy.js';
import { createPolicySql, POLICY_COMMANDS, PolicySqlError, type PolicyDefinition } from '../core/policy.js';
import { loadSqlParser } from '../core/sql-parse.js';
import { DbkitError, errorMessage } from '../errors.js';
import type { TenancyMap } from './tenancy.js';

export interface PolicyProject {
  dir: string;
  files: string[];
  policies: { policy: PolicyDefinition; file: string }[];
  tenancy: { map: TenancyMap; file: string } | null;
}

const RELATION = /^[^.]+\.[^.]+$/;

/** A policy declaration as policies/*.ts must write it; anything else is refused, never cast. (zod is loaded here, not at start-up.) */
async function policySchema() {
  const { z } = await import('zod');
  return z.strictObject({
    name: z.string().min(1),
    table: z.string().regex(RELATION, 'must be schema-qualified (schema.table)'),
    command: z.enum(POLICY_COMMANDS),
    permissive: z.boolean(),
    roles: z.array(z.string().min(1)).min(1),
    using: z.string().nullable(),
    withCheck: z.string().nullable(),
    why: z.string().default(''),
  });
}

/**
 * The declarations of one file: each parsed by the schema, then its CREATE POLICY checked by
 * PostgreSQL's parser to be exactly one statement of that policy. Every problem is reported at once.
 */
function checkPolicies(schema: Awaited<ReturnType<typeof policySchema>>, list: readonly unknown[], file: string): PolicyDefinition[] {
  const problems: string[] = [];
  const out: PolicyDefinition[] = [];
  list.forEach((raw, i) => {
    const parsed = schema.safeParse(raw);
    if (!parsed.success) {
      problems.push(`policies[${i}]: ${parsed.error.issues.map((x) => `${x.path.join('.') || 'the entry'} ${x.message}`).join('; ')}`);
      return;
    }
    try {
      createPolicySql(parsed.data);
      out.push(parsed.data);
    } catch (error) {
      if (!(error instanceof PolicySqlError)) throw error;
      problems.push(`policies[${i}]: ${error.message}`);
    }
  });
  if (problems.length > 0) throw new DbkitError('USAGE', `${file} declares invalid policies: ${problems.join(' | ')}`, { hint: 'fix the declarations; nothing was sent to the database' });
  return out;
}

export async function loadPolicyProject(dir: string, cwd: string): Promise<PolicyProject> {
  const project: PolicyProject = { dir, files: [], policies: [], tenancy: null };
  if (!existsSync(dir)) return project;
  await loadSqlParser();
  const schema = await policySchema();
  const files = readdirSync(dir).filter((f) => /\.(ts|js|mjs)$/.test(f) && !f.endsWith('.d.ts')).sort();
  for (const name of files) {
    const file = path.join(dir, name);
    const shown = path.relative(cwd, file) || file;
    let mod: { policies?: unknown; tenancy?: unknown };
    try {
      const jiti = loadJiti();
      mod = (await jiti.import(file)) as typeof mod;
    } catch (error) {
      throw new DbkitError('USAGE', `${shown} cannot be loaded: ${errorMessage(error).split('\n')[0]}`);
    }
    project.files.push(shown);
    if (mod.policies !== undefined) {
      if (!Array.isArray(mod.policies)) throw new DbkitError('USAGE', `${shown}: \`policies\` must be an array of policy declarations`);
      for (const policy of checkPolicies(schema, mod.policies, shown)) project.policies.push({ policy, file: shown });
    }
    if (mod.tenancy) {
      if (project.tenancy) throw new DbkitError('USAGE', `two tenancy maps: ${project.tenancy.file} and ${shown}`, { hint: 'keep one `tenancy` export in the policies folder' });
      project.tenancy = { map: mod.tenancy as TenancyMap, file: shown };
    }
  }
  return project;
}

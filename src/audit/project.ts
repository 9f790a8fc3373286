/**
 * What a project declares beside its migrations, in its policies/ folder: the policies (for the
 * drift check) and the tenancy map (for the isolation matrix). Every .ts/.js file there may export
 * `policies` (PolicyDefinition[]) and `tenancy` (TenancyMap).
 *
 * A file may also export `supersedes`: the declarations ("schema.table.policy") of other files
 * that a later migration replaced. An applied migration builds its SQL from its declarations, so
 * they stay as they were; drift compares the database with the current declaration of each policy,
 * and a policy declared twice without `supersedes` is refused.
 */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { loadJiti } from '../lazy.js';
import { createPolicySql, POLICY_COMMANDS, PolicySqlError, type PolicyDefinition } from '../core/policy.js';
import { loadSqlParser } from '../core/sql-parse.js';
import { DbkitError, errorMessage } from '../errors.js';
import type { TenancyMap } from './tenancy.js';
import { parseTenancyMap } from './tenancy-schema.js';
import { printable } from '../output/text.js';

export interface PolicyProject {
  dir: string;
  files: string[];
  policies: { policy: PolicyDefinition; file: string }[];
  tenancy: { map: TenancyMap; file: string } | null;
}

const RELATION = /^[^.]+\.[^.]+$/;
/** schema.table.policy: schema and table hold no dot (RELATION), so the policy name is the rest. */
const POLICY_KEY = /^[^.]+\.[^.]+\..+$/;
const keyOf = (p: PolicyDefinition) => `${p.table}.${p.name}`;

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
  const { z } = await import('zod');
  const supersedesSchema = z.array(z.string().regex(POLICY_KEY));
  const superseding = new Map<string, string>();
  const files = readdirSync(dir).filter((f) => /\.(ts|js|mjs)$/.test(f) && !f.endsWith('.d.ts')).sort();
  for (const name of files) {
    const file = path.join(dir, name);
    const shown = path.relative(cwd, file) || file;
    let mod: { policies?: unknown; tenancy?: unknown; supersedes?: unknown };
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
    if (mod.supersedes !== undefined) {
      const keys = supersedesSchema.safeParse(mod.supersedes);
      if (!keys.success) throw new DbkitError('USAGE', `${shown}: \`supersedes\` must be an array of "schema.table.policy" names`, { hint: 'name each declaration of another file that this file replaces' });
      for (const key of keys.data) {
        const other = superseding.get(key);
        if (other !== undefined && other !== shown) throw new DbkitError('USAGE', `${key} is superseded by two files: ${other} and ${shown}`, { hint: 'keep it in the `supersedes` of the file that holds its current declaration only' });
        superseding.set(key, shown);
      }
    }
    if (mod.tenancy !== undefined) {
      if (project.tenancy) throw new DbkitError('USAGE', `two tenancy maps: ${project.tenancy.file} and ${shown}`, { hint: 'keep one `tenancy` export in the policies folder' });
      const tenancy = await parseTenancyMap(mod.tenancy);
      if (!tenancy.ok) throw new DbkitError('USAGE', `${shown}: invalid tenancy map: ${printable(tenancy.problems.join('; '))}`, { hint: 'see README "Tenancy map"' });
      project.tenancy = { map: tenancy.map, file: shown };
    }
  }
  project.policies = currentDeclarations(project.policies, superseding);
  return project;
}

/**
 * The current declaration of each policy: a superseded one is dropped unless its own file is the
 * one superseding it. Refuses a `supersedes` entry that names nothing in another file (a typo would
 * silently compare the old declaration) and a policy declared twice.
 */
function currentDeclarations(declared: PolicyProject['policies'], superseding: ReadonlyMap<string, string>): PolicyProject['policies'] {
  for (const [key, file] of superseding) {
    if (!declared.some((d) => keyOf(d.policy) === key && d.file !== file)) {
      throw new DbkitError('USAGE', `${file} supersedes ${key}, which no other file of the policies folder declares`, { hint: 'name the table and policy exactly as the superseded declaration does' });
    }
  }
  const current = declared.filter((d) => {
    const by = superseding.get(keyOf(d.policy));
    return by === undefined || by === d.file;
  });
  const seen = new Map<string, string>();
  for (const d of current) {
    const key = keyOf(d.policy);
    const first = seen.get(key);
    if (first !== undefined) throw new DbkitError('USAGE', `${key} is declared in ${first} and in ${d.file}`, { hint: 'when a migration replaced it, export `supersedes` from the file with the current declaration, naming it' });
    seen.set(key, d.file);
  }
  return current;
}

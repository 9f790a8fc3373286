/**
 * What a project declares beside its migrations, in its policies/ folder: the policies (for the
 * drift check) and the tenancy map (for the isolation matrix). Every .ts/.js file there may export
 * `policies` (PolicyDefinition[]) and `tenancy` (TenancyMap).
 */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { loadJiti } from '../lazy.js';
import { POLICY_COMMANDS, type PolicyDefinition } from '../core/policy.js';
import { DbkitError, errorMessage } from '../errors.js';
import type { TenancyMap } from './tenancy.js';

export interface PolicyProject {
  dir: string;
  files: string[];
  policies: { policy: PolicyDefinition; file: string }[];
  tenancy: { map: TenancyMap; file: string } | null;
}

function checkPolicy(p: unknown, file: string, index: number): PolicyDefinition {
  const x = p as Partial<PolicyDefinition>;
  const problems: string[] = [];
  if (typeof x.name !== 'string' || !x.name) problems.push('name');
  if (typeof x.table !== 'string' || !x.table.includes('.')) problems.push('table (schema-qualified)');
  if (!POLICY_COMMANDS.includes(x.command as never)) problems.push(`command (one of ${POLICY_COMMANDS.join(', ')})`);
  if (typeof x.permissive !== 'boolean') problems.push('permissive');
  if (!Array.isArray(x.roles) || x.roles.length === 0) problems.push('roles');
  if (x.using !== null && typeof x.using !== 'string') problems.push('using (string or null)');
  if (x.withCheck !== null && typeof x.withCheck !== 'string') problems.push('withCheck (string or null)');
  if (problems.length > 0) throw new DbkitError('USAGE', `${file}: policies[${index}] has a missing or invalid ${problems.join(', ')}`);
  return x as PolicyDefinition;
}

export async function loadPolicyProject(dir: string, cwd: string): Promise<PolicyProject> {
  const project: PolicyProject = { dir, files: [], policies: [], tenancy: null };
  if (!existsSync(dir)) return project;
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
    if (Array.isArray(mod.policies)) mod.policies.forEach((p, i) => project.policies.push({ policy: checkPolicy(p, shown, i), file: shown }));
    if (mod.tenancy) {
      if (project.tenancy) throw new DbkitError('USAGE', `two tenancy maps: ${project.tenancy.file} and ${shown}`, { hint: 'keep one `tenancy` export in the policies folder' });
      project.tenancy = { map: mod.tenancy as TenancyMap, file: shown };
    }
  }
  return project;
}

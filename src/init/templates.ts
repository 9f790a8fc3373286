/**
 * The files dbkit init writes, as text: the config (settings that exist, from what was detected),
 * an example policies module, an example pgTAP test and .env.example (every setting, from
 * SETTINGS). Pure.
 */
import { SETTINGS } from '../config.js';
import type { Detection } from './detect.js';

/**
 * Settings an adopted project needs beyond its folders, by the dbkit.config.json key they are
 * meant for. Only keys this dbkit's SETTINGS knows are written (config files with unknown keys
 * are refused); the rest are reported as not written. When dbkit gains a setting of one of these
 * names (node-pg-migrate's ignore pattern, its history table and schema), init writes it.
 */
export function adoptionSettings(detection: Detection): Record<string, string> {
  const n = detection.nodePgMigrate;
  const wanted: Record<string, string | undefined> = {
    ignorePattern: n.ignorePattern,
    migrationsTable: n.migrationsTable,
    migrationsSchema: n.migrationsSchema,
  };
  return Object.fromEntries(Object.entries(wanted).filter((e): e is [string, string] => e[1] !== undefined));
}

const KNOWN_KEYS: ReadonlySet<string> = new Set(Object.values(SETTINGS).map((s) => s.key));

export interface ConfigPlan {
  /** What dbkit.config.json will hold. */
  config: Record<string, string>;
  /** Detected settings this dbkit has no key for. */
  notWritten: Record<string, string>;
}

export function planConfig(detection: Detection, dirs: { policiesDir: string; testsDir: string }): ConfigPlan {
  const config: Record<string, string> = { migrationsDir: detection.migrationsDir, policiesDir: dirs.policiesDir, testsDir: dirs.testsDir };
  const notWritten: Record<string, string> = {};
  for (const [key, value] of Object.entries(adoptionSettings(detection))) {
    if (KNOWN_KEYS.has(key)) config[key] = value;
    else notWritten[key] = value;
  }
  return { config, notWritten };
}

export const POLICIES_EXAMPLE = `/**
 * Row-level security declared once, for dbkit rls-audit (written by dbkit init).
 *
 * \`policies\` lists the policies your migrations create: rls-audit compares each with the live one
 * as the server normalises it (policy drift). \`tenancy\` says how each table reaches its tenant:
 * rls-audit seeds two tenants from it and proves, as anon, each tenant and service_role, that
 * nobody reads or writes another tenant's rows (the isolation matrix). Until you fill them in,
 * rls-audit runs its lint rules only.
 *
 * Migrations can import the same declarations, so the SQL they run and what the audit expects
 * never drift apart:
 *   import { createPolicySql } from 'dbkit/migrate';
 *   import { policies } from '../policies/rls.ts';
 *   export const up = (pgm) => { for (const p of policies) pgm.sql(createPolicySql(p)); };
 */
import type { PolicyDefinition, TenancyMap } from 'dbkit/migrate';

export const policies: PolicyDefinition[] = [
  // An example for a schema where each user owns projects, and tasks belong to a project:
  // {
  //   name: 'projects_owner',
  //   table: 'public.projects',
  //   command: 'ALL',
  //   permissive: true,
  //   roles: ['authenticated'],
  //   using: 'owner_id = (SELECT auth.uid())',
  //   withCheck: 'owner_id = (SELECT auth.uid())',
  //   why: 'a user reads and writes only the projects they own',
  // },
  // {
  //   name: 'tasks_by_project',
  //   table: 'public.tasks',
  //   command: 'ALL',
  //   permissive: true,
  //   roles: ['authenticated'],
  //   using: 'project_id IN (SELECT p.id FROM public.projects p WHERE p.owner_id = (SELECT auth.uid()))',
  //   withCheck: 'project_id IN (SELECT p.id FROM public.projects p WHERE p.owner_id = (SELECT auth.uid()))',
  //   why: "a task belongs to its project's owner",
  // },
];

// The tenancy map: none yet. For the example schema above, replace \`undefined\` with
// {
//   // One row per tenant, owned by a user id (the JWT "sub" claim):
//   root: { table: 'public.projects', userColumn: 'owner_id' },
//   // Tenant tables, each pointing at its parent:
//   tables: [{ table: 'public.tasks', via: { column: 'project_id', parent: 'public.projects' } }],
// }
export const tenancy: TenancyMap | undefined = undefined;
`;

export const PGTAP_EXAMPLE = `-- An example pgTAP test, run by \`dbkit test\` (written by dbkit init). Each file runs in its own
-- transaction, rolled back afterwards. Assertions: https://pgtap.org/documentation.html
SELECT plan(2);

SELECT has_schema('public', 'the public schema exists');

-- A table in public without row-level security is readable by every role granted on it.
SELECT is_empty(
  $$ SELECT c.oid::regclass::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relrowsecurity $$,
  'every table in public has row-level security enabled'
);

SELECT * FROM finish();
`;

/** .env.example: DATABASE_URL and every dbkit setting, commented out, with its meaning and default. */
export function envExample(config: Record<string, string>): string {
  const lines = [
    '# dbkit reads ./.env (real environment variables win over it). Copy to .env and fill in.',
    '# Never commit .env: it holds credentials. (Written by dbkit init.)',
    '',
    `# ${SETTINGS.databaseUrl.description}`,
    '# DATABASE_URL=postgres://user:password@host:5432/database',
  ];
  for (const spec of Object.values(SETTINGS)) {
    if (spec.key === 'databaseUrl') continue;
    lines.push('', `# ${spec.description} (default: ${spec.defaultText})`, `# ${spec.env}=${config[spec.key] ?? ''}`);
  }
  return `${lines.join('\n')}\n`;
}

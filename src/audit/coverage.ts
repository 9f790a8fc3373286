/**
 * Does the policies folder describe this database? The tables its declared policies and tenancy
 * map name, and the API roles the map impersonates, that the database does not have. When any is
 * absent the folder describes another schema (dbkit's own CreatorOS set run against a project's
 * database, say): drift and the isolation matrix would only report its absence, so rls-audit skips
 * them with one notice and still lints. Pure.
 */
import type { PolicyProject } from './project.js';
import type { ApiRoles, AuditCatalog } from './model.js';

export interface Absent {
  tables: string[];
  roles: string[];
}

export function absentFromDatabase(project: PolicyProject, catalog: AuditCatalog, roles: ApiRoles): Absent {
  const present = new Set(catalog.relations.map((r) => `${r.schema}.${r.name}`));
  const map = project.tenancy?.map;
  const named = [
    ...project.policies.map((p) => p.policy.table),
    ...(map ? [map.root?.table, ...(map.tables ?? []).map((t) => t.table), ...(map.views ?? []).map((v) => v.view)] : []),
  ].filter((t): t is string => typeof t === 'string');
  const roleNames = map ? [roles.anon, roles.authenticated, roles.service] : [];
  return {
    tables: [...new Set(named)].filter((t) => !present.has(t)).sort(),
    roles: [...new Set(roleNames)].filter((r) => !catalog.apiRolesPresent.includes(r)).sort(),
  };
}

const listed = (items: readonly string[]) => `${items.slice(0, 4).join(', ')}${items.length > 4 ? ` and ${items.length - 4} more` : ''}`;

/** The one notice rls-audit prints when the policies folder does not describe the database (null when it does). */
export function coverageNotice(absent: Absent, policiesDir: string, options: { inferred?: boolean } = {}): string | null {
  const parts = [absent.tables.length > 0 ? `tables ${listed(absent.tables)}` : '', absent.roles.length > 0 ? `roles ${listed(absent.roles)}` : ''].filter(Boolean);
  if (parts.length === 0) return null;
  const matrix = options.inferred ? 'the isolation matrix ran on a tenancy map inferred from the catalog instead' : 'the isolation matrix was skipped';
  const skipped = absent.tables.length > 0 ? (options.inferred ? `policy drift was skipped and ${matrix}` : 'policy drift and the isolation matrix were skipped') : matrix;
  return `${policiesDir}/ names ${parts.join(' and ')} that this database does not have, so it describes another schema: ${skipped} (the lint findings above cover this database). Describe this database in its own policies folder (dbkit init writes a commented example) and point --policies-dir (or DBKIT_POLICIES_DIR) at it.`;
}

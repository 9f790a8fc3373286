import { describe, expect, it } from 'vitest';
import { absentFromDatabase, coverageNotice } from '../../../src/audit/coverage.ts';
import { DEFAULT_API_ROLES, type AuditCatalog, type CatalogRelation } from '../../../src/audit/model.ts';
import type { PolicyProject } from '../../../src/audit/project.ts';
import { policies, tenancy } from '../../../policies/creatoros.ts';

const relation = (schema: string, name: string): CatalogRelation => ({
  schema, name, kind: 'table', owner: 'postgres', ownerBypassesRls: true, rls: false, forceRls: false, options: [], columns: [], indexLeadingColumns: [], policies: [], privileges: {}, schemaUsage: {},
});

const creatoros: PolicyProject = { dir: 'policies', files: ['policies/creatoros.ts'], policies: policies.map((policy) => ({ policy, file: 'policies/creatoros.ts' })), tenancy: { map: tenancy, file: 'policies/creatoros.ts' } };

function catalog(tables: string[], roles = ['anon', 'authenticated', 'service_role']): AuditCatalog {
  return { relations: tables.map((t) => relation(t.split('.')[0]!, t.split('.')[1]!)), functions: [], roles: [], apiRolesPresent: roles, reach: { reads: [], publicRelations: [], publicSchemas: [] } };
}

describe('whether the policies folder describes the database', () => {
  it('a database with every declared table and role: nothing absent, no notice', () => {
    const all = [...new Set([...policies.map((p) => p.table), tenancy.root.table, ...tenancy.tables.map((t) => t.table), ...(tenancy.views ?? []).map((v) => v.view)])];
    const absent = absentFromDatabase(creatoros, catalog(all), DEFAULT_API_ROLES);
    expect(absent).toEqual({ tables: [], roles: [] });
    expect(coverageNotice(absent, 'policies')).toBeNull();
  });

  it('another schema: every table it names is absent, and one notice says what was skipped and how to describe this database', () => {
    const absent = absentFromDatabase(creatoros, catalog(['public.tickets', 'public.organizations'], []), DEFAULT_API_ROLES);
    expect(absent.tables).toContain('public.contents');
    expect(absent.tables).toContain('public.v_contents_with_creators');
    expect(absent.roles).toEqual(['anon', 'authenticated', 'service_role']);
    const notice = coverageNotice(absent, 'policies')!;
    expect(notice).toContain('policy drift and the isolation matrix were skipped');
    expect(notice).toContain('dbkit init');
    expect(notice).toContain('--policies-dir');
  });

  it('tables present but no API roles: only the matrix is skipped', () => {
    const all = [...new Set([...policies.map((p) => p.table), tenancy.root.table, ...tenancy.tables.map((t) => t.table), ...(tenancy.views ?? []).map((v) => v.view)])];
    const absent = absentFromDatabase(creatoros, catalog(all, ['service_role']), DEFAULT_API_ROLES);
    expect(absent).toEqual({ tables: [], roles: ['anon', 'authenticated'] });
    expect(coverageNotice(absent, 'policies')).toContain('the isolation matrix was skipped');
  });

  it('an empty policies folder describes nothing, so nothing is absent', () => {
    expect(absentFromDatabase({ dir: 'p', files: [], policies: [], tenancy: null }, catalog([]), DEFAULT_API_ROLES)).toEqual({ tables: [], roles: [] });
  });
});

import { beforeAll, describe, expect, it } from 'vitest';
import { loadSqlParser } from '../../../src/core/sql-parse.ts';
import { crossReferences, expectation, planMatrix, rowsOutcome, verdictOf } from '../../../src/audit/matrix.ts';
import { resolveTenancy } from '../../../src/audit/tenancy.ts';
import { compareDrift, type NormalisedDeclaration } from '../../../src/audit/drift.ts';
import { toSarif } from '../../../src/audit/sarif.ts';
import { tenancy, policies } from '../../../policies/creatoros.ts';
import type { CatalogRelation } from '../../../src/audit/model.ts';

describe('tenancy map', () => {
  it('orders the CreatorOS tables parents first', () => {
    const t = resolveTenancy(tenancy, 'policies/creatoros.ts');
    expect(t.tables.map((x) => x.table)).toEqual(['public.content_projects', 'public.contents', 'public.audience_profiles', 'public.content_minds', 'public.content_tags']);
    expect(t.roles).toEqual({ anon: 'anon', authenticated: 'authenticated', service: 'service_role' });
  });

  it('reports every problem of a bad map at once', () => {
    expect(() => resolveTenancy({ root: { table: 'minds', userColumn: '' }, tables: [{ table: 'public.x', via: { column: 'y', parent: 'public.nowhere' } }], views: [{ view: 'public.v', of: 'public.z', key: 'id' }] }, 'map.ts'))
      .toThrow(/root.table must be schema-qualified.*root.userColumn is required.*public.x: parent "public.nowhere".*view public.v/);
  });
});

describe('isolation matrix expectations', () => {
  it('tenants reach their own rows only; service_role reaches everything; anon nothing', () => {
    expect(expectation('tenant-a', 'select-own', null)).toBe('allow');
    expect(expectation('tenant-b', 'select-other', null)).toBe('deny');
    expect(expectation('tenant-b', 'move-own-returning', null)).toBe('deny');
    expect(expectation('service_role', 'update-other', null)).toBe('allow');
    expect(expectation('anon', 'insert-other', null)).toBe('deny');
    expect(expectation('anon', 'select-own', null)).toBeNull();
  });

  it('published rows: readable as declared, and never a separate case for their owner', () => {
    expect(expectation('tenant-b', 'select-published', ['authenticated'])).toBe('allow');
    expect(expectation('anon', 'select-published', ['authenticated'])).toBe('deny');
    expect(expectation('tenant-a', 'select-published', ['authenticated'])).toBeNull();
    expect(expectation('tenant-b', 'select-published', null)).toBeNull();
  });

  it('plans every table x identity x operation, and only reads on views', () => {
    const cells = planMatrix(resolveTenancy(tenancy, 'x'));
    expect(cells.filter((c) => c.kind === 'view').every((c) => c.operation.startsWith('select-'))).toBe(true);
    expect(cells.filter((c) => c.relation === 'public.contents' && c.identity === 'tenant-b').map((c) => c.operation)).toEqual([
      'select-own', 'select-other', 'select-published', 'insert-own', 'insert-other', 'update-other', 'delete-other', 'move-own', 'move-own-returning',
    ]);
    expect(cells).toHaveLength(132);
  });

  it('references to the other tenant: planned for the tables whose foreign keys point into the map, tenants only', () => {
    expect(expectation('tenant-a', 'reference-other', null)).toBe('deny');
    expect(expectation('anon', 'reference-other', null)).toBeNull();
    expect(expectation('service_role', 'reference-other', null)).toBeNull();
    const t = resolveTenancy(tenancy, 'x');
    const ref = (table: string, column: string) => ({ table, column, constraint: `${table}_${column}_fkey` });
    const columns = new Map([
      ['public.content_projects', [{ name: 'creator_mind_id', references: [ref('public.minds', 'id')] }, { name: 'persona_mind_id', references: [ref('public.minds', 'id')] }]],
      // the composite key (project_id, parent_content_id) -> contents (project_id, id): project_id is the tenant column
      ['public.contents', [{ name: 'project_id', references: [ref('public.content_projects', 'id'), ref('public.contents', 'project_id')] }, { name: 'parent_content_id', references: [ref('public.contents', 'id')] }]],
      ['public.content_minds', [{ name: 'content_id', references: [ref('public.contents', 'id')] }, { name: 'mind_id', references: [ref('public.minds', 'id')] }, { name: 'role', references: [] }]],
      ['public.content_tags', [{ name: 'content_id', references: [ref('public.contents', 'id')] }, { name: 'tag', references: [ref('public.tags_outside_the_map', 'name')] }]],
    ]);
    const refs = crossReferences(t, columns);
    expect(refs.map((r) => `${r.table}.${r.column} -> ${r.target.table}.${r.target.column}`)).toEqual([
      'public.content_projects.persona_mind_id -> public.minds.id',
      'public.contents.parent_content_id -> public.contents.id',
      'public.content_minds.mind_id -> public.minds.id',
    ]);
    const cells = planMatrix(t, refs);
    expect(cells.filter((c) => c.operation === 'reference-other').map((c) => `${c.relation} ${c.identity}`)).toEqual([
      'public.content_projects tenant-a', 'public.content_projects tenant-b', 'public.contents tenant-a', 'public.contents tenant-b', 'public.content_minds tenant-a', 'public.content_minds tenant-b',
    ]);
    expect(cells).toHaveLength(138);
  });

  it('verdicts: more access than expected is a leak, less is blocked', () => {
    expect(verdictOf('deny', 'allow')).toBe('leak');
    expect(verdictOf('deny', 'partial')).toBe('leak');
    expect(verdictOf('allow', 'partial')).toBe('blocked');
    expect(verdictOf('allow', 'allow')).toBe('ok');
    expect(verdictOf('deny', 'error')).toBe('error');
    expect(rowsOutcome(0, 3)).toBe('deny');
    expect(rowsOutcome(1, 3)).toBe('partial');
    expect(rowsOutcome(3, 3)).toBe('allow');
  });
});

describe('policy drift', () => {
  beforeAll(async () => {
    await loadSqlParser();
  });
  const declared = policies.filter((p) => p.table === 'public.minds').map((policy): NormalisedDeclaration => ({ policy, file: 'policies/creatoros.ts', using: 'true', withCheck: null, error: null }));
  const minds = (live: CatalogRelation['policies']): CatalogRelation => ({ schema: 'public', name: 'minds', kind: 'table', owner: 'postgres', ownerBypassesRls: true, rls: true, forceRls: true, options: [], columns: [], indexLeadingColumns: [], policies: live, privileges: {}, schemaUsage: {} });
  const live = { name: 'minds_read_directory', command: 'SELECT' as const, permissive: true, roles: ['authenticated'], using: 'true', withCheck: null };

  it('is silent when the database matches', () => {
    expect(compareDrift(declared, [minds([live])])).toEqual([]);
  });
  it('finds missing, extra and changed policies', () => {
    expect(compareDrift(declared, [minds([])]).map((f) => f.rule)).toEqual(['policy-drift-missing']);
    const changed = compareDrift(declared, [minds([{ ...live, roles: ['anon', 'authenticated'], using: '(id IS NOT NULL)' }, { ...live, name: 'by_hand' }])]);
    expect(changed.map((f) => [f.rule, f.object])).toEqual([['policy-drift-changed', 'public.minds.minds_read_directory'], ['policy-drift-extra', 'public.minds.by_hand']]);
    expect(changed[0]?.message).toMatch(/roles anon, authenticated, declared authenticated; USING is \(\(id IS NOT NULL\)\), declared \(true\)/);
  });
});

describe('SARIF', () => {
  it('maps levels and carries rules, splinter names and locations', () => {
    const sarif = toSarif({
      version: '0.1.0',
      rules: [{ id: 'per-row-call', title: 't', description: 'd', level: 'warn', splinter: 'auth_rls_initplan' }],
      findings: [{ rule: 'per-row-call', level: 'warn', object: 'public.t.p', objectType: 'policy', message: 'm', fix: 'f', splinter: 'auth_rls_initplan' }],
      leaks: [],
      locate: (o) => (o === 'public.t.p' ? { uri: 'policies/x.ts', line: 3 } : null),
    }) as { runs: { results: { level: string; locations: { physicalLocation: { artifactLocation: { uri: string } } }[] }[]; tool: { driver: { rules: { id: string; properties: { splinter: string | null } }[] } } }[] };
    expect(sarif.runs[0]!.results[0]!.level).toBe('warning');
    expect(sarif.runs[0]!.results[0]!.locations[0]!.physicalLocation.artifactLocation.uri).toBe('policies/x.ts');
    expect(sarif.runs[0]!.tool.driver.rules.map((r) => r.id)).toEqual(['per-row-call', 'isolation-leak', 'matrix-unseedable']);
  });
});

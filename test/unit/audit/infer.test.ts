/** Tenancy inference from policies, helpers and foreign keys, and seed values from constraints. Pure (the parser is real). */
import { beforeAll, describe, expect, it } from 'vitest';
import { initParser, parseExpression } from '../../../src/audit/expr.ts';
import { inferTenancy, type InferInput, type InferTable } from '../../../src/audit/infer-tenancy.ts';
import { grantedExpectations } from '../../../src/audit/infer-expect.ts';
import { checkDomains, inventValue } from '../../../src/audit/seed-values.ts';
import { resolveTenancy } from '../../../src/audit/tenancy.ts';
import type { CatalogPolicy, CatalogRelation } from '../../../src/audit/model.ts';

beforeAll(async () => {
  await initParser();
});

const policy = (using: string | null, over: Partial<CatalogPolicy> = {}): CatalogPolicy => ({ name: 'p', command: 'SELECT', permissive: true, roles: ['authenticated'], using, withCheck: null, ...over });
const table = (name: string, over: Partial<InferTable> = {}): InferTable => ({
  table: name, rls: true, columns: ['id'], key: ['id'], unique: ['id'], foreignKeys: [], policies: [], ...over,
});
const fk = (column: string, references: string, referencedColumn = 'id') => ({ columns: [column], references, referencedColumns: [referencedColumn] });
const input = (tables: InferTable[], over: Partial<InferInput> = {}): InferInput => ({ tables, functions: [], views: [], usersTable: 'auth.users', roleValues: new Map(), ...over });

describe('inferTenancy', () => {
  it('a direct owner column hangs from the users table', () => {
    const out = inferTenancy(input([table('public.todos', { columns: ['id', 'user_id'], policies: [policy('(user_id = auth.uid())')] }), table('public.notes', { columns: ['id', 'owner'], policies: [policy("(owner = ((auth.jwt() ->> 'sub'::text))::uuid)")] })]), parseExpression);
    expect(out.map.root).toEqual({ table: 'auth.users', key: 'id', userColumn: 'id' });
    expect(out.map.tables).toEqual([
      { table: 'public.notes', via: { column: 'owner', parent: 'auth.users' } },
      { table: 'public.todos', via: { column: 'user_id', parent: 'auth.users' } },
    ]);
  });

  it('a membership read through a helper function: the group, its membership and role column, and the tables in it', () => {
    const members = table('public.members', { columns: ['team_id', 'user_id', 'role'], key: ['team_id', 'user_id'], unique: [], foreignKeys: [fk('team_id', 'public.teams'), fk('user_id', 'auth.users')], policies: [policy('is_member(team_id)')] });
    const out = inferTenancy(input(
      [
        table('public.teams', { columns: ['id', 'name'], policies: [policy('public.is_member(id)')] }),
        members,
        table('public.projects', { columns: ['id', 'team_id'], foreignKeys: [fk('team_id', 'public.teams')], policies: [policy('public.is_member(team_id)')] }),
        table('public.tasks', { columns: ['id', 'project_id'], foreignKeys: [fk('project_id', 'public.projects')], policies: [policy('(project_id IN ( SELECT p.id FROM public.projects p WHERE public.is_member(p.team_id)))')] }),
      ],
      {
        functions: [{ name: 'public.is_member', args: ['t'], language: 'sql', body: 'SELECT EXISTS (SELECT 1 FROM public.members m WHERE m.team_id = t AND m.user_id = auth.uid())' }],
        roleValues: new Map([['public.members.role', ['member', 'owner']]]),
      },
    ), parseExpression);
    expect(out.map.tables).toEqual([
      { table: 'public.members', via: { column: 'team_id', parent: 'public.teams' } },
      { table: 'public.projects', via: { column: 'team_id', parent: 'public.teams' } },
      { table: 'public.tasks', via: { column: 'project_id', parent: 'public.projects' } },
      { table: 'public.teams', members: { table: 'public.members', groupColumn: 'team_id', userColumn: 'user_id', role: { column: 'role', owner: 'owner', member: 'member' } } },
    ]);
    expect(out.notes['public.teams']).toMatch(/group: public.members links users \(user_id\)/);
    // the map it prints is one resolveTenancy accepts, groups first
    expect(resolveTenancy(out.map, 'inferred').tables.map((t) => t.table)).toEqual(['public.teams', 'public.members', 'public.projects', 'public.tasks']);
  });

  it('auth.uid() IN (SELECT user_id FROM members WHERE org = t.id) is a membership; a JWT claim other than sub is left out with why', () => {
    const out = inferTenancy(input([
      table('public.orgs', { policies: [policy('(auth.uid() IN ( SELECT membership.user_id FROM public.membership WHERE (membership.org_id = orgs.id)))')] }),
      table('public.membership', { columns: ['org_id', 'user_id'], key: ['org_id', 'user_id'], unique: [], rls: false, foreignKeys: [fk('org_id', 'public.orgs')] }),
      table('public.invoices', { columns: ['id', 'org_id'], policies: [policy("(org_id = ((auth.jwt() -> 'app_metadata'::text) ->> 'org_id'::text)::uuid)")] }),
    ]), parseExpression);
    expect(out.map.tables).toEqual([{ table: 'public.orgs', members: { table: 'public.membership', groupColumn: 'org_id', userColumn: 'user_id' } }]);
    expect(out.unplaced).toEqual([{ table: 'public.invoices', why: expect.stringMatching(/compare JWT claims \((org_id, app_metadata|app_metadata, org_id)\)/) }]);
  });

  it('the root is the one table a helper reads the user from, and a constant OR branch is a published row', () => {
    const out = inferTenancy(input([
      table('public.minds', { columns: ['id', 'user_id'], policies: [policy('true')] }),
      table('public.projects', { columns: ['id', 'mind_id'], policies: [policy('(mind_id = ( SELECT private.me() AS me))', { command: 'ALL' })] }),
      table('public.posts', { columns: ['id', 'project_id', 'status'], policies: [policy("((project_id IN ( SELECT p.id FROM public.projects p)) OR ((status = 'published'::text) AND (deleted_at IS NULL)))")] }),
    ], { functions: [{ name: 'private.me', args: [], language: 'plpgsql', body: 'BEGIN RETURN (SELECT m.id FROM public.minds m WHERE m.user_id = auth.uid()); END' }] }), parseExpression);
    expect(out.map.root).toEqual({ table: 'public.minds', key: 'id', userColumn: 'user_id' });
    expect(out.map.tables).toEqual([
      { table: 'public.posts', published: { values: { status: 'published' }, readableBy: ['authenticated'] }, via: { column: 'project_id', parent: 'public.projects' } },
      { table: 'public.projects', via: { column: 'mind_id', parent: 'public.minds' } },
    ]);
  });
});

describe('grantedExpectations (inferred maps)', () => {
  const rel = (over: Partial<CatalogRelation>): CatalogRelation => ({
    schema: 'public', name: 't', kind: 'table', owner: 'o', ownerBypassesRls: false, rls: true, forceRls: false, options: [], columns: [], indexLeadingColumns: [],
    policies: [], privileges: {}, schemaUsage: {}, ...over,
  });
  const all = { select: true, insert: true, update: true, delete: true, truncate: false, selectableColumns: [] };
  it('keeps an expected access only when the role is granted it and a policy admits it; deny cells always', () => {
    const keep = grantedExpectations([rel({ policies: [policy('true')], privileges: { authenticated: all, service_role: { ...all, insert: false } } })], { anon: 'anon', authenticated: 'authenticated', service: 'service_role' });
    const cell = (identity: 'tenant-a' | 'service_role' | 'anon', operation: 'select-own' | 'insert-own' | 'insert-other' | 'select-other', expected: 'allow' | 'deny') => ({ relation: 'public.t', kind: 'table' as const, identity, operation, expected });
    expect(keep(cell('tenant-a', 'select-own', 'allow'))).toBe(true);
    expect(keep(cell('tenant-a', 'insert-own', 'allow'))).toBe(false); // no INSERT policy
    expect(keep(cell('service_role', 'insert-other', 'allow'))).toBe(false); // not granted
    expect(keep(cell('anon', 'select-other', 'deny'))).toBe(true);
  });
});

describe('seed values', () => {
  it('reads the values a CHECK allows, its bounds and minimum lengths', () => {
    const d = checkDomains([
      "CHECK ((role = ANY (ARRAY['admin'::text, 'member'::text])))",
      'CHECK ((priority >= 1))',
      'CHECK ((length(title) > 3))',
      "CHECK ((kind = 'x'::text))",
      "CHECK ((code ~ '^[A-Z]{3}$'::text))",
    ]);
    expect(d.get('role')?.allowed).toEqual(['admin', 'member']);
    expect(d.get('priority')?.min).toBe(1);
    expect(d.get('title')?.minLength).toBe(4);
    expect(d.get('kind')?.allowed).toEqual(['x']);
    expect(d.has('code')).toBe(false);
  });

  it('rotates allowed values and enum labels, and makes values of each type', () => {
    const col = (type: string, category: string, enumLabels: string[] | null = null) => ({ name: 'c', type, category, enumLabels });
    expect([1, 2, 3].map((n) => inventValue(col('text', 'S'), { allowed: ['a', 'b'], min: null, minLength: null }, n, 'a'))).toEqual(['b', 'a', 'b']);
    expect(inventValue(col('public.state', 'E', ['open', 'closed']), undefined, 2, 'a')).toBe('open');
    expect(inventValue(col('character varying(8)', 'S'), undefined, 1, 'a')!.length).toBe(8);
    expect(inventValue(col('inet', 'I'), undefined, 1, 'a')).toBe('10.1.0.1');
    expect(inventValue(col('point', 'G'), undefined, 1, 'a')).toBeNull();
  });
});

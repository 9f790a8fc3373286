/**
 * Each lint rule on hand-built catalogs: a positive and a negative case per rule, without a
 * database (the same cases run on a real server in test/integration/rls-audit.test.ts).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { initParser } from '../../../src/audit/expr.ts';
import { lint } from '../../../src/audit/lint.ts';
import { RULES } from '../../../src/audit/rules/index.ts';
import { DEFAULT_API_ROLES, MANAGED_SCHEMAS, type AuditCatalog, type AuditSettings, type CatalogFunction, type CatalogPolicy, type CatalogRelation, type RolePrivileges } from '../../../src/audit/model.ts';
import { indexUsability } from '../../../src/audit/rules/policy-column-unindexed.ts';
import { parseExpression } from '../../../src/audit/expr.ts';

const settings: AuditSettings = { exposedSchemas: ['public'], managedSchemas: MANAGED_SCHEMAS, sensitive: [], privilegedRoles: [], roles: DEFAULT_API_ROLES };
const none: RolePrivileges = { select: false, insert: false, update: false, delete: false, truncate: false, selectableColumns: [] };
const all = (cols: string[]): RolePrivileges => ({ select: true, insert: true, update: true, delete: true, truncate: false, selectableColumns: cols });

function table(name: string, extra: Partial<CatalogRelation> = {}): CatalogRelation {
  const columns = (extra.columns ?? [{ name: 'id', type: 'int' }, { name: 'owner_id', type: 'uuid' }]);
  return {
    schema: 'public', name, kind: 'table', owner: 'postgres', ownerBypassesRls: true, rls: true, forceRls: false, options: [], columns,
    indexLeadingColumns: ['id', 'owner_id'], policies: [],
    privileges: { anon: none, authenticated: all(columns.map((c) => c.name)) }, schemaUsage: { anon: true, authenticated: true },
    ...extra,
  };
}

const policy = (p: Partial<CatalogPolicy>): CatalogPolicy => ({ name: 'p', command: 'ALL', permissive: true, roles: ['authenticated'], using: 'owner_id = ( SELECT auth.uid() AS uid)', withCheck: null, ...p });
const catalog = (relations: CatalogRelation[], extra: Partial<AuditCatalog> = {}): AuditCatalog => ({ relations, functions: [], roles: [], apiRolesPresent: ['anon', 'authenticated', 'service_role'], reach: { reads: [], publicRelations: [], publicSchemas: [] }, ...extra });
const rule = (id: string) => RULES.find((r) => r.id === id)!;
const objects = (id: string, c: AuditCatalog) => rule(id).check(c, settings).map((f) => f.object);

beforeAll(async () => {
  await initParser();
});

describe('lint rules on hand-built catalogs', () => {
  it('every rule declares a fixture hole and look-alike', () => {
    for (const r of RULES) {
      expect(r.fixture.hole.length, r.id).toBeGreaterThan(0);
      expect(r.fixture.safe.length, r.id).toBeGreaterThan(0);
    }
  });

  it('a well-formed tenant table has no finding at all', async () => {
    expect(await lint(catalog([table('ok', { policies: [policy({})], forceRls: true })]), settings)).toEqual([]);
  });

  it('rls-disabled-exposed', () => {
    expect(objects('rls-disabled-exposed', catalog([table('t', { rls: false })]))).toEqual(['public.t']);
    expect(objects('rls-disabled-exposed', catalog([table('t', { rls: false, privileges: { anon: none, authenticated: none } })]))).toEqual([]);
    expect(objects('rls-disabled-exposed', catalog([table('t', { rls: false, schema: 'internal' })]))).toEqual([]);
  });

  it('rls-disabled-reachable: outside the exposed schemas with USAGE and a grant; names the views and functions that read it', () => {
    const log = table('ip_log', { schema: 'ops', rls: false, privileges: { anon: { ...none, select: true, selectableColumns: ['id'] }, authenticated: none }, schemaUsage: { anon: true, authenticated: false } });
    const reads = [
      { reader: 'ops.v_inner', readerType: 'view' as const, readerSchema: 'ops', reads: 'ops.ip_log' },
      { reader: 'public.v_outer', readerType: 'view' as const, readerSchema: 'public', reads: 'ops.v_inner' },
      { reader: 'ops.helper(integer)', readerType: 'function' as const, readerSchema: 'ops', reads: 'ops.ip_log' },
      { reader: 'public.rpc()', readerType: 'function' as const, readerSchema: 'public', reads: 'ops.helper' },
      { reader: 'public.unrelated()', readerType: 'function' as const, readerSchema: 'public', reads: 'ops.other' },
    ];
    const found = rule('rls-disabled-reachable').check(catalog([log], { reach: { reads, publicRelations: ['ops.ip_log'], publicSchemas: [] } }), settings);
    expect(found.map((f) => [f.object, f.level])).toEqual([['ops.ip_log', 'warn']]);
    expect(found[0]!.message).toContain('read by public.rpc() (function), public.v_outer (view)');
    expect(found[0]!.message).not.toContain('unrelated');
    expect(found[0]!.fix).toContain('REVOKE ALL ON ops.ip_log FROM anon, PUBLIC');
    // no USAGE on the schema, no privilege, RLS on, an exposed schema (the other rule's), a managed schema: silent
    expect(objects('rls-disabled-reachable', catalog([{ ...log, schemaUsage: { anon: false, authenticated: false } }]))).toEqual([]);
    expect(objects('rls-disabled-reachable', catalog([{ ...log, privileges: { anon: none, authenticated: none } }]))).toEqual([]);
    expect(objects('rls-disabled-reachable', catalog([{ ...log, rls: true }]))).toEqual([]);
    expect(objects('rls-disabled-reachable', catalog([{ ...log, schema: 'public' }]))).toEqual([]);
    expect(objects('rls-disabled-reachable', catalog([{ ...log, schema: 'auth' }]))).toEqual([]);
    // and the exposed-schema rule does not claim a table outside the exposed schemas
    expect(objects('rls-disabled-exposed', catalog([log]))).toEqual([]);
    const alone = rule('rls-disabled-reachable').check(catalog([log]), settings);
    expect(alone[0]!.message).toContain('no view or SQL function in an exposed schema reads it yet');
    expect(alone[0]!.fix).toBe('ALTER TABLE ops.ip_log ENABLE ROW LEVEL SECURITY (no policy: API roles see no row), or REVOKE ALL ON ops.ip_log FROM anon, or REVOKE USAGE ON SCHEMA ops FROM anon');
  });

  it('policy-exists-rls-disabled and rls-enabled-no-policy', () => {
    expect(objects('policy-exists-rls-disabled', catalog([table('t', { rls: false, policies: [policy({})] })]))).toEqual(['public.t']);
    expect(objects('policy-exists-rls-disabled', catalog([table('t', { policies: [policy({})] })]))).toEqual([]);
    expect(objects('rls-enabled-no-policy', catalog([table('t')]))).toEqual(['public.t']);
    expect(objects('rls-enabled-no-policy', catalog([table('t', { policies: [policy({})] })]))).toEqual([]);
  });

  it('rls-not-forced only when the owner is subject to RLS', () => {
    expect(objects('rls-not-forced', catalog([table('t', { ownerBypassesRls: false, policies: [policy({})] })]))).toEqual(['public.t']);
    expect(objects('rls-not-forced', catalog([table('t', { ownerBypassesRls: false, forceRls: true, policies: [policy({})] })]))).toEqual([]);
    expect(objects('rls-not-forced', catalog([table('t', { policies: [policy({})] })]))).toEqual([]);
  });

  it('policy-always-true: writes are errors, an INSERT without WITH CHECK is not always true, a directory read is fine', () => {
    const f = rule('policy-always-true').check(catalog([table('t', { policies: [policy({ command: 'UPDATE', using: 'true' })] })]), settings);
    expect(f.map((x) => [x.object, x.level])).toEqual([['public.t.p', 'error']]);
    expect(objects('policy-always-true', catalog([table('t', { policies: [policy({ command: 'INSERT', using: null, withCheck: null })] })]))).toEqual([]);
    const directory = table('d', { columns: [{ name: 'id', type: 'int' }, { name: 'email', type: 'text' }], privileges: { anon: none, authenticated: { ...none, selectableColumns: ['id'] } }, policies: [policy({ command: 'SELECT', using: 'true' })] });
    expect(objects('policy-always-true', catalog([directory]))).toEqual([]);
    const exposed = { ...directory, privileges: { anon: none, authenticated: { ...none, select: true, selectableColumns: ['id', 'email'] } } };
    expect(rule('policy-always-true').check(catalog([exposed]), settings).map((x) => x.level)).toEqual(['warn']);
  });

  it('update-check-weaker: USING only is safe, a stricter check is safe, WITH CHECK (true) is not', () => {
    expect(objects('update-check-weaker', catalog([table('t', { policies: [policy({ command: 'UPDATE' })] })]))).toEqual([]);
    expect(objects('update-check-weaker', catalog([table('t', { policies: [policy({ using: "owner_id = ( SELECT auth.uid() AS uid) OR status = 'published'::text", withCheck: 'owner_id = ( SELECT auth.uid() AS uid)' })] })]))).toEqual([]);
    expect(rule('update-check-weaker').check(catalog([table('t', { policies: [policy({ withCheck: 'true' })] })]), settings).map((x) => x.level)).toEqual(['error']);
  });

  it('per-row-call also covers STABLE helpers', () => {
    const helper = { schema: 'private', name: 'tenant', args: '', argCount: 0, securityDefiner: true, pinnedSearchPath: true, volatility: 'stable' as const, language: 'sql', returnsTrigger: false, executableBy: [] };
    const c = catalog([table('t', { policies: [policy({ using: 'owner_id = private.tenant()' })] })], { functions: [helper] });
    expect(objects('per-row-call', c)).toEqual(['public.t.p']);
    expect(objects('per-row-call', catalog([table('t', { policies: [policy({})] })], { functions: [helper] }))).toEqual([]);
  });

  it('user-metadata-in-policy looks at JSON paths, not at text', () => {
    expect(objects('user-metadata-in-policy', catalog([table('t', { policies: [policy({ using: "team = ((auth.jwt() -> 'user_metadata'::text) ->> 'team'::text)" })] })]))).toEqual(['public.t.p']);
    expect(objects('user-metadata-in-policy', catalog([table('t', { policies: [policy({ using: "note <> 'user_metadata'::text" })] })]))).toEqual([]);
  });

  it('views and materialized views', () => {
    const view = table('v', { kind: 'view', rls: false });
    expect(objects('view-bypasses-rls', catalog([view]))).toEqual(['public.v']);
    expect(objects('view-bypasses-rls', catalog([{ ...view, options: ['security_invoker=true'] }]))).toEqual([]);
    const mv = table('m', { kind: 'materialized view', rls: false });
    expect(objects('materialized-view-exposed', catalog([mv]))).toEqual(['public.m']);
    expect(objects('materialized-view-exposed', catalog([{ ...mv, privileges: { anon: none, authenticated: none } }]))).toEqual([]);
  });

  it('functions: definer exposure by schema and grant, mutable search_path outside managed schemas', () => {
    const fn = { schema: 'public', name: 'f', args: '', argCount: 0, securityDefiner: true, pinnedSearchPath: true, volatility: 'volatile' as const, language: 'sql', returnsTrigger: false, executableBy: ['authenticated', 'public'] };
    expect(objects('security-definer-exposed', catalog([], { functions: [fn] }))).toEqual(['public.f()']);
    expect(objects('security-definer-exposed', catalog([], { functions: [{ ...fn, schema: 'private' }] }))).toEqual([]);
    expect(objects('function-search-path-mutable', catalog([], { functions: [{ ...fn, pinnedSearchPath: false }] }))).toEqual(['public.f()']);
    expect(objects('function-search-path-mutable', catalog([], { functions: [{ ...fn, schema: 'auth', pinnedSearchPath: false }] }))).toEqual([]);
  });

  it('anon-write-grant and privileged-role', () => {
    expect(objects('anon-write-grant', catalog([table('t', { privileges: { anon: { ...none, insert: true } } })]))).toEqual(['public.t']);
    expect(objects('anon-write-grant', catalog([table('t', { privileges: { anon: { ...none, select: true } } })]))).toEqual([]);
    const roles = [{ name: 'etl', superuser: false, bypassRls: true, canLogin: true }, { name: 'service_role', superuser: false, bypassRls: true, canLogin: false }];
    expect(objects('privileged-role', catalog([], { roles }))).toEqual(['etl']);
    expect(rule('privileged-role').check(catalog([], { roles }), { ...settings, privilegedRoles: ['etl'] })).toEqual([]);
  });

  it('privileged-role quotes a role named by a reserved word, as the fix line is pasted into psql (issue 9.13)', () => {
    // A BYPASSRLS role is cluster-wide: created on a shared test server it would be a finding in
    // every other audit running at the same time, so the hostile name is tested here, on the rule.
    const roles = [{ name: 'user', superuser: false, bypassRls: true, canLogin: false }, { name: 'a"; drop role postgres; --', superuser: true, bypassRls: false, canLogin: true }];
    const fixes = rule('privileged-role').check(catalog([], { roles }), settings).map((f) => f.fix);
    expect(fixes).toEqual([
      'ALTER ROLE "user" NOBYPASSRLS, or list it in DBKIT_PRIVILEGED_ROLES if it is an admin role by design',
      'ALTER ROLE "a""; drop role postgres; --" NOSUPERUSER, or list it in DBKIT_PRIVILEGED_ROLES if it is an admin role by design',
    ]);
  });

  it('policy-column-unindexed: AND needs one indexed part, OR needs all arms', () => {
    const indexed = (c: string) => c === 'owner_id' || c === 'status';
    expect(indexUsability(parseExpression("owner_id = 1 OR (status = 'published' AND deleted_at IS NULL)"), indexed)).toEqual({ kind: 'ok' });
    expect(indexUsability(parseExpression("owner_id = 1 OR deleted_at IS NULL"), indexed)).toEqual({ kind: 'missing', columns: ['deleted_at'] });
    expect(indexUsability(parseExpression('true'), indexed)).toEqual({ kind: 'none' });
    expect(objects('policy-column-unindexed', catalog([table('t', { indexLeadingColumns: ['id'], policies: [policy({})] })]))).toEqual(['public.t.p']);
  });

  it('multiple-permissive-policies: ALL counts for every command, RESTRICTIVE does not', () => {
    const two = [policy({ name: 'a', command: 'SELECT' }), policy({ name: 'b', command: 'ALL' })];
    expect(objects('multiple-permissive-policies', catalog([table('t', { policies: two })]))).toEqual(['public.t']);
    const shape = [policy({ name: 'a', command: 'ALL' }), policy({ name: 'b', command: 'UPDATE', permissive: false }), policy({ name: 'c', command: 'DELETE', permissive: false })];
    expect(objects('multiple-permissive-policies', catalog([table('t', { policies: shape })]))).toEqual([]);
    const perRole = [policy({ name: 'a', command: 'SELECT', roles: ['anon'] }), policy({ name: 'b', command: 'SELECT', roles: ['authenticated'] })];
    expect(objects('multiple-permissive-policies', catalog([table('t', { policies: perRole })]))).toEqual([]);
  });

  it('policy-helper-cost: a SQL helper with SECURITY DEFINER or SET is replanned; a helper the nested table calls again runs twice', () => {
    const fn = (name: string, extra: Partial<CatalogFunction> = {}): CatalogFunction => ({ schema: 'private', name, args: '', argCount: 0, securityDefiner: true, pinnedSearchPath: true, volatility: 'stable', language: 'sql', returnsTrigger: false, executableBy: ['authenticated'], ...extra });
    const own = (helper: string) => policy({ using: `owner_id = ( SELECT ${helper}() AS x)` });
    const sqlHelper = catalog([table('t', { policies: [own('private.mind')] })], { functions: [fn('mind')] });
    const [f] = rule('policy-helper-cost').check(sqlHelper, settings);
    expect([f?.object, f?.level]).toEqual(['public.t.p', 'info']);
    expect(f?.message).toContain('private.mind() is planned again on every call');
    expect(f?.fix).toContain('PL/pgSQL');
    // PL/pgSQL caches its plans; a plain SQL helper (no SET, invoker) is inlined; auth.* is the platform's
    expect(objects('policy-helper-cost', catalog([table('t', { policies: [own('private.mind')] })], { functions: [fn('mind', { language: 'plpgsql' })] }))).toEqual([]);
    expect(objects('policy-helper-cost', catalog([table('t', { policies: [own('private.mind')] })], { functions: [fn('mind', { securityDefiner: false, pinnedSearchPath: false })] }))).toEqual([]);
    expect(objects('policy-helper-cost', catalog([table('t', { policies: [own('auth.uid')] })], { functions: [fn('uid', { schema: 'auth' })] }))).toEqual([]);

    // nested RLS: the parent's policy calls the same PL/pgSQL helper the child's policy calls
    const plpgsql = [fn('team', { language: 'plpgsql' })];
    const parent = table('parent', { policies: [policy({ name: 'pp', using: 'team = ( SELECT private.team() AS team)' })] });
    const child = (using: string, parentRls = true) =>
      catalog([{ ...parent, rls: parentRls }, table('child', { policies: [policy({ name: 'cp', using })] })], { functions: plpgsql });
    const nestedUsing = 'team = ( SELECT private.team() AS team) AND parent_id = ANY (ARRAY( SELECT x.id FROM public.parent x))';
    const nested = rule('policy-helper-cost').check(child(nestedUsing), settings);
    expect(nested.map((x) => x.object)).toEqual(['public.child.cp']);
    expect(nested[0]?.message).toContain('private.team() runs again in the policies of public.parent');
    // the parent without RLS, or a child that does not call the helper itself: one run each
    expect(objects('policy-helper-cost', child(nestedUsing, false))).toEqual([]);
    expect(objects('policy-helper-cost', child('parent_id = ANY (ARRAY( SELECT x.id FROM public.parent x))'))).toEqual([]);
  });
});

describe('IN (SELECT ...) inside an OR', () => {
  it('is not index-usable, while = ANY (ARRAY(SELECT ...)) and a lone IN are', () => {
    const indexed = () => true;
    expect(indexUsability(parseExpression('team_id IN (SELECT s.id FROM s) OR public = true'), indexed)).toEqual({ kind: 'subplan', columns: ['team_id'] });
    expect(indexUsability(parseExpression('team_id = ANY (ARRAY(SELECT s.id FROM s)) OR public = true'), indexed)).toEqual({ kind: 'ok' });
    expect(indexUsability(parseExpression('team_id IN (SELECT s.id FROM s)'), indexed)).toEqual({ kind: 'ok' });
    expect(indexUsability(parseExpression('(team_id IN (SELECT s.id FROM s) AND a = 1) OR public = true'), indexed)).toEqual({ kind: 'ok' });
  });
});

import { describe, expect, it } from 'vitest';
import { CHECK_KINDS, rolesMentioned, validate, type Check, type ExpectationSet, type Observed, type RoleFacts } from '../../../src/core/validation.ts';
import type { FunctionSnapshot } from '../../../src/core/fingerprint.ts';
import { column, relation, snapshot } from './snapshots.ts';

const fn = (name: string): FunctionSnapshot => ({ name, kind: 'f', result: 'uuid', language: 'sql', volatility: 's', securityDefiner: false, config: [], owner: 'postgres', sourceMd5: 'x', grants: [] });
const policy = (name: string) => ({ name, permissive: true, command: 'r', roles: ['authenticated'], using: 'true', check: null });

const OBSERVED: Observed = {
  snapshot: snapshot({
    relations: [
      relation('public.content_projects', {
        rls: true,
        forceRls: true,
        columns: [column('id', 'uuid'), column('creator_mind_id', 'uuid')],
        indexes: [
          { name: 'idx_content_projects_creator_mind', def: 'CREATE INDEX ...', valid: true },
          { name: 'idx_content_projects_persona_mind', def: 'CREATE INDEX ...', valid: false },
        ],
        policies: [policy('a'), policy('b')],
        constraints: [{ name: 'content_projects_pkey', type: 'p', def: 'PRIMARY KEY (id)' }],
        grants: ['postgres:SELECT', 'anon:SELECT', 'authenticated:INSERT*'],
      }),
      relation('public.contents', { rls: true, forceRls: false, policies: [policy('c')] }),
      relation('public.v_contents', { kind: 'v', options: ['security_invoker=true'] }),
      relation('public.v_plain', { kind: 'v' }),
    ],
    functions: [fn('auth.uid()'), fn('private.current_mind_id()')],
  }),
  roles: [
    { name: 'anon', bypassRls: false, superuser: false },
    { name: 'service_role', bypassRls: true, superuser: false },
    { name: 'authenticated', bypassRls: false, superuser: false },
    { name: 'postgres', bypassRls: false, superuser: true },
  ] satisfies RoleFacts[],
};

/** The kinds the tests of this file exercised: a kind nobody tests fails the last test below. */
const exercised = new Set<string>();

function run(check: Check) {
  exercised.add(check.kind);
  const [result] = validate({ m: { applied: [check], reverted: [] } }, [{ migration: 'm', when: 'applied' }], OBSERVED);
  return result && { ok: result.ok, expected: result.expected, actual: result.actual };
}

describe('validate: every kind of check', () => {
  it('relations: present and absent', () => {
    expect(run({ kind: 'relations', label: 'l', names: ['public.contents', 'public.v_contents'], present: true })).toEqual({ ok: true, expected: '2/2', actual: '2/2' });
    expect(run({ kind: 'relations', label: 'l', names: ['public.contents', 'public.minds'], present: true })).toEqual({ ok: false, expected: '2/2', actual: '1/2' });
    expect(run({ kind: 'relations', label: 'l', names: ['public.minds'], present: false })).toEqual({ ok: true, expected: '1/1', actual: '1/1' });
    expect(run({ kind: 'relations', label: 'l', names: ['public.contents'], present: false })).toEqual({ ok: false, expected: '1/1', actual: '0/1' });
  });

  it('columns: present and absent, and a missing table has no columns', () => {
    expect(run({ kind: 'columns', label: 'l', table: 'public.content_projects', columns: ['creator_mind_id', 'persona_mind_id'], present: true })).toEqual({ ok: false, expected: '2/2', actual: '1/2' });
    expect(run({ kind: 'columns', label: 'l', table: 'public.content_projects', columns: ['persona_mind_id'], present: false })).toEqual({ ok: true, expected: '1/1', actual: '1/1' });
    expect(run({ kind: 'columns', label: 'l', table: 'public.nope', columns: ['id'], present: true })).toEqual({ ok: false, expected: '1/1', actual: '0/1' });
    expect(run({ kind: 'columns', label: 'l', table: 'public.nope', columns: ['id'], present: false })).toEqual({ ok: true, expected: '1/1', actual: '1/1' });
  });

  it('indexes: present means present and valid; absent means not there at all', () => {
    const names = ['public.idx_content_projects_creator_mind', 'public.idx_content_projects_persona_mind'];
    expect(run({ kind: 'indexes', label: 'l', names, present: true })).toEqual({ ok: false, expected: '2/2', actual: '1/2' });
    expect(run({ kind: 'indexes', label: 'l', names: [names[0]!], present: true })).toEqual({ ok: true, expected: '1/1', actual: '1/1' });
    // an invalid index is still there: it is not "gone"
    expect(run({ kind: 'indexes', label: 'l', names: [names[1]!, 'public.idx_gone'], present: false })).toEqual({ ok: false, expected: '2/2', actual: '1/2' });
    // the schema is the table's schema, not any schema
    expect(run({ kind: 'indexes', label: 'l', names: ['private.idx_content_projects_creator_mind'], present: true })).toEqual({ ok: false, expected: '1/1', actual: '0/1' });
  });

  it('rls: enabled and forced must both match; a missing table fails', () => {
    expect(run({ kind: 'rls', label: 'l', tables: ['public.content_projects'], enabled: true, forced: true })).toEqual({ ok: true, expected: '1/1', actual: '1/1' });
    expect(run({ kind: 'rls', label: 'l', tables: ['public.content_projects', 'public.contents', 'public.minds'], enabled: true, forced: true })).toEqual({ ok: false, expected: '3/3', actual: '1/3' });
    expect(run({ kind: 'rls', label: 'l', tables: ['public.v_plain'], enabled: false, forced: false })).toEqual({ ok: true, expected: '1/1', actual: '1/1' });
  });

  it('policyCount: sums policies over the tables, missing tables count 0', () => {
    expect(run({ kind: 'policyCount', label: 'l', tables: ['public.content_projects', 'public.contents', 'public.minds'], count: 3 })).toEqual({ ok: true, expected: '3', actual: '3' });
    expect(run({ kind: 'policyCount', label: 'l', tables: ['public.content_projects'], count: 7 })).toEqual({ ok: false, expected: '7', actual: '2' });
  });

  it('viewOption: set, not set, view missing', () => {
    expect(run({ kind: 'viewOption', label: 'l', view: 'public.v_contents', option: 'security_invoker=true', present: true })).toEqual({ ok: true, expected: 'security_invoker=true', actual: 'security_invoker=true' });
    expect(run({ kind: 'viewOption', label: 'l', view: 'public.v_plain', option: 'security_invoker=true', present: true })).toEqual({ ok: false, expected: 'security_invoker=true', actual: 'option not set' });
    expect(run({ kind: 'viewOption', label: 'l', view: 'public.v_gone', option: 'security_invoker=true', present: true })).toEqual({ ok: false, expected: 'security_invoker=true', actual: 'view missing' });
    expect(run({ kind: 'viewOption', label: 'l', view: 'public.v_plain', option: 'security_invoker=true', present: false })).toEqual({ ok: true, expected: 'no security_invoker=true', actual: 'option not set' });
  });

  it('functions: by identity signature, present and absent', () => {
    expect(run({ kind: 'functions', label: 'l', signatures: ['auth.uid()', 'auth.jwt()'], present: true })).toEqual({ ok: false, expected: '2/2', actual: '1/2' });
    expect(run({ kind: 'functions', label: 'l', signatures: ['auth.jwt()'], present: false })).toEqual({ ok: true, expected: '1/1', actual: '1/1' });
  });

  it('noGrant: lists each offending grant, with or without grant option', () => {
    expect(run({ kind: 'noGrant', label: 'l', grantee: 'anon', relations: ['public.content_projects', 'public.contents'], privileges: ['SELECT', 'INSERT'] })).toEqual({
      ok: false,
      expected: 'none',
      actual: 'public.content_projects anon:SELECT',
    });
    expect(run({ kind: 'noGrant', label: 'l', grantee: 'authenticated', relations: ['public.content_projects'], privileges: ['INSERT'] })).toEqual({
      ok: false,
      expected: 'none',
      actual: 'public.content_projects authenticated:INSERT*',
    });
    expect(run({ kind: 'noGrant', label: 'l', grantee: 'anon', relations: ['public.content_projects', 'public.gone'], privileges: ['DELETE'] })).toEqual({ ok: true, expected: 'none', actual: 'none' });
  });

  it('roles: exist, with BYPASSRLS when asked (a superuser bypasses anyway)', () => {
    expect(run({ kind: 'roles', label: 'l', roles: [{ name: 'anon' }, { name: 'service_role', bypassRls: true }] })).toEqual({ ok: true, expected: '2/2', actual: '2/2' });
    expect(run({ kind: 'roles', label: 'l', roles: [{ name: 'authenticated', bypassRls: true }, { name: 'ghost' }] })).toEqual({ ok: false, expected: '2/2', actual: '0/2' });
    expect(run({ kind: 'roles', label: 'l', roles: [{ name: 'postgres', bypassRls: true }, { name: 'anon', bypassRls: false }] })).toEqual({ ok: true, expected: '2/2', actual: '2/2' });
  });

  it('policies and constraints: each named one present (or each absent) on its table', () => {
    expect(run({ kind: 'policies', label: 'l', table: 'public.content_projects', names: ['a', 'b'], present: true })).toEqual({ ok: true, expected: '2/2', actual: '2/2' });
    expect(run({ kind: 'policies', label: 'l', table: 'public.content_projects', names: ['a', 'z'], present: false })).toEqual({ ok: false, expected: '2/2', actual: '1/2' });
    expect(run({ kind: 'constraints', label: 'l', table: 'public.content_projects', names: ['content_projects_pkey'], present: true })).toEqual({ ok: true, expected: '1/1', actual: '1/1' });
    expect(run({ kind: 'constraints', label: 'l', table: 'public.gone', names: ['x_fkey'], present: true })).toEqual({ ok: false, expected: '1/1', actual: '0/1' });
  });

  it('has a test above for each kind there is', () => {
    expect([...exercised].sort()).toEqual([...CHECK_KINDS].sort());
  });

  it('throws on a kind nobody handles (the switch ends in never)', () => {
    const bogus = { kind: 'triggers', label: 'l' } as unknown as Check;
    expect(() => run(bogus)).toThrow('unknown check {"kind":"triggers","label":"l"}');
  });
});

describe('validate: targets', () => {
  const expectations: ExpectationSet = {
    first: {
      applied: [{ kind: 'relations', label: 'contents exist', names: ['public.contents'], present: true }],
      reverted: [{ kind: 'relations', label: 'contents gone', names: ['public.contents'], present: false }],
    },
    second: {
      applied: [
        { kind: 'policyCount', label: '3 policies', tables: ['public.content_projects', 'public.contents'], count: 3 },
        { kind: 'roles', label: 'service_role', roles: [{ name: 'service_role', bypassRls: true }] },
      ],
      reverted: [],
    },
  };

  it('evaluates the applied checks of applied migrations and the reverted checks of reverted ones, in order', () => {
    const results = validate(expectations, [{ migration: 'second', when: 'applied' }, { migration: 'first', when: 'reverted' }, { migration: 'first', when: 'applied' }], OBSERVED);
    expect(results).toEqual([
      { label: '3 policies', kind: 'policyCount', migration: 'second', when: 'applied', ok: true, expected: '3', actual: '3' },
      { label: 'service_role', kind: 'roles', migration: 'second', when: 'applied', ok: true, expected: '1/1', actual: '1/1' },
      { label: 'contents gone', kind: 'relations', migration: 'first', when: 'reverted', ok: false, expected: '1/1', actual: '0/1' },
      { label: 'contents exist', kind: 'relations', migration: 'first', when: 'applied', ok: true, expected: '1/1', actual: '1/1' },
    ]);
  });

  it('shows a check two migrations declare alike once, as the later one\'s; a check that differs stays', () => {
    const restated: ExpectationSet = {
      ...expectations,
      third: {
        applied: [
          { kind: 'policyCount', label: '3 policies', tables: ['public.content_projects', 'public.contents'], count: 3 },
          { kind: 'policyCount', label: '3 policies', tables: ['public.contents'], count: 3 },
        ],
        reverted: [],
      },
    };
    const results = validate(restated, [{ migration: 'second', when: 'applied' }, { migration: 'third', when: 'applied' }], OBSERVED);
    expect(results.map((r) => [r.label, r.migration])).toEqual([
      ['service_role', 'second'],
      ['3 policies', 'third'],
      ['3 policies', 'third'],
    ]);
    expect(results.filter((r) => r.label === '3 policies').map((r) => r.ok)).toEqual([true, false]);
  });

  it('skips migrations without expectations and states without checks', () => {
    expect(validate(expectations, [{ migration: 'unknown', when: 'applied' }, { migration: 'second', when: 'reverted' }], OBSERVED)).toEqual([]);
  });
});

describe('rolesMentioned', () => {
  it('collects each role named by a roles check, applied or reverted, once', () => {
    const set: ExpectationSet = {
      a: { applied: [{ kind: 'roles', label: 'l', roles: [{ name: 'anon' }, { name: 'service_role', bypassRls: true }] }], reverted: [{ kind: 'roles', label: 'l', roles: [{ name: 'old_role' }] }] },
      b: { applied: [{ kind: 'roles', label: 'l', roles: [{ name: 'anon' }] }, { kind: 'relations', label: 'l', names: ['public.x'], present: true }], reverted: [] },
    };
    expect(rolesMentioned(set)).toEqual(['anon', 'service_role', 'old_role']);
  });
});

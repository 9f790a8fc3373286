/** The evidence a matrix cell carries: identities, the reproduction as psql runs it, the fix. Pure. */
import { describe, expect, it } from 'vitest';
import { actingAs, fixFor, identitiesOf, impersonationSql, inlineParams, reproduction, statementLines } from '../../../src/audit/evidence.ts';
import { resolveTenancy } from '../../../src/audit/tenancy.ts';
import { tenancy as creatorosMap } from '../../../policies/creatoros.ts';
import type { MatrixCell } from '../../../src/audit/matrix.ts';

const tenancy = resolveTenancy(creatorosMap, 'policies/creatoros.ts');
const cell = (over: Partial<MatrixCell>): MatrixCell => ({
  relation: 'public.contents', table: 'public.contents', kind: 'table', identity: 'tenant-a', operation: 'insert-other', expected: 'deny', actual: 'allow',
  detail: 'row inserted into tenant B', verdict: 'leak', identities: [], reproduction: '', fix: '', ...over,
});

describe('identitiesOf', () => {
  it('names the actor first, then whose rows it aimed at', () => {
    expect(identitiesOf({ identity: 'tenant-a', operation: 'insert-other' })).toEqual(['tenant-a', 'tenant-b']);
    expect(identitiesOf({ identity: 'tenant-b', operation: 'select-published' })).toEqual(['tenant-b', 'tenant-a']);
    expect(identitiesOf({ identity: 'tenant-a', operation: 'select-own' })).toEqual(['tenant-a']);
    expect(identitiesOf({ identity: 'anon', operation: 'select-other' })).toEqual(['anon', 'tenant-a', 'tenant-b']);
    expect(identitiesOf({ identity: 'service_role', operation: 'insert-other' })).toEqual(['service_role', 'tenant-a']);
  });
});

describe('inlineParams', () => {
  it('puts literals where the placeholders are, and leaves a "$1" inside a quoted name alone', () => {
    expect(inlineParams('INSERT INTO public."a$1""b" ("$2", c) VALUES ($1::text, $2::uuid, $10::int)', ["it's", null, ...Array(7).fill('x'), '5']))
      .toBe(`INSERT INTO public."a$1""b" ("$2", c) VALUES ('it''s'::text, NULL::uuid, '5'::int)`);
  });
});

describe('reproduction', () => {
  it('is BEGIN, the seed, the impersonation, the probe and ROLLBACK; comments cannot be broken out of', () => {
    const acting = actingAs('tenant-a', tenancy, { a: '11111111-1111-4111-8111-111111111111', b: '22222222-2222-4222-8222-222222222222' });
    const sql = reproduction({
      cell: cell({ detail: 'evil\nDROP TABLE public.x; --' }),
      seed: ["INSERT INTO public.minds (id) VALUES ('1'::uuid)"],
      acting,
      statement: { kind: 'rows', sql: "INSERT INTO public.contents AS dbkit_row (title) VALUES ('t'::text)", targeted: 1 },
    });
    const lines = sql.split('\n');
    expect(lines.filter((l) => !l.startsWith('--'))).toEqual([
      'BEGIN;',
      "INSERT INTO public.minds (id) VALUES ('1'::uuid);",
      'SET LOCAL ROLE authenticated;',
      `SET LOCAL request.jwt.claims = '{"sub":"11111111-1111-4111-8111-111111111111","role":"authenticated","aud":"authenticated"}';`,
      "SET LOCAL request.jwt.claim.sub = '';",
      "SET LOCAL request.jwt.claim.role = '';",
      "INSERT INTO public.contents AS dbkit_row (title) VALUES ('t'::text);",
      'ROLLBACK;',
    ]);
    expect(lines[0]).toContain('evil\\x0aDROP TABLE');
  });

  it('moves through a cursor; references try the other tenant and an unknown id, each rolled back to a savepoint', () => {
    expect(statementLines({ kind: 'move', cursor: 'SELECT 1 FROM t WHERE id IN (1) FOR UPDATE', sql: 'UPDATE t SET p = 2 WHERE CURRENT OF dbkit_move' }))
      .toEqual(['DECLARE dbkit_move CURSOR FOR SELECT 1 FROM t WHERE id IN (1) FOR UPDATE;', 'FETCH dbkit_move;', 'UPDATE t SET p = 2 WHERE CURRENT OF dbkit_move;']);
    const refs = statementLines({ kind: 'references', attempts: [{ column: 'p', theirs: 'INSERT 1', unknown: 'INSERT 2' }] }).filter((l) => !l.startsWith('--'));
    expect(refs).toEqual(['SAVEPOINT dbkit_ref;', 'INSERT 1;', 'ROLLBACK TO SAVEPOINT dbkit_ref;', 'SAVEPOINT dbkit_ref;', 'INSERT 2;', 'ROLLBACK TO SAVEPOINT dbkit_ref;']);
  });

  it('quotes a hostile role name', () => {
    expect(impersonationSql({ role: 'we"ird', claims: "{\"x\":\"'\"}" }).slice(0, 2)).toEqual(['SET LOCAL ROLE "we""ird";', `SET LOCAL request.jwt.claims = '{"x":"''"}';`]);
  });
});

describe('fixFor', () => {
  it('says nothing when the cell is as expected, and what to change otherwise', () => {
    expect(fixFor(cell({ verdict: 'ok' }), tenancy)).toBe('');
    expect(fixFor(cell({}), tenancy)).toBe('the INSERT policies on public.contents accept a row of another tenant: WITH CHECK (project_id IN (SELECT id FROM public.content_projects))');
    expect(fixFor(cell({ relation: 'public.content_projects', operation: 'move-own' }), tenancy)).toContain('WITH CHECK (creator_mind_id IN (SELECT id FROM public.minds WHERE user_id = (select auth.uid())))');
    expect(fixFor(cell({ identity: 'anon', operation: 'select-other' }), tenancy)).toBe('anon must not SELECT public.contents: REVOKE SELECT ON public.contents FROM anon, or restrict its SELECT policies to authenticated (TO authenticated)');
    expect(fixFor(cell({ relation: 'public.v_contents_with_creators', kind: 'view', operation: 'select-other' }), tenancy)).toContain('SET (security_invoker = true)');
    expect(fixFor(cell({ operation: 'insert-own', expected: 'allow', actual: 'deny', verdict: 'blocked' }), tenancy)).toContain('GRANT INSERT ON public.contents TO authenticated');
    expect(fixFor(cell({ operation: 'reference-other', detail: 'x refused (23503) unlike an unknown id (42501): an existence oracle', actual: 'partial' }), tenancy)).toContain('existence oracle');
  });
});

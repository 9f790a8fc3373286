import { beforeAll, describe, expect, it } from 'vitest';
import { callSites, constantTruth, implies, initParser, outerColumns, parseExpression, ExpressionSyntaxError } from '../../../src/audit/expr.ts';

beforeAll(async () => {
  await initParser();
});

describe('parseExpression (libpg_query)', () => {
  it('finds the bare call next to a wrapped one', () => {
    const calls = callSites(parseExpression('(select auth.uid()) = a OR auth.uid() = b'));
    expect(calls.map((c) => [c.name, c.wrapped])).toEqual([['auth.uid', true], ['auth.uid', false]]);
  });

  it('treats calls inside a sub-select with FROM as per row unless wrapped there too', () => {
    const e = parseExpression('project_id IN (SELECT p.id FROM public.content_projects p WHERE p.creator_mind_id = ( SELECT private.current_mind_id() AS current_mind_id))');
    expect(callSites(e).map((c) => [c.name, c.wrapped])).toEqual([['private.current_mind_id', true]]);
    const bare = parseExpression('project_id IN (SELECT p.id FROM public.content_projects p WHERE p.owner = auth.uid())');
    expect(callSites(bare).map((c) => c.wrapped)).toEqual([false]);
  });

  it('an ARRAY(SELECT f()) without FROM is computed once per statement, like (SELECT f())', () => {
    const e = parseExpression('mind_id = ANY (ARRAY(SELECT private.persona_mind_ids())) OR mind_id = ANY (ARRAY(SELECT m.id FROM public.minds m WHERE m.owner = auth.uid()))');
    expect(callSites(e).map((c) => [c.name, c.wrapped])).toEqual([['private.persona_mind_ids', true], ['auth.uid', false]]);
  });

  it('marks calls whose arguments use columns', () => {
    expect(callSites(parseExpression("lower(email) = current_setting('app.email', true)")).map((c) => [c.name, c.usesColumns])).toEqual([['lower', true], ['current_setting', false]]);
  });

  it('rejects what is not one expression', () => {
    expect(() => parseExpression('1; DROP TABLE x')).toThrow(ExpressionSyntaxError);
    expect(() => parseExpression('(((')).toThrow(ExpressionSyntaxError);
  });
});

describe('constantTruth', () => {
  it.each([
    ['true', true], ['(1 = 1)', true], ["('a'::text = 'a'::text)", true], ["'t'::boolean", true], ['NOT false', true], ['true OR owner = 1', true],
    ['false', false], ['1 = 2', false], ['true AND false', false],
  ])('%s is always %s', (text, value) => {
    expect(constantTruth(parseExpression(text))).toBe(value);
  });

  it.each(['owner = 1', 'auth.uid() IS NOT NULL', '(SELECT true)', 'owner = owner', 'true AND owner = 1'])('%s depends on the row or caller', (text) => {
    expect(constantTruth(parseExpression(text))).toBeNull();
  });
});

describe('implies', () => {
  const p = (t: string) => parseExpression(t);
  it('sees that a check narrower than USING implies it', () => {
    expect(implies(p("owner = (SELECT auth.uid())"), p("owner = (SELECT auth.uid()) OR status = 'published'"))).toBe(true);
    expect(implies(p("owner = (SELECT auth.uid()) AND status <> 'locked'"), p('owner = (SELECT auth.uid())'))).toBe(true);
    expect(implies(p('owner = auth.uid()'), p('owner = (SELECT auth.uid())'))).toBe(true);
  });
  it('does not prove a weaker check', () => {
    expect(implies(p('true'), p('owner = (SELECT auth.uid())'))).toBe(false);
    expect(implies(p('owner IS NOT NULL'), p('owner = (SELECT auth.uid())'))).toBe(false);
    expect(implies(p("owner = (SELECT auth.uid()) OR status = 'published'"), p('owner = (SELECT auth.uid())'))).toBe(false);
  });
});

describe('outerColumns', () => {
  it('collects the policy table columns, not those of sub-selects', () => {
    const e = parseExpression("project_id IN (SELECT p.id FROM public.content_projects p WHERE p.creator_mind_id = x) OR (status = 'published' AND deleted_at IS NULL)");
    expect([...outerColumns(e)].sort()).toEqual(['deleted_at', 'project_id', 'status']);
  });
});

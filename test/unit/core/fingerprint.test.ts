import { describe, expect, it } from 'vitest';
import { canonicalJson, diffSnapshots, fingerprintOf, formatDifference } from '../../../src/core/fingerprint.ts';
import { column, relation, snapshot } from './snapshots.ts';

describe('canonicalJson', () => {
  it('sorts object keys at every depth, so key order does not matter', () => {
    const a = { b: 1, a: { d: [1, { z: true, y: null }], c: 'x' } };
    const b = { a: { c: 'x', d: [1, { y: null, z: true }] }, b: 1 };
    expect(canonicalJson(a)).toBe('{"a":{"c":"x","d":[1,{"y":null,"z":true}]},"b":1}');
    expect(canonicalJson(b)).toBe(canonicalJson(a));
  });

  it('keeps array order (order in an array is meaningful)', () => {
    expect(canonicalJson([2, 1])).not.toBe(canonicalJson([1, 2]));
  });

  it('encodes scalars and odd keys as JSON does', () => {
    expect(canonicalJson('a"b')).toBe('"a\\"b"');
    expect(canonicalJson(null)).toBe('null');
    expect(canonicalJson({ 'k"y': 1 })).toBe('{"k\\"y":1}');
  });
});

describe('fingerprintOf', () => {
  it('hashes the canonical snapshot: equal for reordered keys, different for any change', () => {
    const s = snapshot({ relations: [relation('public.minds')] });
    const reverseKeys = (v: unknown): unknown =>
      Array.isArray(v) ? v.map(reverseKeys) : v !== null && typeof v === 'object' ? Object.fromEntries(Object.entries(v).reverse().map(([k, x]) => [k, reverseKeys(x)])) : v;
    const reordered = reverseKeys(s) as typeof s;
    expect(Object.keys(reordered)[0]).toBe('types');
    const fp = fingerprintOf(s);
    expect(fp.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(fingerprintOf(reordered).hash).toBe(fp.hash);
    expect(fingerprintOf(snapshot({ relations: [relation('public.minds', { rls: true })] })).hash).not.toBe(fp.hash);
  });
});

describe('diffSnapshots', () => {
  it('is empty for identical snapshots', () => {
    const s = snapshot({ relations: [relation('public.minds')] });
    expect(diffSnapshots(s, structuredClone(s))).toEqual([]);
  });

  it('names added and removed relations by path', () => {
    const before = snapshot({ relations: [relation('public.minds'), relation('public.old')] });
    const after = snapshot({ relations: [relation('public.minds'), relation('public.contents')] });
    expect(diffSnapshots(before, after)).toEqual([
      { path: 'relations > public.old', change: 'removed', before: relation('public.old') },
      { path: 'relations > public.contents', change: 'added', after: relation('public.contents') },
    ]);
  });

  it('descends into named lists and objects down to the changed value', () => {
    const before = snapshot({ relations: [relation('public.content_projects', { columns: [column('id', 'uuid'), column('slug')] })] });
    const after = snapshot({
      relations: [relation('public.content_projects', { rls: true, columns: [column('id', 'uuid'), column('slug', 'text', { notNull: true }), column('creator_mind_id', 'uuid')] })],
    });
    expect(diffSnapshots(before, after)).toEqual([
      { path: 'relations > public.content_projects > columns > slug > notNull', change: 'changed', before: false, after: true },
      { path: 'relations > public.content_projects > columns > creator_mind_id', change: 'added', after: column('creator_mind_id', 'uuid') },
      { path: 'relations > public.content_projects > rls', change: 'changed', before: false, after: true },
    ]);
  });

  it('compares plain lists as a whole value', () => {
    const before = snapshot({ relations: [relation('public.minds', { options: [] })] });
    const after = snapshot({ relations: [relation('public.minds', { options: ['security_invoker=true'] })] });
    expect(diffSnapshots(before, after)).toEqual([{ path: 'relations > public.minds > options', change: 'changed', before: [], after: ['security_invoker=true'] }]);
  });

  it('covers schemas, extensions, functions and types too', () => {
    const before = snapshot();
    const after = snapshot({
      schemas: [{ name: 'public', owner: 'postgres', grants: [] }, { name: 'auth', owner: 'postgres', grants: [] }],
      extensions: [{ name: 'pgcrypto', schema: 'public' }],
      types: [{ name: 'public.status', kind: 'e', labels: ['draft'], base: null }],
    });
    expect(diffSnapshots(before, after).map((d) => `${d.change} ${d.path}`)).toEqual(['added schemas > auth', 'added extensions > pgcrypto', 'added types > public.status']);
  });
});

describe('formatDifference', () => {
  it('marks added, removed and changed paths', () => {
    expect(formatDifference({ path: 'relations > public.contents', change: 'added', after: {} })).toBe('+ relations > public.contents');
    expect(formatDifference({ path: 'relations > public.old', change: 'removed', before: {} })).toBe('- relations > public.old');
    expect(formatDifference({ path: 'relations > public.minds > rls', change: 'changed', before: false, after: true })).toBe('~ relations > public.minds > rls: false -> true');
  });

  it('shows strings as they are and other values as JSON', () => {
    expect(formatDifference({ path: 'x > type', change: 'changed', before: 'text', after: 'uuid' })).toBe('~ x > type: text -> uuid');
    expect(formatDifference({ path: 'x > options', change: 'changed', before: [], after: ['a=1'] })).toBe('~ x > options: [] -> ["a=1"]');
    expect(formatDifference({ path: 'x > default', change: 'changed', before: null, after: 'now()' })).toBe('~ x > default: null -> now()');
  });
});

import { describe, expect, it } from 'vitest';
import { compareRowCounts, CopyRowCounter, parseQualifiedName } from '../../../src/core/copy-rows.ts';

function count(sql: string): CopyRowCounter {
  const counter = new CopyRowCounter();
  for (const line of sql.split('\n')) counter.line(line);
  counter.end();
  return counter;
}

describe('parseQualifiedName', () => {
  it.each([
    ['public.contents', 'public.contents'],
    ['"public"."contents"', 'public.contents'],
    ['public."My Table"', 'public.My Table'],
    ['"we""ird"."a.b"', 'we"ird.a.b'],
    ['public."a (b)"', 'public.a (b)'],
  ])('%s is %s', (text, name) => {
    expect(parseQualifiedName(text)).toBe(name);
  });

  it.each(['contents', 'a.b.c', 'public."unterminated', 'public.', '"a"x.b', ''])('%j is not a schema-qualified name', (text) => {
    expect(parseQualifiedName(text)).toBeNull();
  });
});

describe('CopyRowCounter', () => {
  it('counts the rows of each COPY block as pg_restore prints them', () => {
    const counter = count(
      [
        '--',
        '-- Data for Name: minds; Type: TABLE DATA; Schema: public; Owner: postgres',
        '--',
        '',
        'COPY public.minds (id, slug, display_name, user_id, created_at) FROM stdin;',
        'a1\tada\tAda\t\\N\t2025-10-28',
        'a2\tbob\tBob\t\\N\t2025-10-28',
        '\\.',
        '',
        'COPY public."My Table" ("Id", "a b") FROM stdin;',
        '1\tline one\\nline two',
        '\\.',
        'COPY public.empty (id) FROM stdin;',
        '\\.',
        'COPY "Sales"."order" (id) FROM stdin;',
        '1',
        '2',
        '3',
        '\\.',
      ].join('\n'),
    );
    expect(Object.fromEntries(counter.counts)).toEqual({ 'public.minds': 2, 'public.My Table': 1, 'public.empty': 0, 'Sales.order': 3 });
    expect(counter.unterminated).toBeNull();
  });

  it('counts a table whose name itself contains " ("', () => {
    const counter = count(['COPY public."Events (2024)" (id, "x (y)") FROM stdin;', '1\ta', '2\tb', '\\.'].join('\n'));
    expect(Object.fromEntries(counter.counts)).toEqual({ 'public.Events (2024)': 2 });
  });

  it('counts a table without columns (pg_dump writes two spaces)', () => {
    const counter = count(['COPY public.nocols  FROM stdin;', '', '', '\\.'].join('\n'));
    expect(Object.fromEntries(counter.counts)).toEqual({ 'public.nocols': 2 });
  });

  it('does not mistake a data row that starts with "COPY " for a new block', () => {
    const counter = count(['COPY public.notes (body) FROM stdin;', 'COPY public.x (a) FROM stdin;', '\\.'].join('\n'));
    expect(Object.fromEntries(counter.counts)).toEqual({ 'public.notes': 1 });
  });

  it('marks a block that never reaches "\\." as unterminated (a truncated archive)', () => {
    const counter = count(['COPY public.minds (id) FROM stdin;', 'a1', 'a2'].join('\n'));
    expect(counter.unterminated).toBe('public.minds');
    expect(counter.counts.get('public.minds')).toBe(2);
  });

  it('adds up two blocks of the same table', () => {
    const counter = count(['COPY public.t (id) FROM stdin;', '1', '\\.', 'COPY public.t (id) FROM stdin;', '2', '3', '\\.'].join('\n'));
    expect(counter.counts.get('public.t')).toBe(3);
  });
});

describe('compareRowCounts', () => {
  it('is empty when every table has its rows', () => {
    expect(compareRowCounts({ 'public.a': 2, 'public.b': 0 }, new Map([['public.a', 2], ['public.b', 0]]))).toEqual([]);
  });

  it('reports tables with fewer or more rows, and tables with rows but no block', () => {
    expect(compareRowCounts({ 'public.a': 2, 'public.b': 5, 'public.c': 1 }, new Map([['public.a', 1], ['public.b', 6]]))).toEqual([
      { table: 'public.a', expected: 2, found: 1 },
      { table: 'public.b', expected: 5, found: 6 },
      { table: 'public.c', expected: 1, found: null },
    ]);
  });

  it('accepts an empty table without a block (partitioned parents have none)', () => {
    expect(compareRowCounts({ 'public.parent': 0 }, new Map())).toEqual([]);
  });

  it('ignores archived tables nobody asked about', () => {
    expect(compareRowCounts({}, new Map([['public.extra', 3]]))).toEqual([]);
  });
});

import { describe, expect, it } from 'vitest';
import { isBareIdentifier, quoteIdent, quoteIdentAlways, quoteLiteral, quoteQualified, quoteRole, splitQualified, withLegacyKeywordQuoting } from '../../../src/core/sql.ts';
import { QUOTED_KEYWORDS } from '../../../src/core/sql-keywords.ts';

describe('quoteIdent', () => {
  it('leaves plain lower-case names bare, as quote_ident does', () => {
    expect(['contents', 'content_minds', '_x1', 'role', 'name', 'content'].map(quoteIdent)).toEqual(['contents', 'content_minds', '_x1', 'role', 'name', 'content']);
  });

  it('quotes reserved, column-name and type/function-name keywords', () => {
    expect(['user', 'select', 'time', 'position', 'left', 'authorization', 'current_user'].map(quoteIdent)).toEqual(['"user"', '"select"', '"time"', '"position"', '"left"', '"authorization"', '"current_user"']);
  });

  it('quotes upper case, leading digits, dollars, dots and spaces, doubling embedded quotes', () => {
    expect(['Mine', '1st', 'a$b', 'a.b', 'a b', 'p"; drop table public.x; --', ''].map(quoteIdent)).toEqual(['"Mine"', '"1st"', '"a$b"', '"a.b"', '"a b"', '"p""; drop table public.x; --"', '""']);
  });

  it('quoteIdentAlways quotes even a bare name, by the same rule; quoteQualified takes it per part', () => {
    expect(['contents', 'Mine', 'p"x'].map(quoteIdentAlways)).toEqual(['"contents"', '"Mine"', '"p""x"']);
    expect(quoteQualified('public.orders', quoteIdentAlways)).toBe('"public"."orders"');
    expect(quoteQualified({ schema: 'public', name: 'user' })).toBe('public."user"');
  });

  it('knows the keyword list of the supported servers', () => {
    expect(QUOTED_KEYWORDS.length).toBeGreaterThan(150);
    expect(QUOTED_KEYWORDS.every((k) => !isBareIdentifier(k))).toBe(true);
  });
});

describe('qualified names, roles, literals', () => {
  it('quotes each part of schema.table on its own', () => {
    expect(quoteQualified('public.user')).toBe('public."user"');
    expect(quoteQualified({ schema: 'My Schema', name: 't"x' })).toBe('"My Schema"."t""x"');
    expect(splitQualified('public.a.b')).toEqual(['public', 'a.b']);
  });

  it('writes the public pseudo-role as PUBLIC and quotes every other role', () => {
    expect(['public', 'anon', 'user', 'Editors'].map(quoteRole)).toEqual(['PUBLIC', 'anon', '"user"', '"Editors"']);
  });

  it('doubles single quotes in literals', () => {
    expect(quoteLiteral("it's")).toBe("'it''s'");
  });
});

describe('withLegacyKeywordQuoting', () => {
  it('gives back the text dbkit 0.1 wrote: keywords bare, every other quoted name kept', () => {
    expect(withLegacyKeywordQuoting(`CREATE TABLE public."user" ("position" int, "Mine" int, "a b" int); EXECUTE 'DROP TABLE public."user"'`)).toBe(
      `CREATE TABLE public.user (position int, "Mine" int, "a b" int); EXECUTE 'DROP TABLE public.user'`,
    );
  });
});

/** What a SQL function body reads, found by PostgreSQL's parser (libpg_query), not by matching text. */
import { beforeAll, describe, expect, it } from 'vitest';
import { initParser } from '../../../src/audit/expr.ts';
import { bodyReads, parseSearchPath } from '../../../src/audit/reach.ts';

const KNOWN = new Set(['public.orders', 'ops.ip_log', 'private.ip_log', 'public.ip_log', 'private.tenant', 'public.helper']);
const exists = (n: string) => KNOWN.has(n);

beforeAll(async () => {
  await initParser();
});

describe('bodyReads', () => {
  it('finds qualified relations and called functions in FROM, joins, sub-selects and writes', () => {
    expect(bodyReads('SELECT o.id FROM public.orders o JOIN ops.ip_log l ON l.id = o.id WHERE private.tenant() = $1', null, exists).sort()).toEqual(['ops.ip_log', 'private.tenant', 'public.orders']);
    expect(bodyReads('INSERT INTO public.orders SELECT * FROM ops.ip_log; UPDATE public.orders SET id = 1', null, exists).sort()).toEqual(['ops.ip_log', 'public.orders']);
  });

  it('resolves unqualified names through the pinned search_path, else public; a CTE is not a relation', () => {
    expect(bodyReads('SELECT * FROM ip_log', ['private', 'public'], exists)).toEqual(['private.ip_log']);
    expect(bodyReads('SELECT * FROM ip_log', null, exists)).toEqual(['public.ip_log']);
    expect(bodyReads('SELECT * FROM ip_log', [], exists)).toEqual([]);
    expect(bodyReads('WITH orders AS (SELECT 1) SELECT * FROM orders', null, exists)).toEqual([]);
    expect(bodyReads('SELECT count(*), now(), helper()', null, exists)).toEqual(['public.helper']);
  });

  it('reads nothing from text that does not parse, nor from names inside strings and comments', () => {
    expect(bodyReads('SELECT FROM FROM', null, exists)).toEqual([]);
    expect(bodyReads("SELECT 'ops.ip_log' -- FROM ops.ip_log\n", null, exists)).toEqual([]);
  });
});

describe('parseSearchPath', () => {
  it('reads proconfig values: quoted names kept, $user and the empty path left out', () => {
    expect(parseSearchPath(null)).toBeNull();
    expect(parseSearchPath('""')).toEqual([]);
    expect(parseSearchPath('"$user", public')).toEqual(['public']);
    expect(parseSearchPath('Private, "My Schema"')).toEqual(['private', 'My Schema']);
  });
});

import { describe, expect, it } from 'vitest';
import { lockKeyFor } from '../../../src/db/scoped.ts';

const isInt4 = (n: number) => Number.isInteger(n) && n >= -(2 ** 31) && n < 2 ** 31;

describe('lockKeyFor', () => {
  it('is two int4 keys: the dbkit namespace and a hash of the database name', () => {
    const [namespace, hash] = lockKeyFor('dbkit');
    expect(namespace).toBe(0x64626b74);
    expect(isInt4(hash)).toBe(true);
  });

  it('is stable across processes and versions: 32-bit FNV-1a of the UTF-8 name, as a signed int4', () => {
    // pinned values, computed independently (Python); another dbkit version must take the same lock
    expect(lockKeyFor('postgres')).toEqual([1684171636, -791410866]);
    expect(lockKeyFor('dbkit')).toEqual([1684171636, 2017875989]);
    expect(lockKeyFor('')).toEqual([1684171636, -2128831035]);
    expect(lockKeyFor('créatoros')).toEqual([1684171636, -2103234346]);
  });

  it('differs between databases, including names that differ by one byte or by case', () => {
    const names = ['postgres', 'dbkit', 'app', 'app_test', 'App', 'app1', 'app2', 'dbkit_bk_app', 'créatoros', 'creatoros'];
    for (let i = 0; i < 500; i += 1) names.push(`dbkit_t_${i.toString(16).padStart(8, '0')}`);
    const hashes = new Set(names.map((n) => lockKeyFor(n)[1]));
    expect(hashes.size).toBe(names.length);
    for (const n of names) expect(isInt4(lockKeyFor(n)[1])).toBe(true);
  });
});

import { describe, expect, it } from 'vitest';
import { checkDatabaseName, compareFacts, defaultRestoreName, requiredRestoreMajor } from '../../src/core/restore-plan.ts';

describe('compareFacts', () => {
  const expected = { fingerprint: 'abc', rowCounts: { 'public.a': 3, 'public.b': 0 } };
  it('passes when fingerprint and every count are equal', () => {
    const result = compareFacts(expected, { fingerprint: 'abc', rowCounts: { 'public.b': 0, 'public.a': 3 } });
    expect(result).toMatchObject({ ok: true, fingerprintMatches: true, mismatches: [], tables: 2, rows: 3 });
    expect(result.detail).toBe('schema fingerprint and row counts of 2 tables (3 rows) equal the manifest');
  });
  it('names a different fingerprint, a different count, and a missing or extra table', () => {
    const result = compareFacts(expected, { fingerprint: 'xyz', rowCounts: { 'public.a': 2, 'public.c': 1 } });
    expect(result.ok).toBe(false);
    expect(result.fingerprintMatches).toBe(false);
    expect(result.mismatches).toEqual([
      { table: 'public.a', expected: 3, found: 2 },
      { table: 'public.b', expected: 0, found: null },
      { table: 'public.c', expected: null, found: 1 },
    ]);
    expect(result.detail).toContain('schema fingerprint differs');
    expect(result.detail).toContain('public.a: 2 rows, 3 recorded');
  });
});

describe('compareFacts with content checksums', () => {
  const recorded = { fingerprint: 'abc', rowCounts: { 'public.a': 3 }, contentChecksums: { 'public.a': 'x'.repeat(32) } };
  it('passes when every recorded checksum matches, and says so', () => {
    const result = compareFacts(recorded, { ...recorded });
    expect(result.ok).toBe(true);
    expect(result.detail).toBe('schema fingerprint, row counts and content checksums of 1 tables (3 rows) equal the manifest');
  });
  it('names a table whose rows changed without changing its count', () => {
    const result = compareFacts(recorded, { ...recorded, contentChecksums: { 'public.a': 'y'.repeat(32) } });
    expect(result).toMatchObject({ ok: false, contentMismatches: ['public.a'], mismatches: [] });
    expect(result.detail).toBe('the content of 1 table(s) differs from the checksum recorded at backup time: public.a');
  });
  it('a checksum that was not computed is a mismatch, not a pass', () => {
    expect(compareFacts(recorded, { fingerprint: 'abc', rowCounts: { 'public.a': 3 } }).ok).toBe(false);
  });
});

describe('defaultRestoreName', () => {
  it('derives a valid name from the database and the backup time', () => {
    expect(defaultRestoreName('20261122T023743Z-shop-7225', 'shop')).toBe('shop_restored_20261122t023743z_7225');
    const long = defaultRestoreName('20261122T023743Z-x-7225', 'a'.repeat(80));
    expect(long.length).toBeLessThanOrEqual(63);
    expect(() => checkDatabaseName(long)).not.toThrow();
    expect(defaultRestoreName('20261122T023743Z-x-7225', 'My-Shop')).toBe('my_shop_restored_20261122t023743z_7225');
  });
});

describe('checkDatabaseName', () => {
  it('accepts plain names and refuses odd or long ones', () => {
    expect(() => checkDatabaseName('shop_check')).not.toThrow();
    for (const bad of ['', '1shop', 'a b', 'x;drop', 'é', 'a'.repeat(64)]) expect(() => checkDatabaseName(bad)).toThrow(/not a usable database name/);
  });
});

describe('requiredRestoreMajor', () => {
  it('is the newer of the archive tool and the server', () => {
    expect(requiredRestoreMajor('pg_dump 15.20', 150020)).toBe(15);
    expect(requiredRestoreMajor('pg_dump 15.20', 170010)).toBe(17);
    expect(requiredRestoreMajor('pg_dump 16.4', 150020)).toBe(16);
    expect(requiredRestoreMajor(null, 150020)).toBe(15);
  });
});

import { describe, expect, it } from 'vitest';
import { backupGroupKey, selectPrunable, type RetainableBackup } from '../../src/core/retention.ts';

const shop = { kind: 'external', url: 'postgres://u:***@db:5432/shop', database: 'shop' };
const other = { kind: 'external', url: 'postgres://u:***@db:5432/other', database: 'other' };
const b = (id: string, createdAt: string, source = shop, verified = true): RetainableBackup => ({ id, createdAt, verified, source });

describe('backupGroupKey', () => {
  it('tells external databases apart by URL and the embedded one by name', () => {
    expect(backupGroupKey(shop)).not.toBe(backupGroupKey(other));
    expect(backupGroupKey({ kind: 'embedded', url: 'postgres://p:***@127.0.0.1:5000/dbkit', database: 'dbkit' })).toBe(backupGroupKey({ kind: 'embedded', url: 'postgres://p:***@127.0.0.1:6000/dbkit', database: 'dbkit' }));
  });
});

describe('selectPrunable', () => {
  const backups = [b('b1', '2026-01-01T00:00:00Z'), b('b3', '2026-01-03T00:00:00Z'), b('b2', '2026-01-02T00:00:00Z'), b('o1', '2026-01-01T00:00:00Z', other)];
  it('keeps the N newest verified backups of the database and prunes the rest', () => {
    expect(selectPrunable(backups, backupGroupKey(shop), 2).map((x) => x.id)).toEqual(['b1']);
    expect(selectPrunable(backups, backupGroupKey(shop), 1).map((x) => x.id)).toEqual(['b2', 'b1']);
    expect(selectPrunable(backups, backupGroupKey(shop), 5)).toEqual([]);
  });
  it("never touches another database's backups", () => {
    expect(selectPrunable(backups, backupGroupKey(shop), 1).some((x) => x.id === 'o1')).toBe(false);
  });
  it('does not count unverified backups towards keep, and prunes them', () => {
    const withFailed = [...backups, b('bad', '2026-01-04T00:00:00Z', shop, false)];
    expect(selectPrunable(withFailed, backupGroupKey(shop), 1).map((x) => x.id)).toEqual(['bad', 'b2', 'b1']);
  });
  it('keeps protected backups', () => {
    expect(selectPrunable(backups, backupGroupKey(shop), 1, ['b1']).map((x) => x.id)).toEqual(['b2']);
  });
  it('refuses keep < 1 (that would delete every backup)', () => {
    expect(() => selectPrunable(backups, backupGroupKey(shop), 0)).toThrow();
  });
});

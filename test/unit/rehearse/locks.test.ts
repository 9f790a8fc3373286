import { describe, expect, it } from 'vitest';
import { blocksReads, blocksWrites, conflicts, CONFLICTS, impact, LOCK_MODES, strongest } from '../../../src/rehearse/locks.ts';

describe('lock conflict table', () => {
  it('is symmetric, as in the manual', () => {
    for (const a of LOCK_MODES) for (const b of LOCK_MODES) expect(conflicts(a, b), `${a} x ${b}`).toBe(conflicts(b, a));
  });

  it('has the counts of the manual table (Table 13.2)', () => {
    expect(LOCK_MODES.map((m) => CONFLICTS[m].length)).toEqual([1, 2, 4, 5, 5, 6, 7, 8]);
  });

  it('says which modes stop readers and writers', () => {
    expect(LOCK_MODES.filter(blocksReads)).toEqual(['AccessExclusiveLock']);
    expect(LOCK_MODES.filter(blocksWrites)).toEqual(['ShareLock', 'ShareRowExclusiveLock', 'ExclusiveLock', 'AccessExclusiveLock']);
    expect(impact('ShareUpdateExclusiveLock')).toBe('schema changes');
    expect(impact('ShareLock')).toBe('writes');
    expect(strongest(['RowShareLock', 'ShareLock', 'AccessShareLock'])).toBe('ShareLock');
    expect(strongest([])).toBeNull();
  });
});

/**
 * PostgreSQL's table-level lock modes and which conflict with which (the table in the manual,
 * "Explicit Locking", 13.3.1), as data. Pure.
 */
export const LOCK_MODES = [
  'AccessShareLock',
  'RowShareLock',
  'RowExclusiveLock',
  'ShareUpdateExclusiveLock',
  'ShareLock',
  'ShareRowExclusiveLock',
  'ExclusiveLock',
  'AccessExclusiveLock',
] as const;
export type LockMode = (typeof LOCK_MODES)[number];

export function isLockMode(value: string): value is LockMode {
  return (LOCK_MODES as readonly string[]).includes(value);
}

/** How the manual (and people) write them. */
export const LOCK_NAMES: Record<LockMode, string> = {
  AccessShareLock: 'ACCESS SHARE',
  RowShareLock: 'ROW SHARE',
  RowExclusiveLock: 'ROW EXCLUSIVE',
  ShareUpdateExclusiveLock: 'SHARE UPDATE EXCLUSIVE',
  ShareLock: 'SHARE',
  ShareRowExclusiveLock: 'SHARE ROW EXCLUSIVE',
  ExclusiveLock: 'EXCLUSIVE',
  AccessExclusiveLock: 'ACCESS EXCLUSIVE',
};

/** CONFLICTS[a] lists the modes that cannot be held while `a` is held on the same table. */
export const CONFLICTS: Record<LockMode, readonly LockMode[]> = {
  AccessShareLock: ['AccessExclusiveLock'],
  RowShareLock: ['ExclusiveLock', 'AccessExclusiveLock'],
  RowExclusiveLock: ['ShareLock', 'ShareRowExclusiveLock', 'ExclusiveLock', 'AccessExclusiveLock'],
  ShareUpdateExclusiveLock: ['ShareUpdateExclusiveLock', 'ShareLock', 'ShareRowExclusiveLock', 'ExclusiveLock', 'AccessExclusiveLock'],
  ShareLock: ['RowExclusiveLock', 'ShareUpdateExclusiveLock', 'ShareRowExclusiveLock', 'ExclusiveLock', 'AccessExclusiveLock'],
  ShareRowExclusiveLock: ['RowExclusiveLock', 'ShareUpdateExclusiveLock', 'ShareLock', 'ShareRowExclusiveLock', 'ExclusiveLock', 'AccessExclusiveLock'],
  ExclusiveLock: ['RowShareLock', 'RowExclusiveLock', 'ShareUpdateExclusiveLock', 'ShareLock', 'ShareRowExclusiveLock', 'ExclusiveLock', 'AccessExclusiveLock'],
  AccessExclusiveLock: [...LOCK_MODES],
};

export const conflicts = (a: LockMode, b: LockMode) => CONFLICTS[a].includes(b);

/** SELECT takes ACCESS SHARE: a mode conflicting with it stops readers. */
export const blocksReads = (mode: LockMode) => conflicts(mode, 'AccessShareLock');
/** INSERT, UPDATE, DELETE take ROW EXCLUSIVE: a mode conflicting with it stops writers. */
export const blocksWrites = (mode: LockMode) => conflicts(mode, 'RowExclusiveLock');

export const strength = (mode: LockMode) => LOCK_MODES.indexOf(mode);

export function strongest(modes: readonly LockMode[]): LockMode | null {
  return modes.reduce<LockMode | null>((best, m) => (best === null || strength(m) > strength(best) ? m : best), null);
}

/** "blocks reads and writes" / "blocks writes" / "blocks schema changes" / "blocks nothing the app does". */
export function impact(mode: LockMode): 'reads and writes' | 'writes' | 'schema changes' {
  if (blocksReads(mode)) return 'reads and writes';
  if (blocksWrites(mode)) return 'writes';
  return 'schema changes';
}

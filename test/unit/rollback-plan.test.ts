import { describe, expect, it } from 'vitest';
import { assertRevertible, backupBefore, parseRollbackSelection, planRollback, resolveMigrationName } from '../../src/migrations/rollback-plan.ts';
import { DbkitError } from '../../src/errors.ts';

const APPLIED = ['001_a', '002_b', '003_c'];
const KNOWN = [...APPLIED, '004_d'];

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return error instanceof DbkitError ? error.code : 'not a DbkitError';
  }
  return undefined;
}

describe('parseRollbackSelection', () => {
  it('defaults to the last migration', () => {
    expect(parseRollbackSelection({})).toEqual({ kind: 'last' });
    expect(parseRollbackSelection({ all: false })).toEqual({ kind: 'last' });
  });
  it('reads --count, --to and --all', () => {
    expect(parseRollbackSelection({ count: '2' })).toEqual({ kind: 'count', count: 2 });
    expect(parseRollbackSelection({ to: ' 002_b ' })).toEqual({ kind: 'to', migration: '002_b' });
    expect(parseRollbackSelection({ all: true })).toEqual({ kind: 'all' });
  });
  it('refuses combinations and bad counts as usage errors', () => {
    expect(codeOf(() => parseRollbackSelection({ count: '1', all: true }))).toBe('USAGE');
    expect(codeOf(() => parseRollbackSelection({ count: '1', to: '002_b' }))).toBe('USAGE');
    for (const bad of ['0', '-1', '1.5', 'two', '']) expect(codeOf(() => parseRollbackSelection({ count: bad }))).toBe('USAGE');
    expect(codeOf(() => parseRollbackSelection({ to: '  ' }))).toBe('USAGE');
  });
});

describe('planRollback', () => {
  it('reverts the last one, newest first', () => {
    expect(planRollback(APPLIED, KNOWN, { kind: 'last' })).toMatchObject({ toRevert: ['003_c'], remaining: ['001_a', '002_b'] });
  });
  it('reverts N, all, or everything after a migration', () => {
    expect(planRollback(APPLIED, KNOWN, { kind: 'count', count: 2 }).toRevert).toEqual(['003_c', '002_b']);
    expect(planRollback(APPLIED, KNOWN, { kind: 'count', count: 3 }).toRevert).toEqual(['003_c', '002_b', '001_a']);
    expect(planRollback(APPLIED, KNOWN, { kind: 'all' })).toMatchObject({ toRevert: ['003_c', '002_b', '001_a'], remaining: [] });
    expect(planRollback(APPLIED, KNOWN, { kind: 'to', migration: '001_a' })).toMatchObject({ toRevert: ['003_c', '002_b'], remaining: ['001_a'] });
    expect(planRollback(APPLIED, KNOWN, { kind: 'to', migration: '003_c' }).toRevert).toEqual([]);
  });
  it('follows the order migrations were applied in, not their names', () => {
    expect(planRollback(['002_b', '001_a'], KNOWN, { kind: 'last' }).toRevert).toEqual(['001_a']);
  });
  it('plans nothing when nothing is applied (last, all)', () => {
    expect(planRollback([], KNOWN, { kind: 'last' }).toRevert).toEqual([]);
    expect(planRollback([], KNOWN, { kind: 'all' }).toRevert).toEqual([]);
  });
  it('refuses --count larger than what is applied', () => {
    expect(codeOf(() => planRollback(APPLIED, KNOWN, { kind: 'count', count: 4 }))).toBe('ROLLBACK_TOO_FAR');
    expect(codeOf(() => planRollback([], KNOWN, { kind: 'count', count: 1 }))).toBe('ROLLBACK_TOO_FAR');
  });
  it('refuses --to a migration that is pending, unknown or ambiguous', () => {
    expect(codeOf(() => planRollback(APPLIED, KNOWN, { kind: 'to', migration: '004_d' }))).toBe('NOT_APPLIED');
    expect(codeOf(() => planRollback(APPLIED, KNOWN, { kind: 'to', migration: '999_nope' }))).toBe('NOT_FOUND');
    expect(codeOf(() => planRollback(APPLIED, KNOWN, { kind: 'to', migration: '00' }))).toBe('USAGE');
  });
  it('resolves --to by file name or unique prefix, and reports the resolved name', () => {
    expect(planRollback(APPLIED, KNOWN, { kind: 'to', migration: 'migrations/002_b.ts' }).selection).toEqual({ kind: 'to', migration: '002_b' });
    expect(planRollback(APPLIED, KNOWN, { kind: 'to', migration: '002' }).toRevert).toEqual(['003_c']);
  });
});

describe('resolveMigrationName', () => {
  it('matches exact names first, then unique prefixes', () => {
    expect(resolveMigrationName('001_a', ['001_a', '001_ab'])).toEqual({ name: '001_a' });
    expect(resolveMigrationName('001', ['001_a', '002_b'])).toEqual({ name: '001_a' });
    expect(resolveMigrationName('00', ['001_a', '002_b'])).toEqual({ ambiguous: ['001_a', '002_b'] });
    expect(resolveMigrationName('x', ['001_a'])).toBeNull();
  });
});

describe('assertRevertible', () => {
  it('refuses migrations whose file is gone or whose down is false', () => {
    const migrations = [{ name: '001_a', irreversible: false }, { name: '002_b', irreversible: true }];
    expect(codeOf(() => assertRevertible(['001_a'], migrations))).toBeUndefined();
    expect(codeOf(() => assertRevertible(['002_b'], migrations))).toBe('PREFLIGHT_FAILED');
    expect(codeOf(() => assertRevertible(['003_c'], migrations))).toBe('PREFLIGHT_FAILED');
  });
});

describe('assertRevertible across a migration without a down', () => {
  const migrations = [
    { name: '001_a', irreversible: false },
    { name: '002_b', irreversible: true, why: 'Supabase CLI migrations are up-only' },
    { name: '003_c', irreversible: false },
  ];
  const applied = ['001_a', '002_b', '003_c'];
  const backup = (id: string, names: string[], verified = true) => ({ id, verified, migrations: names });

  function refusal(fn: () => void): DbkitError {
    try {
      fn();
    } catch (error) {
      expect((error as DbkitError).code).toBe('PREFLIGHT_FAILED');
      return error as DbkitError;
    }
    throw new Error('expected a refusal');
  }

  it('names the migration and why, and the newest verified backup taken before it was applied', () => {
    const backups = [backup('b4-after', ['001_a', '002_b']), backup('b3-unverified', ['001_a'], false), backup('b2-before', ['001_a']), backup('b1-older', [])];
    const error = refusal(() => assertRevertible(['003_c', '002_b'], migrations, { applied, backups }));
    expect(error.message).toBe('cannot revert 002_b (Supabase CLI migrations are up-only): rollback has no down to run');
    expect(error.hint).toBe(
      'restore the verified backup taken before 002_b was applied: dbkit restore b2-before (into a new database; add --in-place to replace this one); or revert only what came after it: dbkit rollback --to 002_b. Nothing was changed.',
    );
  });

  it('says so when no dbkit backup predates it', () => {
    const error = refusal(() => assertRevertible(['002_b'], migrations, { applied, backups: [backup('b4-after', ['001_a', '002_b'])] }));
    expect(error.hint).toBe('no verified dbkit backup was taken before 002_b was applied (dbkit backups lists them): restore one taken with other tools. Nothing was changed.');
  });

  it('a backup from another history (not a prefix of what is applied) is not offered', () => {
    expect(backupBefore('002_b', applied, [backup('other', ['000_x'])])).toBeNull();
    expect(backupBefore('002_b', applied, [backup('empty', [])])?.id).toBe('empty');
  });
});

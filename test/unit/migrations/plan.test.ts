import { describe, expect, it } from 'vitest';
import { describeDrift, planMigrations, type PlannableMigration } from '../../../src/migrations/plan.ts';
import type { AppliedMigration } from '../../../src/migrations/tracking.ts';

const file = (name: string, fileChecksum = `f-${name}`, sqlChecksum: string | null = `s-${name}`): PlannableMigration => ({ name, fileChecksum, sqlChecksum });
const row = (name: string, fileChecksum: string | null = `f-${name}`, sqlChecksum: string | null = `s-${name}`): AppliedMigration => ({ name, runOn: '2025-10-28 12:00:00', fileChecksum, sqlChecksum });

const FILES = [file('001_a'), file('002_b'), file('003_c')];

describe('planMigrations', () => {
  it('on an empty database, everything is pending', () => {
    expect(planMigrations(FILES, [])).toEqual({ applied: [], pending: FILES, drift: [], unrecorded: [], adopt: [], historyConflicts: [], outOfOrder: [] });
  });

  it('pending are the files not applied, in file order; applied keeps the database order', () => {
    const plan = planMigrations(FILES, [row('002_b'), row('001_a')]);
    expect(plan.applied).toEqual(['002_b', '001_a']);
    expect(plan.pending.map((m) => m.name)).toEqual(['003_c']);
    expect(plan.drift).toEqual([]);
    expect(plan.outOfOrder).toEqual([]);
  });

  it('returns the very file objects as pending (callers carry more than the plannable fields)', () => {
    const loaded = FILES.map((f) => ({ ...f, path: `/m/${f.name}.ts` }));
    expect(planMigrations(loaded, [row('001_a')]).pending[0]).toBe(loaded[1]);
  });

  it('nothing pending when all are applied with matching checksums', () => {
    expect(planMigrations(FILES, FILES.map((f) => row(f.name)))).toEqual({ applied: ['001_a', '002_b', '003_c'], pending: [], drift: [], unrecorded: [], adopt: [], historyConflicts: [], outOfOrder: [] });
  });

  it('file-edited: the file checksum differs from the recorded one', () => {
    expect(planMigrations(FILES, [row('001_a', 'f-old')]).drift).toEqual([{ name: '001_a', kind: 'file-edited', message: '001_a: the file was edited after it was applied' }]);
  });

  it('file-edited wins over sql-changed when both differ', () => {
    expect(planMigrations(FILES, [row('001_a', 'f-old', 's-old')]).drift.map((d) => d.kind)).toEqual(['file-edited']);
  });

  it('a checksum an earlier dbkit recorded for the same SQL is not drift; any other is', () => {
    const compatible = FILES.map((f) => ({ ...f, compatibleSqlChecksums: [`legacy-${f.name}`] }));
    expect(planMigrations(compatible, [row('001_a', 'f-001_a', 'legacy-001_a')]).drift).toEqual([]);
    expect(planMigrations(compatible, [row('001_a', 'f-001_a', 'legacy-002_b')]).drift.map((d) => d.kind)).toEqual(['sql-changed']);
  });

  it('sql-changed: same file, different rendered SQL (an imported module changed)', () => {
    expect(planMigrations(FILES, [row('002_b', 'f-002_b', 's-old')]).drift).toEqual([
      { name: '002_b', kind: 'sql-changed', message: '002_b: the file is unchanged but the SQL it builds changed (a module it imports, such as policies/, was edited)' },
    ]);
  });

  it('no sql-changed when either side has no SQL checksum (a migration that reads the database)', () => {
    expect(planMigrations([file('001_a', 'f-001_a', null)], [row('001_a', 'f-001_a', 's-x')]).drift).toEqual([]);
    expect(planMigrations(FILES, [row('001_a', 'f-001_a', null)]).drift).toEqual([]);
  });

  it('file-missing: applied but its file is gone', () => {
    const plan = planMigrations(FILES, [row('001_a'), row('001_z_removed')]);
    expect(plan.drift).toEqual([{ name: '001_z_removed', kind: 'file-missing', message: '001_z_removed: it is applied but its file is gone' }]);
    expect(plan.applied).toEqual(['001_a', '001_z_removed']);
  });

  it('unrecorded: applied by plain node-pg-migrate (no checksum), not drift', () => {
    const plan = planMigrations(FILES, [row('001_a', null, null), row('002_b')]);
    expect(plan.unrecorded).toEqual(['001_a']);
    expect(plan.drift).toEqual([]);
    expect(plan.pending.map((m) => m.name)).toEqual(['003_c']);
  });

  it('reports every drifted migration, not only the first', () => {
    const plan = planMigrations(FILES, [row('001_a', 'x'), row('002_b', 'f-002_b', 'y'), row('gone')]);
    expect(plan.drift.map((d) => [d.name, d.kind])).toEqual([
      ['001_a', 'file-edited'],
      ['002_b', 'sql-changed'],
      ['gone', 'file-missing'],
    ]);
  });

  it('out-of-order: pending migrations that sort before the last applied one', () => {
    const files = [file('001_a'), file('002_b'), file('003_c'), file('004_d')];
    const plan = planMigrations(files, [row('001_a'), row('003_c')]);
    expect(plan.pending.map((m) => m.name)).toEqual(['002_b', '004_d']);
    expect(plan.outOfOrder).toEqual([{ name: '002_b', before: '003_c' }]);
  });
});

describe('planMigrations with the history of the folder\'s own tool', () => {
  const history = (keys: string[], appliedAt: (string | null)[] = keys.map(() => null)) => ({ table: 'public.pgmigrations', keys, appliedAt });

  it('adopts what the tool applied and dbkit does not track, in folder order; the rest is pending', () => {
    const plan = planMigrations(FILES, [], history(['001_a', '002_b'], ['2024-01-01 10:00:00', '2024-01-02 10:00:00']));
    expect(plan.adopt).toEqual([
      { name: '001_a', appliedAt: '2024-01-01 10:00:00' },
      { name: '002_b', appliedAt: '2024-01-02 10:00:00' },
    ]);
    expect(plan.applied).toEqual(['001_a', '002_b']);
    expect(plan.pending.map((m) => m.name)).toEqual(['003_c']);
    expect(plan.drift).toEqual([]);
    expect(plan.historyConflicts).toEqual([]);
  });

  it('adopts nothing when dbkit already tracks the same migrations (kept in step)', () => {
    const plan = planMigrations(FILES, [row('001_a'), row('002_b')], history(['001_a', '002_b']));
    expect(plan.adopt).toEqual([]);
    expect(plan.applied).toEqual(['001_a', '002_b']);
  });

  it('adopts what the tool applied after dbkit', () => {
    const plan = planMigrations(FILES, [row('001_a')], history(['001_a', '002_b']));
    expect(plan.adopt.map((a) => a.name)).toEqual(['002_b']);
    expect(plan.applied).toEqual(['001_a', '002_b']);
  });

  it('a history entry with no file is drift naming the table', () => {
    const plan = planMigrations(FILES, [], history(['001_a', '001_z_gone']));
    expect(plan.drift).toEqual([{ name: '001_z_gone', kind: 'file-missing', message: '001_z_gone: recorded as applied in public.pgmigrations but has no migration file' }]);
  });

  it('a pending file that sorts before an adopted one is out of order, naming both', () => {
    const plan = planMigrations(FILES, [], history(['001_a', '003_c']));
    expect(plan.outOfOrder).toEqual([{ name: '002_b', before: '003_c' }]);
  });

  it('what dbkit tracks and the history lacks is a conflict', () => {
    const plan = planMigrations(FILES, [row('001_a'), row('002_b')], history(['001_a']));
    expect(plan.historyConflicts).toEqual(['002_b']);
    expect(plan.adopt).toEqual([]);
  });

  it('matches Supabase history rows by version', () => {
    const files = [{ ...file('20240101000000_init'), historyKey: '20240101000000' }, { ...file('20240102000000_more'), historyKey: '20240102000000' }];
    const plan = planMigrations(files, [], { table: 'supabase_migrations.schema_migrations', keys: ['20240101000000'], appliedAt: [null] });
    expect(plan.adopt).toEqual([{ name: '20240101000000_init', appliedAt: null }]);
    expect(plan.pending.map((m) => m.name)).toEqual(['20240102000000_more']);
  });
});

describe('describeDrift', () => {
  it('explains each kind in words', () => {
    expect(describeDrift('file-edited')).toBe('the file was edited after it was applied');
    expect(describeDrift('file-missing')).toBe('it is applied but its file is gone');
  });
});

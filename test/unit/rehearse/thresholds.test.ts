import { describe, expect, it } from 'vitest';
import { breaches } from '../../../src/rehearse/thresholds.ts';
import { formatThreshold, parseThresholds } from '../../../src/core/thresholds.ts';
import { summarise } from '../../../src/rehearse/wording.ts';
import type { MigrationRehearsal, RelationRef } from '../../../src/rehearse/model.ts';

const contents: RelationRef = { oid: 16400, name: 'public.contents', kind: 'table', createdHere: false };
const fresh: RelationRef = { oid: 16500, name: 'public.fresh', kind: 'table', createdHere: true };

function migration(over: Partial<MigrationRehearsal> = {}): MigrationRehearsal {
  return {
    name: '010_big',
    file: 'migrations/010_big.ts',
    transactional: true,
    status: 'rehearsed',
    durationMs: 2500,
    traffic: [{ table: 'public.contents', writerStallMs: 2500, readerStallMs: 2480, writerOps: 10, readerOps: 12, notes: [] }],
    summary: [],
    skippedReason: null,
    error: null,
    statements: [
      {
        index: 0,
        sql: 'ALTER TABLE contents ALTER COLUMN n TYPE bigint;',
        origin: { kind: 'call', file: 'x', method: 'alterColumn', line: 3, column: 3 },
        kind: 'AlterTableStmt:AT_AlterColumnType',
        durationMs: 2400,
        locks: [
          { mode: 'AccessExclusiveLock', relation: contents, heldMs: 2400, statementIndex: 0, observedBy: ['poll', 'snapshot'], waited: false },
          { mode: 'AccessExclusiveLock', relation: fresh, heldMs: 9000, statementIndex: 0, observedBy: ['snapshot'], waited: false },
        ],
        rewrites: [{ relation: contents, rows: 1_000_000 }],
        scans: [{ relation: contents, scans: 2, rows: 1_000_000 }],
        scanMeasure: 'pg_stat_xact_user_tables',
        lint: [],
        advice: [],
        error: null,
      },
    ],
    ...over,
  };
}

describe('report wording', () => {
  it('reads like the lock, its length, why, and the stalls', () => {
    expect(summarise(migration())).toEqual(['ACCESS EXCLUSIVE on public.contents for 2.40 s (rewrite, 1,000,000 rows; blocks reads and writes); writers stalled 2.50 s, readers 2.48 s']);
  });

  it('says when nothing that existed before was locked', () => {
    expect(summarise(migration({ statements: [] }))).toEqual(['no lock on a table that existed before the migration']);
  });
});

describe('--fail-on thresholds', () => {
  it('parses durations and flags, and rejects anything else with the list of what is allowed', () => {
    expect(parseThresholds('blocking-writes>500ms, rewrite,reader-stall>2s')).toEqual([{ kind: 'blocking-writes', overMs: 500 }, { kind: 'rewrite' }, { kind: 'reader-stall', overMs: 2000 }]);
    expect(parseThresholds('none')).toEqual([]);
    expect(parseThresholds('blocking-writes>500')).toEqual({ error: "'blocking-writes>500': '500' needs a unit (ms, s, m or h), e.g. 500s" });
    expect(parseThresholds('locks')).toMatchObject({ error: expect.stringMatching(/^'locks' is not a threshold \(use: blocking-writes>DURATION/) });
    expect(formatThreshold({ kind: 'blocking-writes', overMs: 500 })).toBe('blocking-writes>500ms');
  });

  it('names each threshold crossed, ignoring tables the migration created itself', () => {
    const all = parseThresholds('blocking-writes>500ms,blocking-reads>3s,writer-stall>1s,statement>1s,rewrite,scan,lint');
    if ('error' in all) throw new Error(all.error);
    expect(breaches([migration()], all)).toEqual([
      '010_big: ACCESS EXCLUSIVE on public.contents held 2.40 s (blocking-writes > 500 ms)',
      '010_big: writers of public.contents stalled 2.50 s (> 1.00 s)',
      '010_big: statement 1 ran 2.40 s (> 1.00 s)',
      '010_big: rewrote public.contents',
      '010_big: full scan of public.contents (1000000 rows)',
    ]);
  });
});

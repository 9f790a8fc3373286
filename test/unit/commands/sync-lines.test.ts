import { describe, expect, it } from 'vitest';
import { failedMessage, syncSummary } from '../../../src/commands/sync.ts';

const totals = (t: Partial<Record<'courses' | 'created' | 'updated' | 'unchanged' | 'planned' | 'failed' | 'rowsWritten', number>>) => ({ courses: 0, created: 0, updated: 0, unchanged: 0, planned: 0, failed: 0, rowsWritten: 0, ...t });

describe('sync lines agree with their counts', () => {
  it('the error line', () => {
    expect(failedMessage(1, 1)).toBe('the course could not be synced');
    expect(failedMessage(1, 3)).toBe('1 of 3 courses could not be synced; the other 2 were');
    expect(failedMessage(2, 3)).toBe('2 of 3 courses could not be synced; the other one was');
    expect(failedMessage(4, 4)).toBe('none of the 4 courses could be synced');
  });

  it('the summary line', () => {
    const run = { dryRun: false, durationMs: 1200, rowsPerSecond: 26 };
    expect(syncSummary({ ...run, totals: totals({ courses: 1, created: 1, rowsWritten: 31 }) })).toBe('Synced 1 course: 1 created, 0 updated, 0 unchanged; 31 rows written in 1.20 s (26 rows/s).');
    expect(syncSummary({ ...run, totals: totals({ courses: 3, created: 1, unchanged: 1, failed: 1, rowsWritten: 1 }) })).toBe('2 of 3 courses synced (1 created, 0 updated, 1 unchanged), 1 not synced; 1 row written in 1.20 s (26 rows/s).');
    expect(syncSummary({ ...run, totals: totals({ courses: 1, unchanged: 1 }) })).toBe('Nothing to change: the course matches the database.');
    expect(syncSummary({ ...run, totals: totals({ courses: 50, unchanged: 50 }) })).toBe('Nothing to change: all 50 courses match the database.');
    expect(syncSummary({ ...run, dryRun: true, totals: totals({ courses: 2, planned: 1, unchanged: 1 }) })).toBe('Dry run: 1 course would change, 1 unchanged; nothing was written.');
  });
});

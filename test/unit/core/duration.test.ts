import { describe, expect, it } from 'vitest';
import { formatBytes, formatDuration, parseDuration } from '../../../src/core/duration.ts';

describe('parseDuration', () => {
  it.each([
    ['500ms', 500],
    ['5s', 5_000],
    ['2m', 120_000],
    ['1h', 3_600_000],
    ['1.5s', 1_500],
    [' 5 s ', 5_000],
    ['0', 0],
    ['0s', 0],
    ['0.4ms', 0],
    ['2.5ms', 3],
  ])('%j is %d ms', (raw, ms) => {
    expect(parseDuration(raw)).toBe(ms);
  });

  it('rejects a bare number other than 0, suggesting the unit', () => {
    expect(parseDuration('30')).toEqual({ error: "'30' needs a unit (ms, s, m or h), e.g. 30s" });
    expect(parseDuration('2.5')).toEqual({ error: "'2.5' needs a unit (ms, s, m or h), e.g. 2.5s" });
  });

  it.each(['-1s', '5S', '5 sec', 's', '', '1d', '1e3ms', '5s5', 'abc'])('rejects %j as not a duration', (raw) => {
    expect(parseDuration(raw)).toEqual({ error: `'${raw}' is not a duration (examples: 500ms, 5s, 2m)` });
  });
});

describe('formatDuration', () => {
  it.each([
    [0, '0 ms'],
    [12.4, '12 ms'],
    [999, '999 ms'],
    [999.6, '1.00 s'],
    [1_000, '1.00 s'],
    [1_234, '1.23 s'],
    [9_994, '9.99 s'],
    [9_996, '10.0 s'],
    [12_345, '12.3 s'],
    [59_940, '59.9 s'],
    [59_999, '1 min 0 s'],
    [60_000, '1 min 0 s'],
    [61_500, '1 min 2 s'],
    [119_700, '2 min 0 s'],
    [3_725_000, '62 min 5 s'],
  ])('%d ms reads %j', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });
});

describe('formatBytes', () => {
  it.each([
    [0, '0 B'],
    [1023, '1023 B'],
    [1024, '1.0 KiB'],
    [1536, '1.5 KiB'],
    [10 * 1024, '10 KiB'],
    [10 * 1024 - 1, '10 KiB'],
    [1024 * 1024 - 1, '1.0 MiB'],
    [5 * 1024 ** 2 + 300 * 1024, '5.3 MiB'],
    [3 * 1024 ** 3, '3.0 GiB'],
    [5 * 1024 ** 5, '5120 TiB'],
  ])('%d bytes reads %j', (bytes, text) => {
    expect(formatBytes(bytes)).toBe(text);
  });
});

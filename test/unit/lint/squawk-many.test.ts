import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { findSquawk, runSquawk, runSquawkMany } from '../../../src/lint/squawk.ts';

const settings = { pgVersion: '15', assumeInTransaction: false, exclude: [] as string[] };
// Different violations on different lines in each text, so that a finding given to the wrong text shows.
const texts = [
  { filename: 'migrations/001_a.ts', sql: 'CREATE TABLE a (id int);\n' },
  { filename: 'migrations/002_b.ts', sql: 'SELECT 1;\n\nALTER TABLE b ADD COLUMN x int NOT NULL;\nCREATE INDEX b_x ON b (x);\n' },
  { filename: 'migrations/003_c.ts', sql: 'SELECT 1;\n' },
  { filename: 'migrations/004_d.ts', sql: 'DROP TABLE d;\nALTER TABLE d2 ALTER COLUMN y SET NOT NULL;\n' },
];

describe('one squawk process for several migrations', () => {
  let tmp: string;
  let saved: string | undefined;
  beforeEach(() => {
    saved = process.env.TMPDIR;
    tmp = mkdtempSync(path.join(tmpdir(), 'squawk-many-test-'));
    process.env.TMPDIR = tmp;
  });
  afterEach(() => {
    if (saved === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = saved;
    rmSync(tmp, { recursive: true, force: true });
  });

  it('gives each text the violations a squawk run of that text alone reports, and removes its files', async () => {
    const squawk = findSquawk(null);
    const together = await runSquawkMany(squawk, texts, settings);
    const alone = await Promise.all(texts.map((t) => runSquawk(squawk, { ...settings, ...t })));
    expect(together).toEqual(alone);
    expect(together.map((v) => v.length)).toEqual(alone.map((v) => v.length));
    expect(together[1]!.map((v) => v.line)).toContain(2);
    expect(together[2]).toEqual([]);
    expect(together.flat().length).toBeGreaterThan(3);
    expect(together.flat().every((v) => texts.some((t) => t.filename === v.file))).toBe(true);
    expect(readdirSync(tmp)).toEqual([]);
  });

  it('removes its files when squawk refuses the settings', async () => {
    await expect(runSquawkMany(findSquawk(null), texts, { ...settings, pgVersion: 'not-a-version' })).rejects.toThrow(/squawk/);
    expect(readdirSync(tmp)).toEqual([]);
  });
});

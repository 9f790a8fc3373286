import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checksumText, compareMigrationNames, listMigrationFiles } from '../../../src/migrations/files.ts';
import { DbkitError } from '../../../src/errors.ts';

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');
const sorted = (names: string[]) => [...names].sort(compareMigrationNames);

describe('compareMigrationNames (node-pg-migrate order)', () => {
  it('orders by numeric prefix, not by text', () => {
    expect(sorted(['10_c', '9_b', '100_d', '1_a'])).toEqual(['1_a', '9_b', '10_c', '100_d']);
    expect(sorted(['20251028120001_kiss-rls', '20251028110000_supabase-compat', '20251028120000_mind-attribution'])).toEqual([
      '20251028110000_supabase-compat',
      '20251028120000_mind-attribution',
      '20251028120001_kiss-rls',
    ]);
  });

  it('reads a 17-digit prefix as a UTC time, comparable with millisecond timestamps', () => {
    // 20251028120000000 is 2025-10-28T12:00:00.000Z = 1761652800000 ms
    expect(sorted(['20251028120000000_utc', '1761652800001_ms', '1761652799999_ms'])).toEqual(['1761652799999_ms', '20251028120000000_utc', '1761652800001_ms']);
  });

  it('breaks ties on the same prefix numerically, case-aware and blind to punctuation', () => {
    expect(sorted(['001_B', '001_a', '001-c', '001_a10', '001_a2'])).toEqual(['001_a', '001_a2', '001_a10', '001_B', '001-c']);
  });

  it('puts names without a numeric prefix last', () => {
    expect(sorted(['zeta', '2_b', 'alpha', '1_a'])).toEqual(['1_a', '2_b', 'alpha', 'zeta']);
  });

  it('is 0 only for the same name', () => {
    expect(compareMigrationNames('001_a', '001_a')).toBe(0);
    expect(compareMigrationNames('001_a', '001_b')).toBeLessThan(0);
    expect(compareMigrationNames('002_a', '001_b')).toBeGreaterThan(0);
  });
});

describe('checksumText', () => {
  it('is the sha256 of the text', () => {
    expect(checksumText('SELECT 1;\n')).toBe(sha256('SELECT 1;\n'));
    expect(checksumText('SELECT 1;\n')).toBe('b4e0497804e46e0a0b0b8c31975b062152d551bac49c3c2e80932567b4085dcd');
  });

  it('treats CRLF, CR and LF line endings alike (a Windows checkout is not drift)', () => {
    expect(checksumText('a\r\nb\r\n')).toBe(sha256('a\nb\n'));
    expect(checksumText('a\rb\r')).toBe(sha256('a\nb\n'));
  });

  it('ignores a leading byte-order mark only', () => {
    expect(checksumText('\uFEFFa\n')).toBe(sha256('a\n'));
    expect(checksumText('a\uFEFF\n')).toBe(sha256('a\uFEFF\n'));
  });

  it('changes with any other edit, even whitespace inside a line', () => {
    expect(checksumText('a b\n')).not.toBe(checksumText('a  b\n'));
    expect(checksumText('a\n')).not.toBe(checksumText('a\n\n'));
  });
});

describe('listMigrationFiles', () => {
  let root: string;
  let dir: string;
  beforeEach(() => {
    root = mkdtempSync(path.join(os.tmpdir(), 'dbkit-files-'));
    dir = path.join(root, 'migrations');
    mkdirSync(dir);
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  const write = (name: string, text = 'export const up = () => {};\n') => writeFileSync(path.join(dir, name), text);

  function preflightError(fn: () => unknown): string {
    try {
      fn();
    } catch (error) {
      expect(error).toBeInstanceOf(DbkitError);
      expect((error as DbkitError).code).toBe('PREFLIGHT_FAILED');
      return (error as DbkitError).message;
    }
    throw new Error('expected PREFLIGHT_FAILED');
  }

  it('lists .ts and .js migrations in order, with names, paths and checksums', () => {
    write('10_third.js', 'three\r\n');
    write('2_second.mjs', 'two\n');
    write('1_first.ts', 'one\n');
    expect(listMigrationFiles(dir, root)).toEqual([
      { name: '1_first', path: path.join(dir, '1_first.ts'), fileChecksum: sha256('one\n') },
      { name: '2_second', path: path.join(dir, '2_second.mjs'), fileChecksum: sha256('two\n') },
      { name: '10_third', path: path.join(dir, '10_third.js'), fileChecksum: sha256('three\n') },
    ]);
  });

  it('ignores subfolders, dotfiles and .d.ts files', () => {
    write('1_first.ts');
    write('.DS_Store', 'x');
    write('types.d.ts', 'export {};');
    mkdirSync(path.join(dir, 'support'));
    writeFileSync(path.join(dir, 'support', 'helpers.ts'), 'export {};');
    writeFileSync(path.join(dir, 'support', 'notes.md'), '# notes');
    expect(listMigrationFiles(dir, root).map((f) => f.name)).toEqual(['1_first']);
  });

  it('is an empty list for an empty folder', () => {
    expect(listMigrationFiles(dir, root)).toEqual([]);
  });

  it('refuses a missing folder, naming it relative to cwd', () => {
    expect(preflightError(() => listMigrationFiles(path.join(root, 'nope'), root))).toBe('migrations folder nope/ does not exist');
  });

  it('refuses a file given as the folder', () => {
    write('1_first.ts');
    expect(preflightError(() => listMigrationFiles(path.join(dir, '1_first.ts'), root))).toBe('migrations/1_first.ts is not a folder');
  });

  it('refuses .sql files and other extensions, listing every problem at once', () => {
    write('1_first.ts');
    write('2_second.sql', 'CREATE TABLE x ();');
    write('README');
    const [first, ...problems] = preflightError(() => listMigrationFiles(dir, root)).split('\n');
    expect(first).toBe('migrations folder migrations/ is not sane:');
    // in the folder's listing order, which depends on the file system
    expect(problems.sort()).toEqual([
      '  2_second.sql: dbkit runs .ts and .js migrations only (.sql is not supported); move other files into a subfolder',
      '  README: dbkit runs .ts and .js migrations only (no extension is not supported); move other files into a subfolder',
    ]);
  });

  it('refuses two files with the same migration name', () => {
    write('1_first.js');
    write('1_first.ts');
    expect([
      'migrations folder migrations/ is not sane:\n  1_first.ts and 1_first.js have the same migration name "1_first"',
      'migrations folder migrations/ is not sane:\n  1_first.js and 1_first.ts have the same migration name "1_first"',
    ]).toContain(preflightError(() => listMigrationFiles(dir, root)));
  });
});

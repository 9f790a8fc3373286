import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checksumText, compareMigrationNames, folderFormatOf, listMigrationFiles, readMigrationFolder, runnerIgnorePattern } from '../../../src/migrations/files.ts';
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

  it('runs .sql files; refuses other files the ignore pattern does not exclude, listing every problem at once and naming the setting', () => {
    write('1_first.ts');
    write('2_second.sql', 'CREATE TABLE x ();');
    write('README');
    write('package.json', '{}');
    let error: DbkitError | null = null;
    try {
      listMigrationFiles(dir, root);
    } catch (e) {
      error = e as DbkitError;
    }
    expect(error?.code).toBe('PREFLIGHT_FAILED');
    const [first, ...problems] = error!.message.split('\n');
    expect(first).toBe('migrations folder migrations/ is not sane:');
    // in the folder's listing order, which depends on the file system
    expect(problems.sort()).toEqual([
      '  README: not a migration dbkit can run (no extension; migrations are .ts, .js or .sql) and not matched by the ignore pattern \\..*',
      '  package.json: not a migration dbkit can run (.json; migrations are .ts, .js or .sql) and not matched by the ignore pattern \\..*',
    ]);
    expect(error!.hint).toContain('--ignore-pattern');
    expect(error!.hint).toContain('DBKIT_IGNORE_PATTERN');
    expect(error!.hint).toContain('ignorePattern in dbkit.config.json');
  });

  it('leaves out what the ignore pattern matches, as node-pg-migrate builds it (^pattern$)', () => {
    write('1_first.ts');
    write('2_second.sql', 'SELECT 1;');
    write('package.json', '{}');
    write('.eslintrc.js', 'module.exports = {};');
    write('README.md', '# notes');
    expect(listMigrationFiles(dir, root, '(\\..*|package\\.json|.*\\.md)').map((f) => f.name)).toEqual(['1_first', '2_second']);
    // anchored at both ends: "first" alone does not match 1_first.ts
    expect(() => listMigrationFiles(dir, root, 'first')).toThrow(/package\.json/);
  });

  it('refuses a migration without a numeric prefix (node-pg-migrate cannot order it)', () => {
    write('1_first.ts');
    write('helpers.ts', 'export {};');
    expect(preflightError(() => listMigrationFiles(dir, root))).toBe(
      'migrations folder migrations/ is not sane:\n  helpers.ts: a migration\'s name must start with a number (node-pg-migrate orders by it) and it is not matched by the ignore pattern \\..*',
    );
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

describe('a Supabase CLI folder (supabase/migrations)', () => {
  let root: string;
  let dir: string;
  beforeEach(() => {
    root = mkdtempSync(path.join(os.tmpdir(), 'dbkit-files-'));
    dir = path.join(root, 'supabase', 'migrations');
    mkdirSync(dir, { recursive: true });
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));
  const write = (name: string, text = 'select 1;\n') => writeFileSync(path.join(dir, name), text);

  it('is recognised by its location', () => {
    expect(folderFormatOf(dir)).toBe('supabase');
    expect(folderFormatOf(path.join(root, 'migrations'))).toBe('node-pg-migrate');
  });

  it('takes <version>_<name>.sql files in name order and skips the rest as the CLI does, saying why', () => {
    write('20240102000000_second.sql');
    write('20240101000000_first.sql');
    write('README.md', '# notes');
    write('.gitkeep', '');
    write('seed.sql');
    mkdirSync(path.join(dir, 'archive'));
    const folder = readMigrationFolder(dir, { cwd: root });
    expect(folder.format).toBe('supabase');
    expect(folder.files.map((f) => f.name)).toEqual(['20240101000000_first', '20240102000000_second']);
    expect(folder.skipped.map((s) => s.file).sort()).toEqual(['.gitkeep', 'README.md', 'seed.sql']);
    expect(folder.skipped[0]!.reason).toContain('<timestamp>_<name>.sql');
  });

  it('skips an old init schema dump when it is the first file, as the CLI does', () => {
    write('20211208000000_init.sql');
    write('20211210000000_next.sql');
    const folder = readMigrationFolder(dir, { cwd: root });
    expect(folder.files.map((f) => f.name)).toEqual(['20211210000000_next']);
    expect(folder.skipped).toEqual([{ file: '20211208000000_init.sql', reason: 'an init schema dump from before 2021-12-09, which the Supabase CLI skips' }]);
  });

  it('refuses two files with the same version, and versions whose name order and number order differ', () => {
    write('20240101000000_a.sql');
    write('20240101000000_b.sql');
    expect(preflight(() => readMigrationFolder(dir, { cwd: root }))).toContain('20240101000000_b.sql and 20240101000000_a.sql have the same version 20240101000000');
    rmSync(path.join(dir, '20240101000000_b.sql'));
    write('9_short.sql');
    expect(preflight(() => readMigrationFolder(dir, { cwd: root }))).toContain('sort differently by name and by version number');
  });

  function preflight(fn: () => unknown): string {
    try {
      fn();
    } catch (error) {
      expect((error as DbkitError).code).toBe('PREFLIGHT_FAILED');
      return (error as DbkitError).message;
    }
    throw new Error('expected PREFLIGHT_FAILED');
  }
});

describe('runnerIgnorePattern', () => {
  it('lets node-pg-migrate see exactly the files dbkit read', () => {
    const files = ['/m/1_a.ts', '/m/2_b (copy).sql', '/m/3_c$.js'].map((p) => ({ name: path.basename(p), path: p, fileChecksum: '' }));
    const ignore = new RegExp(`^${runnerIgnorePattern(files)}$`);
    expect(['1_a.ts', '2_b (copy).sql', '3_c$.js'].map((n) => ignore.test(n))).toEqual([false, false, false]);
    expect(['README.md', '1_a.tsx', 'x1_a.ts', '.1_a.ts', 'package.json'].map((n) => ignore.test(n))).toEqual([true, true, true, true, true]);
    expect(new RegExp(`^${runnerIgnorePattern([])}$`).test('1_a.ts')).toBe(true);
  });
});

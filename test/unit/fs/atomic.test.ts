import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { writeFileAtomic, writeFileAtomicSync } from '../../../src/fs/atomic.ts';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'dbkit-atomic-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe.each([
  ['writeFileAtomicSync', async (...args: Parameters<typeof writeFileAtomicSync>) => writeFileAtomicSync(...args)],
  ['writeFileAtomic', writeFileAtomic],
] as const)('%s', (_name, write) => {
  it('replaces the file whole and leaves no temporary file', async () => {
    const file = path.join(dir, 'a.json');
    writeFileSync(file, 'old');
    await write(file, 'new', {});
    expect(readFileSync(file, 'utf8')).toBe('new');
    expect(readdirSync(dir)).toEqual(['a.json']);
  });

  it('replaces a symlink planted at the file instead of writing through it', async () => {
    const outside = path.join(dir, 'outside');
    writeFileSync(outside, 'precious');
    const file = path.join(dir, 'state.json');
    symlinkSync(outside, file);
    await write(file, 'mine', { mode: 0o600 });
    expect(readFileSync(outside, 'utf8')).toBe('precious');
    expect(lstatSync(file).isSymbolicLink()).toBe(false);
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it('exclusive: refuses a file or a dangling symlink already there (EEXIST), and changes neither', async () => {
    const file = path.join(dir, 'init.ts');
    writeFileSync(file, 'theirs');
    await expect(write(file, 'ours', { exclusive: true })).rejects.toMatchObject({ code: 'EEXIST' });
    expect(readFileSync(file, 'utf8')).toBe('theirs');
    const link = path.join(dir, 'planted.ts');
    const target = path.join(dir, 'created-through-link');
    symlinkSync(target, link);
    await expect(write(link, 'ours', { exclusive: true })).rejects.toMatchObject({ code: 'EEXIST' });
    expect(existsSync(target)).toBe(false);
    expect(readdirSync(dir).sort()).toEqual(['init.ts', 'planted.ts']);
  });

  it('a failed rename removes the temporary file', async () => {
    const occupied = path.join(dir, 'occupied');
    mkdirSync(occupied);
    writeFileSync(path.join(occupied, 'x'), 'x');
    await expect(write(occupied, 'content', {})).rejects.toThrow();
    expect(readdirSync(dir)).toEqual(['occupied']);
  });

  it('a fixed temporary name left by a killed run is replaced, and gone afterwards', async () => {
    writeFileSync(path.join(dir, 'b1.json.tmp'), 'half');
    await write(path.join(dir, 'b1.json'), '{}', { temporaryName: 'b1.json.tmp', durable: true });
    expect(readdirSync(dir)).toEqual(['b1.json']);
  });

  it('createFolder makes the missing folders', async () => {
    const file = path.join(dir, 'course', 'module', 'lesson.md');
    await write(file, '# one', { createFolder: true });
    expect(readFileSync(file, 'utf8')).toBe('# one');
  });
});

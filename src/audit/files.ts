/**
 * The files rls-audit writes (SARIF, --snapshot, --export-pgtap), each replaced whole or not at
 * all, and where SARIF results point: the file in policies/ or migrations/ that names the object.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { DbkitError } from '../errors.js';
import { writeFileAtomic } from '../fs/atomic.js';
import type { Locate } from './sarif.js';

/** Writes `content` to `file` atomically (temporary file, then rename); a failure is a one-line USAGE error. */
export async function writeOutput(file: string, content: string, what: string): Promise<void> {
  try {
    await writeFileAtomic(file, content, { createFolder: true });
  } catch (error) {
    throw new DbkitError('USAGE', `cannot write ${what} to ${file}: ${(error as Error).message}`, { hint: 'check that the folder exists and is writable' });
  }
}

/** The first line of a file in `dirs` that names the object (by its last name part). */
export function locator(dirs: readonly string[], cwd: string): Locate {
  const files: { uri: string; lines: string[] }[] = [];
  for (const dir of dirs) {
    if (!existsSync(dir)) continue;
    for (const f of readdirSync(dir).filter((n) => /\.(ts|js|sql)$/.test(n)).sort()) {
      files.push({ uri: path.relative(cwd, path.join(dir, f)).split(path.sep).join('/'), lines: readFileSync(path.join(dir, f), 'utf8').split('\n') });
    }
  }
  return (object) => {
    const name = object.replace(/\(.*\)$/, '').split('.').pop() ?? object;
    for (const file of files) {
      const index = file.lines.findIndex((l) => new RegExp(`\\b${name.replace(/[^A-Za-z0-9_]/g, '')}\\b`).test(l));
      if (index >= 0) return { uri: file.uri, line: index + 1 };
    }
    return null;
  };
}

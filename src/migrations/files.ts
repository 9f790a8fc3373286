/**
 * The migrations folder: which files are migrations, in what order, and their checksums.
 * Ordering follows node-pg-migrate (numeric prefix first, then name), so dbkit and the runner
 * never disagree about what comes next.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { DbkitError } from '../errors.js';

export const MIGRATION_EXTENSIONS = ['.ts', '.js', '.mjs', '.cjs', '.mts', '.cts'] as const;

export interface MigrationFile {
  /** node-pg-migrate's name: the file name without extension; the key in the tracking table. */
  name: string;
  path: string;
  fileChecksum: string;
}

/** sha256 of the file with line endings normalised, so a checkout on Windows is not "drift". */
export function checksumText(text: string): string {
  const normalised = text.replace(/^\uFEFF/, '').replace(/\r\n?/g, '\n');
  return createHash('sha256').update(normalised, 'utf8').digest('hex');
}

/** As node-pg-migrate reads it: a 17-digit prefix is a UTC time (YYYYMMDDhhmmssSSS), in ms. */
function numericPrefix(name: string): number {
  const match = /^(\d+)/.exec(name);
  if (!match) return Number.POSITIVE_INFINITY;
  const p = match[1]!;
  if (p.length === 17) return Date.parse(`${p.slice(0, 4)}-${p.slice(4, 6)}-${p.slice(6, 8)}T${p.slice(8, 10)}:${p.slice(10, 12)}:${p.slice(12, 14)}.${p.slice(14)}Z`);
  return Number(p);
}

/** node-pg-migrate's order (its comparator is not exported): numeric prefix, then a numeric, punctuation-blind compare. */
export function compareMigrationNames(a: string, b: string): number {
  const diff = numericPrefix(a) - numericPrefix(b);
  if (diff !== 0 && !Number.isNaN(diff)) return diff;
  return a.localeCompare(b, undefined, { usage: 'sort', numeric: true, sensitivity: 'variant', ignorePunctuation: true });
}

export function listMigrationFiles(dir: string, cwd = process.cwd()): MigrationFile[] {
  const shown = path.relative(cwd, dir) || dir;
  if (!existsSync(dir)) {
    throw new DbkitError('PREFLIGHT_FAILED', `migrations folder ${shown}/ does not exist`, { hint: 'run dbkit from your project root, or pass --migrations-dir' });
  }
  if (!statSync(dir).isDirectory()) throw new DbkitError('PREFLIGHT_FAILED', `${shown} is not a folder`, { hint: 'pass --migrations-dir <folder>' });
  const problems: string[] = [];
  const files: MigrationFile[] = [];
  const seen = new Map<string, string>();
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    // Subfolders hold support code (helpers, expectations); dotfiles are ignored, as in node-pg-migrate.
    if (entry.name.startsWith('.')) continue;
    // node-pg-migrate runs symlinked migration files too.
    if (!entry.isFile() && !(entry.isSymbolicLink() && statSync(path.join(dir, entry.name), { throwIfNoEntry: false })?.isFile())) continue;
    const ext = path.extname(entry.name);
    if (entry.name.endsWith('.d.ts')) continue;
    if (!MIGRATION_EXTENSIONS.includes(ext as (typeof MIGRATION_EXTENSIONS)[number])) {
      problems.push(`${entry.name}: dbkit runs .ts and .js migrations only (${ext || 'no extension'} is not supported); move other files into a subfolder`);
      continue;
    }
    const name = path.basename(entry.name, ext);
    const other = seen.get(name);
    if (other) {
      problems.push(`${entry.name} and ${other} have the same migration name "${name}"`);
      continue;
    }
    seen.set(name, entry.name);
    const full = path.join(dir, entry.name);
    files.push({ name, path: full, fileChecksum: checksumText(readFileSync(full, 'utf8')) });
  }
  if (problems.length > 0) throw new DbkitError('PREFLIGHT_FAILED', `migrations folder ${shown}/ is not sane:\n  ${problems.join('\n  ')}`);
  return files.sort((a, b) => compareMigrationNames(a.name, b.name));
}

/**
 * The migrations folder: which files are migrations, in what order, and their checksums, read the
 * way the folder's own tool reads it, so that dbkit and that tool never disagree about what comes
 * next:
 *
 * - a node-pg-migrate folder: every file whose name does not match the ignore pattern (its
 *   `--ignore-pattern`, dotfiles by default) is a migration, ordered by node-pg-migrate's
 *   comparator (numeric prefix first, then the name);
 * - a Supabase CLI folder (`.../supabase/migrations`): files named `<version>_<name>.sql`, in
 *   file-name order; other files are skipped, as the CLI skips them (saying so).
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, statSync, type Dirent } from 'node:fs';
import path from 'node:path';
import { DbkitError } from '../errors.js';
import { DEFAULT_IGNORE_PATTERN } from '../config.js';
import { supabaseFileName, supabaseSkipsAsInit, type SqlFormat } from './sql-file.js';

export const MIGRATION_EXTENSIONS = ['.ts', '.js', '.mjs', '.cjs', '.mts', '.cts'] as const;
export const SQL_EXTENSION = '.sql';

/** How a folder is read: node-pg-migrate's rules, or the Supabase CLI's. */
export const FOLDER_FORMATS = ['node-pg-migrate', 'supabase'] as const satisfies readonly SqlFormat[];
export type FolderFormat = (typeof FOLDER_FORMATS)[number];

export interface MigrationFile {
  /** node-pg-migrate's name: the file name without extension; the key in the tracking table. */
  name: string;
  path: string;
  fileChecksum: string;
}

export interface SkippedFile {
  file: string;
  reason: string;
}

export interface MigrationFolder {
  dir: string;
  format: FolderFormat;
  files: MigrationFile[];
  /** Files the folder's tool skips too (Supabase's naming rule), with why; shown at pre-flight. */
  skipped: SkippedFile[];
}

/** sha256 of the file with line endings normalised, so a checkout on Windows is not "drift". */
export function checksumText(text: string): string {
  const normalised = text.replace(/^\uFEFF/, '').replace(/\r\n?/g, '\n');
  return createHash('sha256').update(normalised, 'utf8').digest('hex');
}

/** As node-pg-migrate reads it: a 17-digit prefix is a UTC time (YYYYMMDDhhmmssSSS), in ms; null without a prefix. */
function numericPrefix(name: string): number | null {
  const match = /^(\d+)/.exec(name);
  if (!match) return null;
  const p = match[1]!;
  if (p.length === 17) return Date.parse(`${p.slice(0, 4)}-${p.slice(4, 6)}-${p.slice(6, 8)}T${p.slice(8, 10)}:${p.slice(10, 12)}:${p.slice(12, 14)}.${p.slice(14)}Z`);
  return Number(p);
}

/** node-pg-migrate's order (its comparator is not exported): numeric prefix, then a numeric, punctuation-blind compare. */
export function compareMigrationNames(a: string, b: string): number {
  const diff = (numericPrefix(a) ?? Number.POSITIVE_INFINITY) - (numericPrefix(b) ?? Number.POSITIVE_INFINITY);
  if (diff !== 0 && !Number.isNaN(diff)) return diff;
  return a.localeCompare(b, undefined, { usage: 'sort', numeric: true, sensitivity: 'variant', ignorePunctuation: true });
}

/** The Supabase CLI's order: Go's os.ReadDir, by file name, byte by byte. */
const compareBytes = (a: string, b: string) => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));

/** A folder at `.../supabase/migrations` is a Supabase CLI folder; any other is node-pg-migrate's. */
export function folderFormatOf(dir: string): FolderFormat {
  const resolved = path.resolve(dir);
  return path.basename(resolved) === 'migrations' && path.basename(path.dirname(resolved)) === 'supabase' ? 'supabase' : 'node-pg-migrate';
}

const IGNORE_HINT = 'exclude it with --ignore-pattern <regex> (DBKIT_IGNORE_PATTERN, or ignorePattern in dbkit.config.json; node-pg-migrate\'s --ignore-pattern), or move it into a subfolder';

function isFileEntry(dir: string, entry: Dirent): boolean {
  // Symlinked migration files run too, as in both tools.
  return entry.isFile() || (entry.isSymbolicLink() && statSync(path.join(dir, entry.name), { throwIfNoEntry: false })?.isFile() === true);
}

function fileOf(dir: string, fileName: string, name: string): MigrationFile {
  const full = path.join(dir, fileName);
  return { name, path: full, fileChecksum: checksumText(readFileSync(full, 'utf8')) };
}

function nodePgMigrateFiles(dir: string, entries: Dirent[], ignorePattern: string, problems: string[]): MigrationFile[] {
  // node-pg-migrate, src/migration.ts: new RegExp(`^${ignorePattern}$`).
  const ignore = new RegExp(`^${ignorePattern}$`);
  const files: MigrationFile[] = [];
  const seen = new Map<string, string>();
  for (const entry of entries) {
    if (ignore.test(entry.name) || !isFileEntry(dir, entry)) continue;
    // Compiled type declarations beside .js migrations are never migrations.
    if (entry.name.endsWith('.d.ts')) continue;
    const ext = path.extname(entry.name);
    if (![...MIGRATION_EXTENSIONS, SQL_EXTENSION].includes(ext as never)) {
      problems.push(`${entry.name}: not a migration dbkit can run (${ext || 'no extension'}; migrations are .ts, .js or .sql) and not matched by the ignore pattern ${ignorePattern}`);
      continue;
    }
    const name = path.basename(entry.name, ext);
    if (numericPrefix(name) === null) {
      problems.push(`${entry.name}: a migration's name must start with a number (node-pg-migrate orders by it) and it is not matched by the ignore pattern ${ignorePattern}`);
      continue;
    }
    const other = seen.get(name);
    if (other) {
      problems.push(`${entry.name} and ${other} have the same migration name "${name}"`);
      continue;
    }
    seen.set(name, entry.name);
    files.push(fileOf(dir, entry.name, name));
  }
  // node-pg-migrate compares file names, extension included.
  return files.sort((a, b) => compareMigrationNames(path.basename(a.path), path.basename(b.path)));
}

function supabaseFiles(dir: string, entries: Dirent[], skipped: SkippedFile[], problems: string[]): MigrationFile[] {
  const files: MigrationFile[] = [];
  const versions = new Map<string, string>();
  const sorted = [...entries].sort((a, b) => compareBytes(a.name, b.name));
  sorted.forEach((entry, index) => {
    if (entry.isDirectory() || !isFileEntry(dir, entry)) return;
    if (index === 0 && supabaseSkipsAsInit(entry.name)) {
      skipped.push({ file: entry.name, reason: 'an init schema dump from before 2021-12-09, which the Supabase CLI skips' });
      return;
    }
    const parsed = supabaseFileName(entry.name);
    if (!parsed) {
      skipped.push({ file: entry.name, reason: 'not named <timestamp>_<name>.sql, so the Supabase CLI skips it' });
      return;
    }
    const other = versions.get(parsed.version);
    if (other) problems.push(`${entry.name} and ${other} have the same version ${parsed.version} (supabase_migrations.schema_migrations keeps one row per version)`);
    versions.set(parsed.version, entry.name);
    files.push(fileOf(dir, entry.name, path.basename(entry.name, SQL_EXTENSION)));
  });
  // dbkit runs them through node-pg-migrate's runner, which orders by numeric prefix: the two orders must agree.
  const runnerOrder = [...files].sort((a, b) => compareMigrationNames(path.basename(a.path), path.basename(b.path)));
  const at = runnerOrder.findIndex((f, i) => f !== files[i]);
  if (at >= 0) {
    problems.push(`${path.basename(files[at]!.path)} and ${path.basename(runnerOrder[at]!.path)} sort differently by name and by version number (versions of different lengths); give the versions the same number of digits`);
  }
  return files;
}

export interface ReadFolderOptions {
  cwd?: string;
  /** node-pg-migrate's --ignore-pattern (a node-pg-migrate folder only). */
  ignorePattern?: string;
  /** Read as this tool does; by default from the folder's location (folderFormatOf). */
  format?: FolderFormat;
}

export function readMigrationFolder(dir: string, options: ReadFolderOptions = {}): MigrationFolder {
  const cwd = options.cwd ?? process.cwd();
  const shown = path.relative(cwd, dir) || dir;
  if (!existsSync(dir)) {
    throw new DbkitError('PREFLIGHT_FAILED', `migrations folder ${shown}/ does not exist`, { hint: 'run dbkit from your project root, or pass --migrations-dir' });
  }
  if (!statSync(dir).isDirectory()) throw new DbkitError('PREFLIGHT_FAILED', `${shown} is not a folder`, { hint: 'pass --migrations-dir <folder>' });
  const format = options.format ?? folderFormatOf(dir);
  const ignorePattern = options.ignorePattern ?? DEFAULT_IGNORE_PATTERN;
  const problems: string[] = [];
  const skipped: SkippedFile[] = [];
  const entries = readdirSync(dir, { withFileTypes: true });
  const files = format === 'supabase' ? supabaseFiles(dir, entries, skipped, problems) : nodePgMigrateFiles(dir, entries, ignorePattern, problems);
  if (problems.length > 0) {
    const hint = problems.some((p) => p.includes('ignore pattern')) ? `for a file that is not a migration, ${IGNORE_HINT}. Nothing was changed.` : 'Nothing was changed.';
    throw new DbkitError('PREFLIGHT_FAILED', `migrations folder ${shown}/ is not sane:\n  ${problems.join('\n  ')}`, { hint });
  }
  return { dir, format, files, skipped };
}

/** The migration files of a folder (see readMigrationFolder). */
export function listMigrationFiles(dir: string, cwd = process.cwd(), ignorePattern = DEFAULT_IGNORE_PATTERN): MigrationFile[] {
  return readMigrationFolder(dir, { cwd, ignorePattern }).files;
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');

/**
 * The ignore pattern handed to node-pg-migrate's runner so that it sees exactly the files dbkit
 * read (and nothing a folder's tool would skip): every name except these.
 */
export function runnerIgnorePattern(files: readonly MigrationFile[]): string {
  if (files.length === 0) return '.*';
  return `(?!(?:${files.map((f) => escapeRegExp(path.basename(f.path))).join('|')})$).*`;
}

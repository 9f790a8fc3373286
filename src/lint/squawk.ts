/**
 * Running squawk (the PostgreSQL migration linter, a Rust binary shipped in an npm package) over
 * SQL text on stdin and reading its JSON report. The binary is found, in order: the setting
 * DBKIT_SQUAWK, the platform package @squawk-cli/<os>-<arch> (the one dbkit installs), the
 * squawk-cli wrapper package, `squawk` on PATH.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { devNull, tmpdir } from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { DbkitError } from '../errors.js';

const PLATFORM_PACKAGES: Record<string, string> = {
  'darwin-x64': '@squawk-cli/darwin-x64',
  'darwin-arm64': '@squawk-cli/darwin-arm64',
  'linux-x64': '@squawk-cli/linux-x64',
  'linux-arm64': '@squawk-cli/linux-arm64',
  'win32-x64': '@squawk-cli/win32-x64',
};

const SquawkViolation = z.object({
  file: z.string(),
  line: z.number().int(),
  column: z.number().int(),
  line_end: z.number().int().optional(),
  column_end: z.number().int().optional(),
  level: z.string(),
  message: z.string(),
  help: z.string().nullable().optional(),
  rule_name: z.string(),
});
const SquawkReport = z.array(SquawkViolation);
export type SquawkViolation = z.infer<typeof SquawkViolation>;

export interface SquawkBinary {
  path: string;
  version: string;
}

let cached: SquawkBinary | null = null;

function candidates(configured: string | null): string[] {
  if (configured) return [configured];
  const require = createRequire(import.meta.url);
  const found: string[] = [];
  const pkg = PLATFORM_PACKAGES[`${process.platform}-${process.arch}`];
  const exe = process.platform === 'win32' ? 'squawk.exe' : 'squawk';
  if (pkg) {
    try {
      found.push(require.resolve(`${pkg}/bin/${exe}`));
    } catch {
      // not installed for this platform
    }
  }
  try {
    const wrapper = require('squawk-cli') as { getBinaryPath?: () => string };
    if (wrapper.getBinaryPath) found.push(wrapper.getBinaryPath());
  } catch {
    // the wrapper package is optional
  }
  found.push('squawk');
  return found;
}

/** Finds a working squawk binary (it must answer --version). */
export function findSquawk(configured: string | null): SquawkBinary {
  if (cached && (configured === null || cached.path === configured)) return cached;
  for (const candidate of candidates(configured)) {
    if (candidate.includes('/') && !existsSync(candidate)) continue;
    const probe = spawnSync(candidate, ['--version'], { encoding: 'utf8', timeout: 10_000 });
    const version = /squawk\s+(\S+)/.exec(probe.stdout ?? '')?.[1];
    if (probe.status === 0 && version) {
      cached = { path: candidate, version };
      return cached;
    }
  }
  throw new DbkitError('LINTER_UNAVAILABLE', configured ? `squawk at ${configured} (DBKIT_SQUAWK) does not run` : `no squawk binary for ${process.platform}-${process.arch} was found`, {
    hint: `npm install ${PLATFORM_PACKAGES[`${process.platform}-${process.arch}`] ?? 'squawk-cli'}, or point DBKIT_SQUAWK at a squawk binary`,
  });
}

export interface SquawkRun {
  sql: string;
  /** The name findings are reported under. */
  filename: string;
  pgVersion: string | null;
  assumeInTransaction: boolean;
  exclude: readonly string[];
}

type SquawkSettings = Omit<SquawkRun, 'sql' | 'filename'>;

function settingArgs(run: SquawkSettings): string[] {
  // dbkit's own config decides; a stray .squawk.toml in the project must not change the findings.
  const args = [run.assumeInTransaction ? '--assume-in-transaction' : '--no-assume-in-transaction', '--config', devNull];
  if (run.pgVersion) args.push('--pg-version', run.pgVersion);
  if (run.exclude.length > 0) args.push(`--exclude=${run.exclude.join(',')}`);
  return args;
}

/** Lints one SQL text; returns squawk's violations (squawk exits 1 when it finds any). */
export async function runSquawk(binary: SquawkBinary, run: SquawkRun): Promise<SquawkViolation[]> {
  return squawkReport(binary, ['--reporter', 'json', '--stdin-filepath', run.filename, ...settingArgs(run)], run.sql, run.filename);
}

/** squawk reads its path arguments as glob patterns: a temp dir with pattern characters is not used. */
const PLAIN_PATH = /^[\w./\\:~ -]+$/;

/**
 * Lints several SQL texts with one squawk process (one process start instead of one per text):
 * each is written 0600 into a private temporary directory that is removed afterwards. Returns
 * each text's violations, in the order given; same settings and findings as runSquawk per text.
 */
export async function runSquawkMany(binary: SquawkBinary, texts: readonly { sql: string; filename: string }[], settings: SquawkSettings): Promise<SquawkViolation[][]> {
  if (texts.length <= 1 || !PLAIN_PATH.test(tmpdir())) return Promise.all(texts.map((t) => runSquawk(binary, { ...settings, ...t })));
  const dir = await mkdtemp(path.join(tmpdir(), 'dbkit-lint-'));
  try {
    const files = texts.map((_, i) => path.join(dir, `${i}.sql`));
    await Promise.all(texts.map((t, i) => writeFile(files[i]!, t.sql, { mode: 0o600, flag: 'wx' })));
    const violations = await squawkReport(binary, ['--reporter', 'json', ...settingArgs(settings), ...files], '', texts.map((t) => t.filename).join(', '));
    const indexOf = new Map(files.map((f, i) => [f, i]));
    const byText: SquawkViolation[][] = texts.map(() => []);
    for (const v of violations) {
      const i = indexOf.get(path.resolve(dir, v.file));
      if (i === undefined) throw new DbkitError('LINTER_UNAVAILABLE', `squawk reported a file dbkit did not give it (${v.file})`, { hint: `squawk ${binary.version}: dbkit expects 2.x` });
      byText[i]!.push({ ...v, file: texts[i]!.filename });
    }
    return byText;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function squawkReport(binary: SquawkBinary, args: string[], stdin: string, shown: string): Promise<SquawkViolation[]> {
  const child = spawn(binary.path, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  });
  child.stdin.on('error', () => {});
  child.stdin.end(stdin);
  const code = await exited;
  if (code !== 0 && code !== 1) {
    throw new DbkitError('LINTER_UNAVAILABLE', `squawk failed on ${shown} (exit ${code}): ${stderr.trim().split('\n')[0] ?? ''}`, { hint: 'check the lint settings (lintPgVersion, lintExclude)' });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(stdout.trim() === '' ? '[]' : stdout);
  } catch {
    throw new DbkitError('LINTER_UNAVAILABLE', `squawk printed something other than its JSON report for ${shown}`, { hint: `squawk ${binary.version} at ${binary.path}: expected 2.x` });
  }
  const report = SquawkReport.safeParse(parsed);
  if (!report.success) throw new DbkitError('LINTER_UNAVAILABLE', `squawk's JSON report for ${shown} has an unexpected shape`, { hint: `squawk ${binary.version}: dbkit expects 2.x` });
  return report.data;
}

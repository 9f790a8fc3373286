/**
 * dbkit init: sets dbkit up in an existing repository. Detects the migration folder its tools use
 * (Supabase CLI, node-pg-migrate), then writes dbkit.config.json, an example policies module, an
 * example pgTAP test and .env.example. It never overwrites a file: each one that exists is
 * reported as skipped. Needs no database.
 */
import { lstatSync, mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { CONFIG_FILE_NAME } from '../config.js';
import { DbkitError } from '../errors.js';
import { errorDocument, printError, type ErrorDocument } from '../output/errors.js';
import { humanReporter, type Reporter } from '../output/terminal.js';
import { scrubKnownSecrets } from '../output/secrets.js';
// detect.ts parses with zod: loaded when init runs, so that `dbkit --help` stays light.
import type { Detection } from '../init/detect.js';
import { envExample, PGTAP_EXAMPLE, planConfig, POLICIES_EXAMPLE } from '../init/templates.js';
import { writeFileAtomicSync } from '../fs/atomic.js';

export interface InitOptions {
  /** Use this migrations folder instead of the detected one. */
  migrationsDir: string | null;
  /** Where to write the config (the global --config), relative to the repository. */
  configFile: string;
}

export const INIT_FILE_STATUSES = ['written', 'skipped', 'failed'] as const;
export type InitFileStatus = (typeof INIT_FILE_STATUSES)[number];

export interface InitFile {
  path: string;
  status: InitFileStatus;
  /** Why it was skipped or failed. */
  reason: string | null;
}

export interface InitReport {
  command: 'init';
  ok: boolean;
  detected: Detection;
  config: Record<string, string>;
  /** Detected settings this dbkit has no config key for (not written). */
  notWritten: Record<string, string>;
  files: InitFile[];
  next: string[];
  error: ErrorDocument | null;
}

const POLICIES_DIR = 'policies';
const TESTS_DIR = 'tests-sql';

/** Whether `dir` (relative) already holds files matching `pattern`, or is not a real folder. */
function folderState(cwd: string, dir: string, pattern: RegExp): 'absent' | 'empty' | 'used' | 'not-a-folder' {
  const full = path.join(cwd, dir);
  let stat;
  try {
    stat = lstatSync(full);
  } catch {
    return 'absent';
  }
  if (!stat.isDirectory()) return 'not-a-folder';
  return readdirSync(full).some((f) => pattern.test(f)) ? 'used' : 'empty';
}

/** Creates `file` only if nothing is at that path (O_EXCL: never through a symlink, never over a file). */
function writeNew(cwd: string, file: string, content: string): InitFile {
  const full = path.join(cwd, file);
  const failed = (error: unknown): InitFile => ({ path: file, status: 'failed', reason: `${(error as NodeJS.ErrnoException).code ?? 'error'}: ${(error as Error).message.split('\n')[0]}` });
  try {
    mkdirSync(path.dirname(full), { recursive: true });
  } catch (error) {
    return failed(error);
  }
  try {
    writeFileAtomicSync(full, content, { mode: 0o644, exclusive: true });
    return { path: file, status: 'written', reason: null };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return { path: file, status: 'skipped', reason: 'exists; left as it is' };
    return failed(error);
  }
}

export async function initProject(cwd: string, options: InitOptions): Promise<InitReport> {
  const { detectProject, repositoryPath } = await import('../init/detect.js');
  const detected = detectProject(cwd);
  if (options.migrationsDir !== null) {
    const dir = repositoryPath(cwd, options.migrationsDir);
    if (!dir) throw new DbkitError('USAGE', `--migrations-dir ${options.migrationsDir} must be a folder inside this repository`);
    detected.migrationsDir = dir;
    detected.evidence.push(`--migrations-dir ${dir}`);
  }
  const configFile = repositoryPath(cwd, options.configFile);
  if (!configFile) throw new DbkitError('USAGE', `--config ${options.configFile} must be a file inside this repository`);
  const { config, notWritten } = planConfig(detected, { policiesDir: POLICIES_DIR, testsDir: TESTS_DIR });
  const files: InitFile[] = [writeNew(cwd, configFile, `${JSON.stringify(config, null, 2)}\n`)];
  const examples = [
    { dir: POLICIES_DIR, file: `${POLICIES_DIR}/rls.ts`, pattern: /\.(ts|js|mjs)$/, content: POLICIES_EXAMPLE, what: 'policy modules' },
    { dir: TESTS_DIR, file: `${TESTS_DIR}/example.sql`, pattern: /\.sql$/, content: PGTAP_EXAMPLE, what: 'pgTAP files' },
  ];
  for (const example of examples) {
    const state = folderState(cwd, example.dir, example.pattern);
    if (state === 'used') files.push({ path: example.file, status: 'skipped', reason: `${example.dir}/ already holds ${example.what}` });
    else if (state === 'not-a-folder') files.push({ path: example.file, status: 'skipped', reason: `${example.dir} is not a folder (a file or a link)` });
    else files.push(writeNew(cwd, example.file, example.content));
  }
  files.push(writeNew(cwd, '.env.example', envExample(config)));
  const failed = files.filter((f) => f.status === 'failed');
  const error = failed.length > 0
    ? errorDocument(new DbkitError('INIT_FAILED', `could not write ${failed.map((f) => `${f.path} (${f.reason})`).join(', ')}`, { hint: 'fix the folder permissions and run dbkit init again: it skips what it already wrote' }))
    : null;
  return {
    command: 'init',
    ok: error === null,
    detected,
    config,
    notWritten,
    files,
    next: ['npx dbkit status', 'npx dbkit apply --dry-run', 'npx dbkit rls-audit --no-matrix'],
    error,
  };
}

const TOOL_NAMES: Record<Detection['tool'], string> = {
  supabase: 'Supabase CLI migrations',
  'node-pg-migrate': 'node-pg-migrate',
  none: 'no migration tool',
};

export function renderInit(report: InitReport, reporter: Reporter): void {
  const c = reporter.color;
  const d = report.detected;
  reporter.info(`${c.bold('Detected')}  ${TOOL_NAMES[d.tool]}; migrations in ${d.migrationsDir}/`);
  for (const e of d.evidence) reporter.info(`  ${c.dim('from')} ${e}`);
  for (const w of d.warnings) reporter.warn(w);
  for (const [key, value] of Object.entries(report.notWritten)) reporter.warn(`${key} = ${value} was detected, but this dbkit has no ${key} setting: not written to the config`);
  const marks = { written: c.green('✓ wrote  '), skipped: c.yellow('- skipped'), failed: c.red('✗ failed ') } as const;
  for (const f of report.files) reporter.info(`${marks[f.status]} ${f.path}${f.reason ? c.dim(`  (${f.reason})`) : ''}`);
  if (!report.ok) return;
  reporter.info('');
  reporter.info('Next (set DATABASE_URL in .env for your database; without it dbkit uses its embedded PostgreSQL 17):');
  for (const command of report.next) reporter.info(`  $ ${command}`);
}

export function registerInit(program: Command): void {
  program
    .command('init')
    .description('Set dbkit up in an existing repository: detect its migrations folder (Supabase CLI, node-pg-migrate) and write dbkit.config.json, policies/, tests-sql/ and .env.example. Never overwrites a file.')
    .option('--migrations-dir <dir>', 'use this migrations folder instead of the detected one')
    .option('--json', 'print one JSON document: { detected, config, files, next, ... }')
    .addHelpText('after', '\nExamples:\n  $ npx dbkit init\n  $ npx dbkit init --migrations-dir db/migrations --json')
    .action(async (opts: { migrationsDir?: string; json?: boolean }, cmd: Command) => {
      const globals = cmd.optsWithGlobals() as { config?: string };
      const json = Boolean(opts.json);
      const report = await initProject(process.cwd(), { migrationsDir: opts.migrationsDir ?? null, configFile: globals.config ?? CONFIG_FILE_NAME });
      if (json) process.stdout.write(`${scrubKnownSecrets(JSON.stringify(report, null, 2))}\n`);
      else renderInit(report, humanReporter());
      if (report.error) {
        if (!json) printError(report.error);
        process.exitCode = report.error.exitCode;
      }
    });
}

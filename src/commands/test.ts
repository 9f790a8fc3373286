/**
 * dbkit test: runs pgTAP files (tests-sql/*.sql by default) against the database, each in its own
 * rolled-back transaction on its own connection, several at once; makes pgTAP available first.
 */
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import type { ResolvedConfig } from '../config.js';
import { DbkitError } from '../errors.js';
import { quietReporter, type Reporter } from '../output/terminal.js';
import { withDatabaseTarget } from '../embedded/target.js';
import { type DatabaseTarget, databaseFacts } from '../db/target.js';
import { connectChecked } from '../migrations/session.js';
import { errorDocument, type ErrorDocument } from '../output/errors.js';
import { runtimeFor } from '../runtime.js';
import { formatDuration } from '../core/duration.js';
import { ensurePgTap, type PgTapStatus } from '../pgtap/provision.js';
import { runFiles, type FileResult } from '../pgtap/runner.js';
import { toJunit } from '../pgtap/junit.js';
import type { TapTest } from '../pgtap/tap.js';

export interface TestOptions {
  files: string[];
  jobs: number;
  junit: string | null;
}

export interface TestFileReport {
  file: string;
  ok: boolean;
  planned: number | null;
  passed: number;
  failed: number;
  todo: number;
  skipped: number;
  problems: string[];
  tests: TapTest[];
  /** The TAP lines the file printed. */
  output: string[];
  durationMs: number;
}

export interface TestReport {
  command: 'test';
  ok: boolean;
  database: { url: string; kind: DatabaseTarget['kind']; name: string };
  pgtap: PgTapStatus;
  files: TestFileReport[];
  /** failed counts failed assertions plus one per file that died, bailed out or missed its plan. */
  summary: { files: number; passed: number; failed: number; todo: number; skipped: number; durationMs: number };
  error: ErrorDocument | null;
}

export function testFiles(config: ResolvedConfig, args: readonly string[]): { path: string; shown: string }[] {
  const shown = (p: string) => path.relative(config.cwd, p) || p;
  if (args.length > 0) {
    return args.map((a) => {
      const p = path.resolve(config.cwd, a);
      if (!existsSync(p) || !statSync(p).isFile()) throw new DbkitError('USAGE', `test file ${a} does not exist`);
      return { path: p, shown: shown(p) };
    });
  }
  const dir = config.testsDir;
  const files = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.sql')).sort() : [];
  if (files.length === 0) throw new DbkitError('USAGE', `no test files: ${shown(dir)}/ has no .sql files`, { hint: 'write pgTAP files there, or name the files to run: dbkit test path/to/file.sql' });
  return files.map((f) => ({ path: path.join(dir, f), shown: shown(path.join(dir, f)) }));
}

export async function runTests(config: ResolvedConfig, options: TestOptions, reporter: Reporter): Promise<TestReport> {
  const started = performance.now();
  const files = testFiles(config, options.files);
  return withDatabaseTarget(config, reporter, async (target) => {
    const { client } = await connectChecked(target);
    let pgtap: PgTapStatus;
    const step = reporter.step('pgTAP');
    try {
      pgtap = await ensurePgTap(client, target, config.pgtapDirs);
      step.done(`${pgtap.version} in schema ${pgtap.schema}${pgtap.installedNow ? ' (installed now)' : ''}${pgtap.provisionedFrom ? `, files provisioned from ${pgtap.provisionedFrom}` : ''}`);
    } catch (error) {
      step.fail();
      throw error;
    } finally {
      await client.end().catch(() => {});
    }
    const results = await runFiles(files, {
      url: target.url,
      connectTimeoutMs: target.connectTimeoutMs,
      pgtapSchema: pgtap.schema,
      jobs: options.jobs,
      onFileDone: (r) => renderFile(r, reporter),
    });
    const reports = results.map(fileReport);
    const sum = (pick: (f: TestFileReport) => number) => reports.reduce((n, f) => n + pick(f), 0);
    const summary = { files: reports.length, passed: sum((f) => f.passed), failed: sum((f) => f.failed + (f.problems.length > 0 ? 1 : 0)), todo: sum((f) => f.todo), skipped: sum((f) => f.skipped), durationMs: Math.round(performance.now() - started) };
    if (options.junit) {
      try {
        writeFileSync(path.resolve(config.cwd, options.junit), toJunit(results));
      } catch (error) {
        throw new DbkitError('USAGE', `cannot write JUnit XML to ${options.junit}: ${(error as Error).message}`);
      }
    }
    const failedFiles = reports.filter((f) => !f.ok).map((f) => f.file);
    return {
      command: 'test',
      ok: failedFiles.length === 0,
      database: databaseFacts(target),
      pgtap,
      files: reports,
      summary,
      error: failedFiles.length === 0 ? null : errorDocument(new DbkitError('TESTS_FAILED', `${failedFiles.length} test file(s) failed: ${failedFiles.join(', ')}`)),
    };
  });
}

function fileReport(r: FileResult): TestFileReport {
  return { file: r.file, ok: r.tap.ok, planned: r.tap.plan?.count ?? null, passed: r.tap.passed, failed: r.tap.failed, todo: r.tap.todo, skipped: r.tap.skipped, problems: r.tap.problems, tests: r.tap.tests, output: r.output, durationMs: Math.round(r.durationMs) };
}

function renderFile(r: FileResult, reporter: Reporter): void {
  const c = reporter.color;
  const counts = [`${r.tap.passed} passed`, r.tap.failed ? c.red(`${r.tap.failed} failed`) : '', r.tap.todo ? `${r.tap.todo} todo` : '', r.tap.skipped ? `${r.tap.skipped} skipped` : ''].filter(Boolean).join(', ');
  reporter.info(`${r.tap.ok ? c.green('✓') : c.red('✗')} ${r.file}  ${counts} ${c.dim(`(${formatDuration(r.durationMs)})`)}`);
  for (const t of r.tap.tests.filter((x) => !x.ok && x.directive?.kind !== 'todo')) {
    reporter.info(`    ${c.red(`not ok ${t.number}`)} - ${t.description}`);
    for (const d of t.diagnostics) reporter.info(`      ${c.dim(d)}`);
  }
  for (const p of r.tap.problems) reporter.info(`    ${c.red(p)}`);
}

/** A TAP 14 document: one subtest per file. */
export function tapDocument(files: readonly TestFileReport[]): string {
  const lines = ['TAP version 14'];
  files.forEach((f, i) => {
    lines.push(`# Subtest: ${f.file}`, ...f.output.map((l) => `    ${l}`));
    for (const p of f.problems) lines.push(`    # ${p}`);
    lines.push(`${f.ok ? 'ok' : 'not ok'} ${i + 1} - ${f.file}`);
  });
  lines.push(`1..${files.length}`);
  return `${lines.join('\n')}\n`;
}

const positiveInt = (raw: string) => {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a whole number >= 1');
  return n;
};

export function registerTest(program: Command): void {
  program
    .command('test')
    .description('Run pgTAP test files (default: tests-sql/*.sql), each in its own rolled-back transaction, in parallel; installs pgTAP where it can.')
    .argument('[files...]', 'test files to run (default: every .sql file in tests-sql/)')
    .option('-j, --jobs <n>', 'files run at once, each on its own connection', positiveInt, 4)
    .option('--junit <file>', 'also write a JUnit XML report')
    .option('--tap', 'print one TAP document (a subtest per file) instead of progress lines')
    .option('--json', 'print one JSON document (shape in README)')
    .addHelpText('after', '\nExamples:\n  $ npx dbkit test\n  $ npx dbkit test tests-sql/isolation.sql --junit pgtap.xml\n  $ DATABASE_URL=postgres://... npx dbkit test --tap')
    .action(async (files: string[], opts: { jobs: number; junit?: string; tap?: boolean }, cmd: Command) => {
      const runtime = runtimeFor(cmd);
      const tap = Boolean(opts.tap);
      const reporter = tap && !runtime.json ? quietReporter() : runtime.reporter;
      const report = await runTests(runtime.config, { files, jobs: opts.jobs, junit: opts.junit ?? null }, reporter);
      const s = report.summary;
      const closing = `${s.passed} passed, ${s.failed} failed${s.skipped + s.todo > 0 ? `, ${s.skipped + s.todo} skipped` : ''}`;
      // With --tap, stdout is the TAP stream; the error line (if any) goes to stderr as usual.
      runtime.finish(report, (r) => (tap ? process.stdout.write(`${tapDocument(r.files)}# ${closing}\n`) : runtime.reporter.info(closing)));
    });
}

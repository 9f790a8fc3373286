/**
 * dbkit lint: squawk over every migration's SQL (typed migrations rendered through
 * node-pg-migrate's builder), each finding pointing at the migration file, the statement and
 * the builder call, with the rule's documentation. Needs no database.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { Option, type Command } from 'commander';
import type { ResolvedConfig } from '../config.js';
import { DbkitError } from '../errors.js';
import type { Reporter } from '../output/terminal.js';
import { errorDocument, type ErrorDocument } from '../output/errors.js';
import { runtimeFor, settingOption } from '../runtime.js';
import { dbkitVersion } from '../version.js';
import { loadMigrationContext } from '../migrations/context.js';
import { failsOn, LINT_FAIL_ON, type LintFailOn, type LintFinding, type LintSettings, type MigrationLint } from '../lint/model.js';
import { findingLine, lintMigrations, lintSettingsOf, type LintRun } from '../lint/run.js';
import { lintSarif } from '../lint/sarif.js';

export interface LintOptions {
  /** Migration files to lint; empty: every migration in the migrations folder. */
  files: string[];
  failOn: LintFailOn;
  sarif: string | null;
}

export interface LintReport {
  command: 'lint';
  ok: boolean;
  squawk: string;
  settings: LintSettings;
  migrations: MigrationLint[];
  notRendered: LintRun['notRendered'];
  findings: LintFinding[];
  summary: { migrations: number; statements: number; findings: number; errors: number; warnings: number; unlinted: number; failOn: LintFailOn };
  error: ErrorDocument | null;
}

export async function lint(config: ResolvedConfig, options: LintOptions, reporter: Reporter): Promise<LintReport> {
  const all = (await loadMigrationContext(config)).migrations;
  const wanted = options.files.map((f) => path.resolve(config.cwd, f));
  const missing = wanted.filter((f) => !all.some((m) => m.path === f));
  if (missing.length > 0) {
    throw new DbkitError('NOT_FOUND', `not a migration in ${path.relative(config.cwd, config.migrationsDir) || config.migrationsDir}/: ${missing.map((f) => path.relative(config.cwd, f)).join(', ')}`, {
      hint: 'name migration files of the migrations folder (or pass --migrations-dir)',
    });
  }
  const selected = wanted.length === 0 ? all : all.filter((m) => wanted.includes(m.path));
  const settings = lintSettingsOf(config, null);
  const step = reporter.step(`lint ${selected.length} migration(s)`);
  const run = await lintMigrations(selected, config, settings);
  const findings = run.migrations.flatMap((m) => m.findings);
  step.done(`squawk ${run.squawk.version}: ${findings.length} finding(s)`);
  const report: LintReport = {
    command: 'lint',
    ok: false,
    squawk: run.squawk.version,
    settings,
    migrations: run.migrations,
    notRendered: run.notRendered,
    findings,
    summary: {
      migrations: run.migrations.length,
      statements: run.migrations.reduce((n, m) => n + m.statements, 0),
      findings: findings.length,
      errors: findings.filter((f) => f.level === 'error').length,
      warnings: findings.filter((f) => f.level === 'warning').length,
      unlinted: run.migrations.reduce((n, m) => n + m.unlinted, 0),
      failOn: options.failOn,
    },
    error: null,
  };
  if (options.sarif) {
    try {
      writeFileSync(path.resolve(config.cwd, options.sarif), `${JSON.stringify(lintSarif(dbkitVersion(), run.squawk.version, findings), null, 2)}\n`);
    } catch (error) {
      throw new DbkitError('USAGE', `cannot write SARIF to ${options.sarif}: ${(error as Error).message}`);
    }
  }
  const failing = findings.filter((f) => failsOn(f, options.failOn));
  if (failing.length > 0) {
    report.error = errorDocument(new DbkitError('LINT_FAILED', `lint: ${failing.length} finding(s) at or above --fail-on ${options.failOn}`, { hint: 'fix them, or exclude a rule with --exclude / lintExclude in dbkit.config.json (with the reason)' }));
  }
  report.ok = report.error === null;
  return report;
}

export function renderLint(report: LintReport, reporter: Reporter): void {
  for (const f of report.findings) reporter.info(findingLine(f));
  for (const n of report.notRendered) reporter.warn(`${n.file} not linted: ${n.reason}`);
  const s = report.summary;
  const unlinted = s.unlinted > 0 ? ` (${s.unlinted} DO block(s): squawk does not look inside them; dbkit rehearse measures what they do)` : '';
  reporter.info(`${s.findings === 0 ? reporter.color.green('No findings') : `${s.findings} finding(s)`} in ${s.migrations} migration(s), ${s.statements} statement(s)${unlinted}. Excluded rules: ${report.settings.exclude.join(', ') || 'none'}.`);
}

export function registerLint(program: Command): void {
  const command = program
    .command('lint [files...]')
    .description('Lint migrations with squawk: each finding names the migration file and line, the statement and the rule (with its documentation). No database needed.')
    .addOption(new Option('--fail-on <level>', 'lowest finding level that fails (exit 50)').choices(LINT_FAIL_ON).default('warning'))
    .option('--sarif <file>', 'also write the findings as SARIF 2.1.0 (for code-scanning upload)');
  for (const name of ['migrationsDir', 'lintExclude', 'lintPgVersion', 'lintTransaction'] as const) settingOption(command, name);
  command
    .option('--json', 'print one JSON document: { findings, migrations, summary }')
    .addHelpText('after', '\nExamples:\n  $ npx dbkit lint\n  $ npx dbkit lint migrations/20251101000000_add-index.ts --sarif lint.sarif\n  $ npx dbkit lint --pg-version 15 --exclude prefer-robust-stmts --json')
    .action(async (files: string[], opts: { failOn: LintFailOn; sarif?: string }, cmd: Command) => {
      const runtime = runtimeFor(cmd);
      const report = await lint(runtime.config, { files, failOn: opts.failOn, sarif: opts.sarif ?? null }, runtime.reporter);
      runtime.finish(report, (r) => renderLint(r, runtime.reporter));
    });
}

/**
 * Linting migrations with squawk: each migration's statements go to squawk as one SQL text (in
 * a transaction or not, as dbkit will run it), and every violation comes back attached to its
 * statement and to the builder call or SQL line that produced it.
 */
import path from 'node:path';
import type { ResolvedConfig } from '../config.js';
import { DbkitError, errorMessage } from '../errors.js';
import type { LoadedMigration } from '../migrations/load.js';
import { OfflineQueryError } from '../migrations/load.js';
import { renderStatements } from '../migrations/render-statements.js';
import { statementTree, type MigrationSql } from '../migrations/statements.js';
import type { Reporter } from '../output/terminal.js';
import type pg from 'pg';
import { readState, type MigrationContext } from '../migrations/context.js';
import { assumeInTransaction, impliedExclusions, lintText, toFindings, type LintFinding, type LintSettings, type MigrationLint } from './model.js';
import { findSquawk, runSquawkMany, type SquawkBinary } from './squawk.js';

export function lintSettingsOf(config: ResolvedConfig, serverVersionNum: number | null): LintSettings {
  const pgVersion = config.lintPgVersion ?? (serverVersionNum ? String(Math.floor(serverVersionNum / 10_000)) : null);
  return { exclude: [...new Set([...config.lintExclude, ...impliedExclusions(config)])], pgVersion, assumeTransaction: config.lintTransaction };
}

export function shownPath(cwd: string, file: string): string {
  return (path.relative(cwd, file) || file).split(path.sep).join('/');
}

export async function lintOne(binary: SquawkBinary, migration: MigrationSql, settings: LintSettings, shownFile: string): Promise<MigrationLint> {
  return (await lintAll(binary, [{ sql: migration, shown: shownFile }], settings))[0]!;
}

/** Lints migrations with one squawk process for all of them (squawk's start is most of its cost). */
async function lintAll(binary: SquawkBinary, migrations: readonly { sql: MigrationSql; shown: string }[], settings: LintSettings): Promise<MigrationLint[]> {
  const texts = migrations.map(({ sql }) => lintText(sql, assumeInTransaction(sql, settings.assumeTransaction)));
  const linted = migrations.flatMap(({ sql, shown }, i) => (sql.statements.length === 0 ? [] : [{ sql: texts[i]!.text, filename: shown, at: i }]));
  const violations = await runSquawkMany(binary, linted, { pgVersion: settings.pgVersion, assumeInTransaction: false, exclude: settings.exclude });
  const byMigration = new Map(linted.map((t, j) => [t.at, violations[j]!]));
  return migrations.map(({ sql: migration, shown }, i) => {
    // A DO block has the keyword DO in it: statements without the word are not parsed again.
    const unlinted = migration.statements.filter((s) => {
      if (!/\bdo\b/i.test(s.sql)) return false;
      const tree = statementTree(s.sql);
      return tree !== null && 'DoStmt' in tree;
    }).length;
    return { migration: migration.name, file: shown, statements: migration.statements.length, unlinted, findings: toFindings(migration, shown, texts[i]!.startLines, byMigration.get(i) ?? []) };
  });
}

export interface LintRun {
  squawk: SquawkBinary;
  migrations: MigrationLint[];
  /** Migrations that read the database while they are built: not renderable without one. */
  notRendered: { migration: string; file: string; reason: string }[];
}

/** Renders (offline) and lints typed migrations. */
export async function lintMigrations(migrations: readonly LoadedMigration[], config: ResolvedConfig, settings: LintSettings): Promise<LintRun> {
  const squawk = findSquawk(config.squawkBin);
  const run: LintRun = { squawk, migrations: [], notRendered: [] };
  const rendered: { sql: MigrationSql; shown: string }[] = [];
  for (const m of migrations) {
    const shown = shownPath(config.cwd, m.path);
    let sql: MigrationSql;
    try {
      sql = await renderStatements(m, 'up');
    } catch (error) {
      if (error instanceof OfflineQueryError) {
        run.notRendered.push({ migration: m.name, file: shown, reason: 'it reads the database while it is built (pgm.db): rehearse it instead' });
        continue;
      }
      throw new DbkitError('PREFLIGHT_FAILED', `${shown} fails while building its SQL: ${errorMessage(error).split('\n')[0]}`);
    }
    rendered.push({ sql, shown });
  }
  run.migrations = await lintAll(squawk, rendered, settings);
  return run;
}

export function findingLine(f: LintFinding): string {
  return `${f.file}${f.line ? `:${f.line}` : ''} ${f.level} ${f.rule}: ${f.message}${f.help ? ` ${f.help}` : ''}\n    statement ${f.statementIndex + 1}: ${f.statement}\n    ${f.url}`;
}

/**
 * apply's pre-flight: lints the pending migrations. lint "warn" prints the findings and goes on;
 * "block" refuses (PREFLIGHT_FAILED, before anything is changed). Returns the findings.
 */
export async function lintBeforeApply(client: pg.ClientBase, context: MigrationContext, config: ResolvedConfig, serverVersionNum: number, reporter: Reporter): Promise<LintFinding[]> {
  if (config.lint === 'off') return [];
  // Pending as apply plans it: what the folder's own tool applied (adopted) is not linted again.
  const pending = (await readState(client, context)).plan.pending;
  if (pending.length === 0) return [];
  let run: LintRun;
  try {
    run = await lintMigrations(pending, config, lintSettingsOf(config, serverVersionNum));
  } catch (error) {
    if (config.lint === 'block') throw error;
    reporter.warn(`lint skipped: ${errorMessage(error)}`);
    return [];
  }
  const findings = run.migrations.flatMap((m) => m.findings);
  if (findings.length === 0) return [];
  if (config.lint === 'block') {
    throw new DbkitError('PREFLIGHT_FAILED', `lint: ${findings.length} squawk finding(s) in the pending migrations (lint: "block"):\n  ${findings.map(findingLine).join('\n  ')}`, {
      hint: 'fix them, exclude a rule with lintExclude, or set lint to "warn". Nothing was applied.',
    });
  }
  for (const f of findings) reporter.warn(`lint: ${findingLine(f)}`);
  return findings;
}

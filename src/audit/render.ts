/**
 * Human output of rls-audit: findings by level, the repeats of a rule folded into one line (all of
 * them with --verbose; the JSON always has every one), the matrix as a table with every leak's
 * identities, fix and reproduction, one summary line.
 */
import type { Reporter } from '../output/terminal.js';
import { plural, printable } from '../output/text.js';
import type { AuditReport } from './report.js';
import { ATTACK_OPERATIONS, IDENTITIES, OPERATIONS, type MatrixCell } from './matrix.js';
import type { Finding, Level } from './model.js';

/** How many objects a folded line names. */
export const FOLDED_OBJECTS = 3;

export type FindingLine = { kind: 'single'; finding: Finding } | { kind: 'folded'; rule: string; findings: Finding[] };

/** The findings of one level as printed: a rule with more than one finding folds into one line, unless verbose. Pure. */
export function foldFindings(findings: readonly Finding[], verbose: boolean): FindingLine[] {
  if (verbose) return findings.map((finding) => ({ kind: 'single', finding }));
  const byRule = new Map<string, Finding[]>();
  for (const f of findings) byRule.set(f.rule, [...(byRule.get(f.rule) ?? []), f]);
  return [...byRule.entries()].map(([rule, list]) => (list.length === 1 ? { kind: 'single', finding: list[0]! } : { kind: 'folded', rule, findings: list }));
}

/** "a, b, c and 74 more" */
export function firstObjects(findings: readonly Finding[], n = FOLDED_OBJECTS): string {
  const shown = findings.slice(0, n).map((f) => f.object).join(', ');
  return findings.length > n ? `${shown} and ${findings.length - n} more` : shown;
}

export interface RenderOptions {
  verbose: boolean;
}

const GROUPS: { level: Level; title: string; mark: string }[] = [
  { level: 'error', title: 'Errors', mark: '✗' },
  { level: 'warn', title: 'Warnings', mark: '!' },
  { level: 'info', title: 'Info', mark: 'i' },
];

const SHORT: Record<(typeof OPERATIONS)[number], string> = {
  'select-own': 'sel-own', 'select-other': 'sel-other', 'select-published': 'sel-pub', 'insert-own': 'ins-own', 'insert-other': 'ins-other',
  'update-other': 'upd-other', 'delete-other': 'del-other', 'move-own': 'move', 'move-own-returning': 'move-ret', 'reference-other': 'ref-other',
  'owner-takeover': 'owner', 'self-join': 'join', 'raise-role': 'role', 'definer-call': 'definer', 'storage-write': 'storage',
};


export function renderAudit(report: AuditReport, reporter: Reporter, options: RenderOptions = { verbose: false }): void {
  const c = reporter.color;
  const paint = { error: c.red, warn: c.yellow, info: c.cyan };
  reporter.info('');
  let folded = false;
  for (const group of GROUPS) {
    const items = report.findings.filter((f) => f.level === group.level);
    if (items.length === 0) continue;
    reporter.info(paint[group.level].bold(`${group.title} (${items.length})`));
    for (const line of foldFindings(items, options.verbose)) {
      // Object names, messages and fixes carry names from the catalog: printed through printable.
      const f = line.kind === 'single' ? line.finding : line.findings[0]!;
      const splinter = f.splinter ? c.dim(`  [splinter: ${f.splinter}]`) : '';
      if (line.kind === 'folded') {
        folded = true;
        reporter.info(`  ${paint[group.level](group.mark)} ${c.bold(line.rule)} ${c.bold(`×${line.findings.length}`)}  ${printable(firstObjects(line.findings))}`);
        reporter.info(`      ${c.dim(`fix (${printable(f.object)}):`)} ${printable(f.fix)}${splinter}`);
        continue;
      }
      reporter.info(`  ${paint[group.level](group.mark)} ${c.bold(f.rule)}  ${printable(f.object)}`);
      reporter.info(`      ${printable(f.message)}`);
      reporter.info(`      ${c.dim('fix:')} ${printable(f.fix)}${splinter}`);
    }
  }
  if (folded) reporter.info(c.dim('(×N: one rule on N objects; --verbose lists each with its message and fix, --json has every one)'));
  if (report.findings.length === 0) reporter.info(c.green(`No findings from ${report.summary.rules} rules.`));
  if (report.notice) reporter.warn(report.notice);
  const unverified = report.drift.unverified > 0 ? c.cyan(`; ${report.drift.unverified} cannot verify (permission denied), listed under Info`) : '';
  reporter.info(report.drift.source ? `${c.bold('Drift')}  ${report.drift.compared} declared policies (${report.drift.source}) compared as the server normalises them: ${report.summary.drift === 0 ? c.green('no drift') : c.red(`${report.summary.drift} difference(s), listed above`)}${unverified}` : `${c.bold('Drift')}  ${c.dim(report.drift.skipped ?? 'skipped')}`);
  if (report.tenancy?.source === 'inferred') {
    reporter.info(`${c.bold('Tenancy')}  inferred from the catalog (no tenancy map in the policies folder describes this database): ${Object.keys(report.tenancy.notes).length} guesses; dbkit rls-audit --print-tenancy prints them as a map to keep in policies/`);
    for (const u of report.tenancy.unplaced) reporter.info(`  ${c.dim('left out:')} ${printable(u.table)} ${c.dim(`(${printable(u.why)})`)}`);
  }
  if (report.matrix.length > 0) renderMatrix(report, reporter, options);
  else reporter.info(`${c.bold('Isolation matrix')}  ${c.dim(report.matrixSkipped ?? 'skipped')}`);
  for (const u of report.unseedable ?? []) reporter.info(`  ${c.yellow('UNSEEDABLE')} ${printable(u.table)}: stopped by ${printable(u.constraint)} (${printable(u.reason)}); its cells were not probed`);
}

function renderMatrix(report: AuditReport, reporter: Reporter, options: RenderOptions): void {
  const c = reporter.color;
  const cells = report.matrix;
  const grid = cells.filter((x) => !ATTACK_OPERATIONS.includes(x.operation));
  const relations = [...new Set(grid.map((x) => printable(x.relation)))];
  const width = Math.max(...relations.map((r) => r.length), 8);
  reporter.info(`${c.bold('Isolation matrix')}  (tenancy map ${report.residue ? report.matrixSource : ''}; A and B seeded, every probe rolled back)`);
  const attacks = cells.filter((x) => ATTACK_OPERATIONS.includes(x.operation));
  if (attacks.length > 0) reporter.info(`  attack probes: ${attacks.length} (${ATTACK_OPERATIONS.map((o) => `${o} ${attacks.filter((x) => x.operation === o).length}`).join(', ')}), ${attacks.filter((x) => x.verdict === 'leak').length} leak(s), listed below`);
  const columns = OPERATIONS.filter((o) => !ATTACK_OPERATIONS.includes(o));
  reporter.info(`  ${'relation'.padEnd(width)}  ${'identity'.padEnd(12)} ${columns.map((o) => SHORT[o].padEnd(9)).join(' ')}`);
  const cellText = (x: MatrixCell | undefined) => {
    if (!x) return c.dim('·'.padEnd(9));
    const text = (x.verdict === 'ok' ? x.actual : x.verdict.toUpperCase()).padEnd(9);
    return x.verdict === 'ok' ? c.green(text) : x.verdict === 'blocked' ? c.yellow(text) : c.red.bold(text);
  };
  for (const relation of relations) {
    for (const identity of IDENTITIES.filter((i) => i !== 'outsider')) {
      const row = columns.map((op) => cellText(grid.find((x) => printable(x.relation) === relation && x.identity === identity && x.operation === op)));
      reporter.info(`  ${relation.padEnd(width)}  ${identity.padEnd(12)} ${row.join(' ')}`);
    }
  }
  for (const x of cells.filter((y) => y.verdict !== 'ok')) {
    const paint = x.verdict === 'blocked' ? c.yellow : c.red;
    reporter.info(`  ${paint(x.verdict.toUpperCase())} ${x.identity} ${x.operation} on ${printable(x.table)}${x.target ? ` (${printable(x.target)})` : ''}: expected ${x.expected}, got ${x.actual} (${printable(x.detail)})`);
    reporter.info(`      ${c.dim('identities:')} ${x.identities.map(printable).join(' → ')}`);
    reporter.info(`      ${c.dim('fix:')} ${printable(x.fix)}`);
    // Every leak with the SQL that reproduces it; a blocked case or a probe error with --verbose.
    if (x.verdict === 'leak' || options.verbose) {
      reporter.info(`      ${c.dim('reproduce (psql, rolled back):')}`);
      for (const line of x.reproduction.split('\n')) reporter.info(`        ${printable(line)}`);
    }
  }
  const r = report.residue;
  if (r) {
    const counts = printable(r.tables.map((t) => `${t.table} ${t.before}=${t.after}`).join(', '));
    reporter.info(r.clean ? `  ${c.green('no residue')}: row counts before = after (${counts})` : `  ${c.red('RESIDUE')}: row counts changed (${printable(r.tables.filter((t) => t.before !== t.after).map((t) => `${t.table} ${t.before}->${t.after}`).join(', '))})`);
    if (r.sequencesAdvanced.length > 0) reporter.info(`  ${c.dim(`sequences advanced (not transactional): ${printable(r.sequencesAdvanced.join(', '))}`)}`);
    if (r.sequencesUnread) reporter.warn(`sequences not checked for residue: ${printable(r.sequencesUnread)} (grant SELECT on them to check)`);
  }
}

export function summaryLine(report: AuditReport, reporter: Reporter): string {
  const c = reporter.color;
  const s = report.summary;
  const parts = [
    s.errors > 0 ? c.red(plural(s.errors, 'error')) : plural(0, 'error'),
    s.warnings > 0 ? c.yellow(plural(s.warnings, 'warning')) : plural(0, 'warning'),
    `${s.info} info`,
  ];
  const matrix = report.matrix.length > 0 ? `; matrix: ${s.matrixCells} checks, ${s.leaks > 0 ? c.red(plural(s.leaks, 'leak')) : c.green('0 leaks')}${s.blocked ? `, ${c.yellow(`${s.blocked} blocked`)}` : ''}${s.probeErrors ? `, ${c.red(`${s.probeErrors} probe errors`)}` : ''}${report.residue?.clean === false ? c.red(', RESIDUE') : ', no residue'}` : '';
  return `rls-audit: ${parts.join(', ')}${matrix} (${plural(s.tables, 'table')}, ${plural(s.policies, 'policy', 'policies')}, ${s.rules} rules)`;
}

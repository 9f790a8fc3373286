/** Human output of rls-audit --diff: what got worse (it fails), what got better, what else changed. */
import type { Reporter } from '../output/terminal.js';
import { plural, printable } from '../output/text.js';
import type { CellChange, SnapshotDiff } from './snapshot.js';

const SHOWN = 10;

function cellLine(c: CellChange): string {
  const before = c.before ? `${c.before.actual} (${c.before.verdict})` : 'not in the snapshot';
  return `${c.identity} ${c.operation} on ${printable(c.table)}: ${before} -> ${c.after.actual} (${c.after.verdict})`;
}

export function renderDiff(diff: SnapshotDiff & { file: string }, reporter: Reporter, options: { verbose: boolean }): void {
  const c = reporter.color;
  const limit = <T>(items: readonly T[]) => (options.verbose ? items : items.slice(0, SHOWN));
  const more = (items: readonly unknown[]) => (!options.verbose && items.length > SHOWN ? [c.dim(`    ... and ${items.length - SHOWN} more (--verbose lists them all)`)] : []);
  const section = (title: string, paint: (s: string) => string, lines: string[], count: number) => {
    if (count === 0) return;
    reporter.info(`  ${paint(title)} (${count})`);
    for (const line of lines) reporter.info(line);
  };
  reporter.info(`${c.bold('Compared with')} ${printable(diff.file)}`);
  section('REGRESSION: denied before, allowed now (or a new leak)', c.red.bold, [...limit(diff.regressions).map((x) => `    ${cellLine(x)}`), ...more(diff.regressions)], diff.regressions.length);
  section('newly blocked', c.yellow, [...limit(diff.newlyBlocked).map((x) => `    ${cellLine(x)}`), ...more(diff.newlyBlocked)], diff.newlyBlocked.length);
  section('new findings (fail)', c.red, [...limit(diff.newFindings).map((f) => `    ${f.rule}  ${printable(f.object)}`), ...more(diff.newFindings)], diff.newFindings.length);
  section('new findings below --fail-on', c.yellow, [...limit(diff.newFindingsBelow).map((f) => `    ${f.rule}  ${printable(f.object)}`), ...more(diff.newFindingsBelow)], diff.newFindingsBelow.length);
  section('fixed', c.green, [...limit(diff.fixed).map((x) => `    ${cellLine(x)}`), ...more(diff.fixed)], diff.fixed.length);
  section('resolved findings', c.green, [...limit(diff.resolvedFindings).map((f) => `    ${f.rule}  ${printable(f.object)}`), ...more(diff.resolvedFindings)], diff.resolvedFindings.length);
  section('other changes', c.cyan, [...limit(diff.changed).map((x) => `    ${cellLine(x)}`), ...more(diff.changed)], diff.changed.length);
  if (diff.removed.length > 0) reporter.info(`  ${c.dim(`${plural(diff.removed.length, 'cell')} of the snapshot not probed this time (matrix skipped, or tables left the map)`)}`);
  const total = diff.regressions.length + diff.newlyBlocked.length + diff.newFindings.length + diff.newFindingsBelow.length + diff.fixed.length + diff.resolvedFindings.length + diff.changed.length + diff.removed.length;
  if (total === 0) reporter.info(`  ${c.green('no change since the snapshot')}`);
}

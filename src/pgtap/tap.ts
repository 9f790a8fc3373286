/**
 * TAP (the Test Anything Protocol, as pgTAP prints it): lines parsed into a tagged union, then a
 * file's lines evaluated against its plan. Pure.
 */

export type TapLine =
  | { kind: 'version'; version: number }
  | { kind: 'plan'; count: number; skipAll: string | null }
  | { kind: 'test'; ok: boolean; number: number | null; description: string; directive: TapDirective | null }
  | { kind: 'diagnostic'; text: string }
  | { kind: 'bail'; reason: string }
  | { kind: 'other'; text: string };

export interface TapDirective {
  kind: 'todo' | 'skip';
  reason: string;
}

const PLAN = /^1\.\.(\d+)\s*(?:#\s*skip\w*:?\s*(.*))?$/i;
const TEST = /^(not )?ok\b\s*(\d+)?\s*(?:-\s*)?(.*)$/;
const DIRECTIVE = /(?:^|[^\\])#\s*(todo|skip)\S*\s*(.*)$/i;

export function parseTapLine(raw: string): TapLine {
  const line = raw.replace(/\s+$/, '');
  let m = /^TAP version (\d+)$/i.exec(line);
  if (m) return { kind: 'version', version: Number(m[1]) };
  m = PLAN.exec(line);
  if (m) return { kind: 'plan', count: Number(m[1]), skipAll: m[2] !== undefined ? m[2].trim() : null };
  m = /^Bail out!\s*(.*)$/i.exec(line);
  if (m) return { kind: 'bail', reason: m[1]!.trim() };
  m = TEST.exec(line);
  if (m) {
    let description = m[3] ?? '';
    let directive: TapDirective | null = null;
    const d = DIRECTIVE.exec(description);
    if (d) {
      directive = { kind: d[1]!.toLowerCase() as 'todo' | 'skip', reason: d[2]!.trim() };
      description = description.slice(0, d.index + (d[0].startsWith('#') ? 0 : 1));
    }
    return { kind: 'test', ok: !m[1], number: m[2] ? Number(m[2]) : null, description: description.replaceAll('\\#', '#').trim(), directive };
  }
  m = /^#\s?(.*)$/.exec(line);
  if (m) return { kind: 'diagnostic', text: m[1]! };
  return { kind: 'other', text: line };
}

export interface TapTest {
  number: number;
  ok: boolean;
  description: string;
  directive: TapDirective | null;
  diagnostics: string[];
}

export interface TapResult {
  plan: { count: number; skipAll: string | null } | null;
  tests: TapTest[];
  /** Diagnostics before the first test. */
  diagnostics: string[];
  bailOut: string | null;
  /** Why the file fails beyond its failed tests: no plan, plan mismatch, bail out, died. */
  problems: string[];
  passed: number;
  failed: number;
  todo: number;
  skipped: number;
  ok: boolean;
}

/** Evaluates one file's TAP. `died`: the error that stopped the file, if any. */
export function evaluateTap(lines: readonly string[], died: string | null = null): TapResult {
  const result: TapResult = { plan: null, tests: [], diagnostics: [], bailOut: null, problems: [], passed: 0, failed: 0, todo: 0, skipped: 0, ok: false };
  for (const raw of lines) {
    const line = parseTapLine(raw);
    switch (line.kind) {
      case 'plan':
        if (result.plan) result.problems.push(`more than one plan (1..${result.plan.count} and 1..${line.count})`);
        else result.plan = { count: line.count, skipAll: line.skipAll };
        break;
      case 'test': {
        const expected = result.tests.length + 1;
        if (line.number !== null && line.number !== expected) result.problems.push(`test ${line.number} out of sequence (expected ${expected})`);
        result.tests.push({ number: line.number ?? expected, ok: line.ok, description: line.description, directive: line.directive, diagnostics: [] });
        break;
      }
      case 'diagnostic': {
        const last = result.tests[result.tests.length - 1];
        if (last) last.diagnostics.push(line.text);
        else result.diagnostics.push(line.text);
        break;
      }
      case 'bail':
        result.bailOut ??= line.reason || 'no reason given';
        break;
      case 'version':
      case 'other':
        break;
      default:
        return assertNever(line);
    }
  }
  for (const t of result.tests) {
    if (t.directive?.kind === 'todo') result.todo += 1;
    else if (t.directive?.kind === 'skip') result.skipped += 1;
    else if (t.ok) result.passed += 1;
    else result.failed += 1;
  }
  if (died) result.problems.push(`died: ${died}`);
  if (result.bailOut) result.problems.push(`bailed out: ${result.bailOut}`);
  if (!result.plan) result.problems.push(result.tests.length === 0 ? 'no plan and no tests (is it a pgTAP file?)' : 'no plan (call plan(n) or finish() with no_plan())');
  else if (result.plan.count !== result.tests.length && !(result.plan.skipAll !== null && result.tests.length === 0)) {
    result.problems.push(`planned ${result.plan.count} test${result.plan.count === 1 ? '' : 's'} but ran ${result.tests.length}`);
  }
  result.ok = result.failed === 0 && result.problems.length === 0;
  return result;
}

function assertNever(value: never): never {
  throw new Error(`unhandled TAP line ${JSON.stringify(value)}`);
}

/** Lines worth keeping from a file's output: TAP, not the values of helper SELECTs. */
export const isTap = (line: string) => parseTapLine(line).kind !== 'other';

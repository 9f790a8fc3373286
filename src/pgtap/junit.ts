/** JUnit XML for CI test reports: one testsuite per file, one testcase per assertion. Pure. */
import type { FileResult } from './runner.js';

const escape = (s: string) => s.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!).replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, '');
const seconds = (ms: number) => (ms / 1000).toFixed(3);

export function toJunit(files: readonly FileResult[]): string {
  const suites = files.map((f) => {
    const cases = f.tap.tests.map((t) => {
      const name = escape(`${t.number} - ${t.description || '(no description)'}`);
      let body = '';
      if (t.directive?.kind === 'skip' || t.directive?.kind === 'todo') body = `<skipped message="${escape(`${t.directive.kind}: ${t.directive.reason}`)}"/>`;
      else if (!t.ok) body = `<failure message="${escape(t.description || 'failed')}">${escape(t.diagnostics.join('\n'))}</failure>`;
      return `    <testcase classname="${escape(f.file)}" name="${name}" time="0">${body}</testcase>`;
    });
    if (f.tap.problems.length > 0) cases.push(`    <testcase classname="${escape(f.file)}" name="(file)" time="${seconds(f.durationMs)}"><error message="${escape(f.tap.problems.join('; '))}">${escape(f.tap.problems.join('\n'))}</error></testcase>`);
    const failures = f.tap.failed;
    const errors = f.tap.problems.length > 0 ? 1 : 0;
    return `  <testsuite name="${escape(f.file)}" tests="${cases.length}" failures="${failures}" errors="${errors}" skipped="${f.tap.skipped + f.tap.todo}" time="${seconds(f.durationMs)}">\n${cases.join('\n')}\n  </testsuite>`;
  });
  const total = (pick: (f: FileResult) => number) => files.reduce((n, f) => n + pick(f), 0);
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="dbkit test" tests="${total((f) => f.tap.tests.length + (f.tap.problems.length > 0 ? 1 : 0))}" failures="${total((f) => f.tap.failed)}" errors="${total((f) => (f.tap.problems.length > 0 ? 1 : 0))}" time="${seconds(total((f) => f.durationMs))}">\n${suites.join('\n')}\n</testsuites>\n`;
}

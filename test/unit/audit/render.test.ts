/** Signal over noise: the repeats of a rule fold into one line; --verbose lists them all. */
import { describe, expect, it } from 'vitest';
import { firstObjects, foldFindings } from '../../../src/audit/render.ts';
import type { Finding } from '../../../src/audit/model.ts';

const f = (rule: string, object: string): Finding => ({ rule, level: 'warn', object, objectType: 'function', message: 'm', fix: 'x', splinter: null });

describe('foldFindings', () => {
  const findings = [f('function-search-path-mutable', 'public.a()'), f('per-row-call', 'public.t.p'), ...['b', 'c', 'd', 'e'].map((n) => f('function-search-path-mutable', `public.${n}()`))];

  it('folds a rule with several findings into one line, keeping single ones whole, in first-seen order', () => {
    const lines = foldFindings(findings, false);
    expect(lines.map((l) => (l.kind === 'folded' ? `${l.rule} x${l.findings.length}` : l.finding.rule))).toEqual(['function-search-path-mutable x5', 'per-row-call']);
    const folded = lines[0]!;
    expect(folded.kind === 'folded' && firstObjects(folded.findings)).toBe('public.a(), public.b(), public.c() and 2 more');
  });

  it('lists every finding with --verbose', () => {
    expect(foldFindings(findings, true)).toHaveLength(6);
    expect(firstObjects([f('r', 'x'), f('r', 'y')])).toBe('x, y');
  });
});

/** Snapshots of the matrix and findings, and what --diff makes of them. Pure, apart from the file tests. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { diffSnapshot, readSnapshot, takeSnapshot, writeSnapshot } from '../../../src/audit/snapshot.ts';
import type { MatrixCell } from '../../../src/audit/matrix.ts';
import type { Finding } from '../../../src/audit/model.ts';
import { DbkitError } from '../../../src/errors.ts';

const cell = (over: Partial<MatrixCell>): MatrixCell => ({
  relation: 'public.t', table: 'public.t', kind: 'table', identity: 'tenant-a', operation: 'insert-other', expected: 'deny', actual: 'deny',
  detail: 'new row violates row-level security policy', verdict: 'ok', identities: ['tenant-a', 'tenant-b'], reproduction: 'BEGIN; ... ROLLBACK;', fix: '', ...over,
});
const finding = (over: Partial<Finding>): Finding => ({ rule: 'per-row-call', level: 'warn', object: 'public.t.p', objectType: 'policy', message: 'm', fix: 'f', splinter: null, ...over });
const snap = (cells: MatrixCell[], findings: Finding[] = []) => takeSnapshot({ dbkit: '0.1.0', server: '17.6', database: 'db', matrixSource: 'policies/x.ts', matrixSkipped: null, cells, findings });
const dir = mkdtempSync(path.join(os.tmpdir(), 'dbkit-snap-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('takeSnapshot', () => {
  it('keeps outcomes, not reproductions (no seeded values), in a stable order', () => {
    const s = snap([cell({ table: 'public.b' }), cell({ table: 'public.a', identity: 'tenant-b' }), cell({ table: 'public.a' })]);
    expect(s.cells.map((c) => `${c.table} ${c.identity}`)).toEqual(['public.a tenant-a', 'public.a tenant-b', 'public.b tenant-a']);
    expect(JSON.stringify(s)).not.toContain('BEGIN');
    expect(Object.keys(s.cells[0]!)).toEqual(['table', 'kind', 'identity', 'operation', 'expected', 'actual', 'verdict', 'detail']);
  });
});

describe('diffSnapshot', () => {
  const before = snap(
    [cell({}), cell({ operation: 'update-other', actual: 'allow', verdict: 'leak' }), cell({ operation: 'insert-own', expected: 'allow', actual: 'allow' }), cell({ table: 'public.gone' })],
    [finding({}), finding({ rule: 'rls-not-forced', object: 'public.t' })],
  );

  it('a cell denied before and allowed now is a regression; a leak already known is not', () => {
    const d = diffSnapshot(before, [cell({ actual: 'allow', verdict: 'leak' }), cell({ operation: 'update-other', actual: 'allow', verdict: 'leak' })], [], 'error');
    expect(d.regressions.map((c) => [c.operation, c.before?.actual, c.after.actual])).toEqual([['insert-other', 'deny', 'allow']]);
    expect(d.removed.map((c) => `${c.table} ${c.operation}`)).toEqual(['public.gone insert-other', 'public.t insert-own']);
  });

  it('a new cell that leaks counts as a regression; newly blocked, fixed and other changes are told apart', () => {
    const d = diffSnapshot(before, [
      cell({ table: 'public.new', actual: 'partial', verdict: 'leak' }),
      cell({ operation: 'update-other', actual: 'deny', verdict: 'ok' }),
      cell({ operation: 'insert-own', expected: 'allow', actual: 'deny', verdict: 'blocked' }),
      cell({ actual: 'error', verdict: 'error' }),
    ], [], 'error');
    expect(d.regressions.map((c) => [c.table, c.before])).toEqual([['public.new', null]]);
    expect(d.fixed.map((c) => c.operation)).toEqual(['update-other']);
    expect(d.newlyBlocked.map((c) => c.operation)).toEqual(['insert-own']);
    expect(d.changed.map((c) => c.after.actual)).toEqual(['error']);
  });

  it('new findings split by --fail-on; resolved ones listed', () => {
    const now = [finding({}), finding({ rule: 'rls-disabled-exposed', level: 'error', object: 'public.u' }), finding({ rule: 'per-row-call', object: 'public.u.q' })];
    const d = diffSnapshot(before, [], now, 'error');
    expect(d.newFindings.map((f) => f.object)).toEqual(['public.u']);
    expect(d.newFindingsBelow.map((f) => f.object)).toEqual(['public.u.q']);
    expect(d.resolvedFindings.map((f) => f.rule)).toEqual(['rls-not-forced']);
    expect(diffSnapshot(before, [], now, 'never').newFindings).toEqual([]);
  });
});

describe('the snapshot file', () => {
  it('round-trips through the schema', async () => {
    const file = path.join(dir, 'ok.json');
    const s = snap([cell({})], [finding({})]);
    await writeSnapshot(file, s);
    expect(await readSnapshot(file, 'ok.json')).toEqual(s);
  });

  it.each([
    ['missing', null, /no such file/],
    ['not JSON', '{"format": ', /not JSON/],
    ['another document', '{"hello": 1}', /format: /],
    ['a newer version', JSON.stringify({ ...snap([]), version: 2 }), /snapshot version 2; this dbkit reads version 1/],
    ['an unknown key', JSON.stringify({ ...snap([]), extra: true }), /Unrecognized key/i],
    ['a bad cell', JSON.stringify({ ...snap([]), cells: [{ ...snap([cell({})]).cells[0], verdict: 'fine' }] }), /cells\.0\.verdict/],
    ['a prototype key', '{"__proto__": {"polluted": true}, "format": "dbkit-rls-audit-snapshot"}', /not a usable/],
  ])('%s: RLS_SNAPSHOT_INVALID naming the problem', async (_name, content, pattern) => {
    const file = path.join(dir, `${_name.replace(/\W/g, '_')}.json`);
    if (content !== null) writeFileSync(file, content);
    const error = await readSnapshot(file, 'snap.json').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DbkitError);
    expect((error as DbkitError).code).toBe('RLS_SNAPSHOT_INVALID');
    expect((error as DbkitError).message).toMatch(/^snap\.json is not a usable rls-audit snapshot: /);
    expect((error as DbkitError).message).toMatch(pattern);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

import { describe, expect, it } from 'vitest';
import { locksByStatement, rewritesIn, scansIn, type StatementWindow } from '../../../src/rehearse/measure.ts';
import type { CatalogState, RelationState } from '../../../src/rehearse/observe.ts';

const rel = (oid: number, over: Partial<RelationState> = {}): RelationState => ({ oid, name: `public.t${oid}`, kind: 'table', filenode: oid, scans: 0, rowsRead: 0, ...over });
const state = (...rels: RelationState[]): CatalogState => new Map(rels.map((r) => [r.oid, r]));
const namer = (oid: number) => ({ name: `public.t${oid}`, kind: 'table' as const });

describe('locks per statement', () => {
  it('in a transaction: snapshot differences, held until the transaction ends, poll samples merged in', () => {
    const windows: StatementWindow[] = [
      { index: 0, start: 100, end: 200, before: state(), after: state(), snapshot: [{ oid: 1, mode: 'ShareLock', granted: true }] },
      { index: 1, start: 210, end: 400, before: state(), after: state(), snapshot: [{ oid: 1, mode: 'ShareLock', granted: true }, { oid: 1, mode: 'AccessExclusiveLock', granted: true }] },
    ];
    const samples = [
      { at: 150, locks: [{ oid: 1, mode: 'ShareLock' as const, granted: true }] },
      { at: 220, locks: [{ oid: 1, mode: 'AccessExclusiveLock' as const, granted: false }] },
      // a lock taken and let go within the statement: only the poller sees it
      { at: 300, locks: [{ oid: 2, mode: 'AccessShareLock' as const, granted: true }] },
    ];
    const locks = locksByStatement(windows, samples, 1000, new Set([1, 2]), namer);
    expect(locks.get(0)!.map((l) => [l.mode, l.relation.oid, l.heldMs, l.observedBy])).toEqual([['ShareLock', 1, 900, ['poll', 'snapshot']]]);
    expect(locks.get(1)!.map((l) => [l.mode, l.relation.oid, l.heldMs, l.observedBy, l.waited])).toEqual([
      ['AccessExclusiveLock', 1, 790, ['poll', 'snapshot'], true],
      ['AccessShareLock', 2, 790, ['poll'], false],
    ]);
  });

  it('leaves out locks the enclosing transaction held before the migration began', () => {
    const windows: StatementWindow[] = [{ index: 0, start: 0, end: 10, before: state(), after: state(), snapshot: [{ oid: 1, mode: 'AccessExclusiveLock', granted: true }, { oid: 3, mode: 'ShareLock', granted: true }] }];
    const locks = locksByStatement(windows, [{ at: 5, locks: [{ oid: 1, mode: 'AccessExclusiveLock', granted: true }] }], 20, new Set([1, 3]), namer, [{ oid: 1, mode: 'AccessExclusiveLock', granted: true }]);
    expect(locks.get(0)!.map((l) => [l.mode, l.relation.oid])).toEqual([['ShareLock', 3]]);
  });

  it('outside a transaction: poll only, held for the statement, seen afresh by the next statement', () => {
    const windows: StatementWindow[] = [
      { index: 0, start: 0, end: 50, before: state(), after: state(), snapshot: null },
      { index: 1, start: 60, end: 90, before: state(), after: state(), snapshot: null },
    ];
    const samples = [5, 70].map((at) => ({ at, locks: [{ oid: 1, mode: 'ShareUpdateExclusiveLock' as const, granted: true }] }));
    const locks = locksByStatement(windows, samples, null, new Set([1]), namer);
    expect(locks.get(0)!.map((l) => l.heldMs)).toEqual([50]);
    expect(locks.get(1)!.map((l) => l.heldMs)).toEqual([30]);
  });

  it('marks relations the migration created', () => {
    const windows: StatementWindow[] = [{ index: 0, start: 0, end: 1, before: state(), after: state(), snapshot: [{ oid: 9, mode: 'AccessExclusiveLock', granted: true }] }];
    expect(locksByStatement(windows, [], 2, new Set(), namer).get(0)![0]!.relation.createdHere).toBe(true);
  });
});

describe('rewrites and scans', () => {
  it('a changed relfilenode is a rewrite; rows are per scan (index rebuilds read the table again)', () => {
    const w: StatementWindow = { index: 0, start: 0, end: 1, before: state(rel(1, { filenode: 10 }), rel(2, { kind: 'index', filenode: 20 })), after: state(rel(1, { filenode: 11, scans: 2, rowsRead: 2000 }), rel(2, { kind: 'index', filenode: 21 })), snapshot: [] };
    expect(rewritesIn(w, new Set([1, 2]), namer).map((r) => [r.relation.oid, r.rows])).toEqual([[1, 1000], [2, null]]);
    expect(scansIn(w, new Set([1, 2]), namer)).toEqual([{ relation: { oid: 1, name: 'public.t1', kind: 'table', createdHere: false }, scans: 2, rows: 1000 }]);
  });

  it('no counter change, no scan', () => {
    const w: StatementWindow = { index: 0, start: 0, end: 1, before: state(rel(1, { scans: 3, rowsRead: 5 })), after: state(rel(1, { scans: 3, rowsRead: 5 })), snapshot: [] };
    expect(scansIn(w, new Set([1]), namer)).toEqual([]);
    expect(rewritesIn(w, new Set([1]), namer)).toEqual([]);
  });
});

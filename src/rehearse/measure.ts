/**
 * Turning observations into per-statement facts: which locks each statement took (snapshot
 * differences and poll samples), which relations it rewrote (relfilenode changed), which it
 * scanned in full (seq-scan counter went up). Pure.
 */
import type { CatalogState, HeldLock, PollSample } from './observe.js';
import type { FullScan, LockHeld, Observer, RelationRef, Rewrite } from './model.js';

export interface StatementWindow {
  index: number;
  start: number;
  end: number;
  before: CatalogState;
  after: CatalogState;
  /** Snapshot after the statement, inside its transaction (null outside a transaction). */
  snapshot: HeldLock[] | null;
}

const key = (l: { oid: number; mode: string }) => `${l.oid}:${l.mode}`;

export type Namer = (oid: number) => { name: string; kind: RelationRef['kind'] } | undefined;

export function relationRef(oid: number, existedBefore: ReadonlySet<number>, namer: Namer): RelationRef {
  const known = namer(oid);
  return { oid, name: known?.name ?? `oid ${oid} (gone)`, kind: known?.kind ?? 'other', createdHere: !existedBefore.has(oid) };
}

/**
 * The locks each statement took. In a transaction a lock is held from the start of the statement
 * that took it until the transaction ends (`transactionEnd`); outside one, until the statement ends.
 */
export function locksByStatement(
  windows: readonly StatementWindow[],
  samples: readonly PollSample[],
  transactionEnd: number | null,
  existedBefore: ReadonlySet<number>,
  namer: Namer,
  /** Locks the transaction already held before the migration's first statement (on the target, from earlier migrations). */
  heldAtStart: readonly HeldLock[] = [],
): Map<number, LockHeld[]> {
  const out = new Map<number, LockHeld[]>();
  const seen = new Map<string, LockHeld>();
  const inherited = new Set(heldAtStart.map(key));
  let previous = new Set(inherited);
  for (const w of windows) {
    const locks: LockHeld[] = [];
    const until = transactionEnd ?? w.end;
    const add = (l: HeldLock, by: Observer, waited: boolean) => {
      const k = key(l);
      if (inherited.has(k)) return;
      const found = seen.get(k);
      if (found) {
        if (!found.observedBy.includes(by)) found.observedBy.push(by);
        found.waited ||= waited;
        return;
      }
      const held: LockHeld = { mode: l.mode, relation: relationRef(l.oid, existedBefore, namer), heldMs: Math.round(Math.max(0, until - w.start) * 10) / 10, statementIndex: w.index, observedBy: [by], waited };
      seen.set(k, held);
      locks.push(held);
    };
    // Poll samples taken while this statement ran.
    for (const s of samples) {
      if (s.at < w.start || s.at > w.end) continue;
      for (const l of s.locks) add(l, 'poll', !l.granted);
    }
    if (w.snapshot) {
      const now = new Set(w.snapshot.map(key));
      for (const l of w.snapshot) if (!previous.has(key(l)) || seen.has(key(l))) add(l, 'snapshot', false);
      previous = now;
    }
    // Outside a transaction every statement starts with no locks: forget what the previous one took.
    if (!w.snapshot) for (const l of locks) seen.delete(key({ oid: l.relation.oid, mode: l.mode }));
    out.set(w.index, locks);
  }
  return out;
}

export function rewritesIn(w: StatementWindow, existedBefore: ReadonlySet<number>, namer: Namer): Rewrite[] {
  const out: Rewrite[] = [];
  for (const [oid, before] of w.before) {
    const after = w.after.get(oid);
    if (!after || after.filenode === before.filenode || before.filenode === 0) continue;
    // A rewrite reads the table once, and once more per index rebuilt on it: rows per scan.
    const scans = after.scans - before.scans;
    const rows = after.kind === 'table' && scans > 0 ? Math.round(Math.max(0, after.rowsRead - before.rowsRead) / scans) : null;
    out.push({ relation: relationRef(oid, existedBefore, namer), rows });
  }
  return out;
}

export function scansIn(w: StatementWindow, existedBefore: ReadonlySet<number>, namer: Namer): FullScan[] {
  const out: FullScan[] = [];
  for (const [oid, after] of w.after) {
    if (after.kind !== 'table') continue;
    const before = w.before.get(oid);
    const scans = after.scans - (before?.scans ?? 0);
    if (scans <= 0) continue;
    // Rows per scan: an index build or a CONCURRENTLY build's validation reads the table again.
    out.push({ relation: relationRef(oid, existedBefore, namer), scans, rows: Math.round(Math.max(0, after.rowsRead - (before?.rowsRead ?? 0)) / scans) });
  }
  return out;
}

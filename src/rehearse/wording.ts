/** The per-migration report lines. Pure. */
import { formatDuration } from '../core/duration.js';
import { blocksReads, blocksWrites, impact, LOCK_NAMES, strength } from './locks.js';
import type { LockHeld, MigrationRehearsal, StatementRehearsal, TrafficResult } from './model.js';

export const count = (n: number) => n.toLocaleString('en-US');

function stalls(traffic: readonly TrafficResult[] | null, table: string): string | null {
  const t = traffic?.find((r) => r.table === table);
  if (!t) return null;
  const part = (what: string, ms: number | null) => (ms === null ? `${what} not measured` : `${what} stalled ${formatDuration(ms)}`);
  return `${part('writers', t.writerStallMs)}, ${part('readers', t.readerStallMs).replace('readers stalled ', 'readers ')}`;
}

/** The strongest lock held on each relation that existed before the migration. */
export function strongestLocks(statements: readonly StatementRehearsal[]): LockHeld[] {
  const best = new Map<string, LockHeld>();
  for (const lock of statements.flatMap((s) => s.locks)) {
    if (lock.relation.createdHere || (lock.relation.kind !== 'table' && lock.relation.kind !== 'view')) continue;
    const seen = best.get(lock.relation.name);
    if (!seen || strength(lock.mode) > strength(seen.mode) || (lock.mode === seen.mode && lock.heldMs > seen.heldMs)) best.set(lock.relation.name, lock);
  }
  return [...best.values()].sort((a, b) => strength(b.mode) - strength(a.mode) || b.heldMs - a.heldMs);
}

/** "ACCESS EXCLUSIVE on public.contents for 2.4 s (rewrite, 1,000,000 rows); writers stalled 2.5 s, readers 2.5 s" */
export function summarise(m: Pick<MigrationRehearsal, 'statements' | 'traffic'>): string[] {
  const lines: string[] = [];
  for (const lock of strongestLocks(m.statements)) {
    const name = lock.relation.name;
    const rewrite = m.statements.flatMap((s) => s.rewrites).find((r) => r.relation.name === name);
    const scan = m.statements.flatMap((s) => s.scans).find((r) => r.relation.name === name);
    const notes: string[] = [];
    if (rewrite) notes.push(`rewrite${rewrite.rows !== null ? `, ${count(rewrite.rows)} rows` : ''}`);
    else if (scan) notes.push(`full scan, ${count(scan.rows)} rows`);
    notes.push(blocksReads(lock.mode) || blocksWrites(lock.mode) ? `blocks ${impact(lock.mode)}` : 'reads and writes go on');
    const traffic = stalls(m.traffic, name);
    lines.push(`${LOCK_NAMES[lock.mode]} on ${name} for ${formatDuration(lock.heldMs)} (${notes.join('; ')})${traffic ? `; ${traffic}` : ''}`);
  }
  if (lines.length === 0) lines.push('no lock on a table that existed before the migration');
  return lines;
}

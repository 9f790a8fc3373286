/**
 * --fail-on for rehearsals: which thresholds (parsed in core/thresholds.ts) a rehearsal crossed. Pure.
 */
import { formatDuration } from '../core/duration.js';
import type { Threshold } from '../core/thresholds.js';
import { blocksReads, blocksWrites, LOCK_NAMES } from './locks.js';
import type { MigrationRehearsal } from './model.js';

/** Each threshold crossed, as a sentence naming the migration and what crossed it. */
export function breaches(rehearsals: readonly MigrationRehearsal[], thresholds: readonly Threshold[]): string[] {
  const out: string[] = [];
  for (const m of rehearsals) {
    const statements = m.statements;
    for (const t of thresholds) {
      switch (t.kind) {
        case 'blocking-writes':
        case 'blocking-reads': {
          const test = t.kind === 'blocking-writes' ? blocksWrites : blocksReads;
          const worst = statements.flatMap((s) => s.locks).filter((l) => !l.relation.createdHere && test(l.mode) && l.heldMs > t.overMs).sort((a, b) => b.heldMs - a.heldMs)[0];
          if (worst) out.push(`${m.name}: ${LOCK_NAMES[worst.mode]} on ${worst.relation.name} held ${formatDuration(worst.heldMs)} (${t.kind} > ${formatDuration(t.overMs)})`);
          break;
        }
        case 'writer-stall':
        case 'reader-stall': {
          const key = t.kind === 'writer-stall' ? 'writerStallMs' : 'readerStallMs';
          const worst = (m.traffic ?? []).filter((r) => (r[key] ?? 0) > t.overMs).sort((a, b) => (b[key] ?? 0) - (a[key] ?? 0))[0];
          if (worst) out.push(`${m.name}: ${t.kind === 'writer-stall' ? 'writers' : 'readers'} of ${worst.table} stalled ${formatDuration(worst[key] ?? 0)} (> ${formatDuration(t.overMs)})`);
          break;
        }
        case 'statement': {
          const slow = statements.filter((s) => s.durationMs > t.overMs).sort((a, b) => b.durationMs - a.durationMs)[0];
          if (slow) out.push(`${m.name}: statement ${slow.index + 1} ran ${formatDuration(slow.durationMs)} (> ${formatDuration(t.overMs)})`);
          break;
        }
        case 'rewrite': {
          const r = statements.flatMap((s) => s.rewrites).find((x) => !x.relation.createdHere && x.relation.kind === 'table');
          if (r) out.push(`${m.name}: rewrote ${r.relation.name}`);
          break;
        }
        case 'scan': {
          const s = statements.flatMap((x) => x.scans).find((x) => !x.relation.createdHere && x.rows > 0);
          if (s) out.push(`${m.name}: full scan of ${s.relation.name} (${s.rows} rows)`);
          break;
        }
        case 'lint': {
          const n = statements.reduce((sum, s) => sum + s.lint.length, 0);
          if (n > 0) out.push(`${m.name}: ${n} squawk finding(s)`);
          break;
        }
        default: {
          const unreachable: never = t;
          throw new Error(`unknown threshold ${JSON.stringify(unreachable)}`);
        }
      }
    }
  }
  return out;
}

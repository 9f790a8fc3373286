/**
 * --fail-on for rehearsals: a comma-separated list such as
 * "blocking-writes>500ms,rewrite,writer-stall>1s". Parsing and evaluation are pure.
 */
import { formatDuration, parseDuration } from '../core/duration.js';
import { blocksReads, blocksWrites, LOCK_NAMES } from './locks.js';
import type { MigrationRehearsal } from './model.js';

export const TIMED_THRESHOLDS = ['blocking-writes', 'blocking-reads', 'writer-stall', 'reader-stall', 'statement'] as const;
export const FLAG_THRESHOLDS = ['rewrite', 'scan', 'lint'] as const;
export type TimedThreshold = (typeof TIMED_THRESHOLDS)[number];
export type FlagThreshold = (typeof FLAG_THRESHOLDS)[number];

export type Threshold = { kind: TimedThreshold; overMs: number } | { kind: FlagThreshold };

export const THRESHOLD_HELP =
  'blocking-writes>DURATION (a lock that stops INSERT/UPDATE/DELETE held longer), blocking-reads>DURATION, writer-stall>DURATION and reader-stall>DURATION (--traffic), statement>DURATION, rewrite (a table rewritten), scan (a full scan of a table with rows), lint (a squawk finding)';

export function parseThresholds(raw: string): Threshold[] | { error: string } {
  const items = raw.split(',').map((s) => s.trim()).filter(Boolean);
  const out: Threshold[] = [];
  for (const item of items) {
    if (item === 'none') continue;
    const flag = FLAG_THRESHOLDS.find((k) => k === item);
    if (flag) {
      out.push({ kind: flag });
      continue;
    }
    const match = /^([a-z-]+)\s*>\s*(.+)$/.exec(item);
    const kind = TIMED_THRESHOLDS.find((k) => k === match?.[1]);
    if (!match || !kind) return { error: `'${item}' is not a threshold (use: ${THRESHOLD_HELP})` };
    const ms = parseDuration(match[2]!);
    if (typeof ms !== 'number') return { error: `'${item}': ${ms.error}` };
    out.push({ kind, overMs: ms });
  }
  return out;
}

export function formatThreshold(t: Threshold): string {
  return 'overMs' in t ? `${t.kind}>${formatDuration(t.overMs).replace(' ', '')}` : t.kind;
}

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

/**
 * --fail-on for rehearsals: a comma-separated list such as
 * "blocking-writes>500ms,rewrite,writer-stall>1s". Pure parsing; the setting (config.ts) and the
 * rehearsal's evaluation (rehearse/thresholds.ts) both read it.
 */
import { formatDuration, parseDuration } from './duration.js';

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

/**
 * A progress bar for work over many items: redrawn in place on a terminal; otherwise (CI logs,
 * a pipe) one line every few seconds while the work lasts, so a short run prints none and a long
 * one shows it is alive without a line per item; nothing in JSON mode.
 */
import type { Writable } from 'node:stream';
import { formatDuration } from '../core/duration.js';

export interface Progress {
  update(done: number, note?: string): void;
  finish(): void;
}

type Stream = Writable & { isTTY?: boolean; columns?: number };

export const NO_PROGRESS: Progress = { update() {}, finish() {} };

/** Without a terminal, a progress line at most this often. */
export const LOG_PROGRESS_EVERY_MS = 5_000;

export function progressBar(out: Stream, total: number, noun: string, now: () => number = () => performance.now()): Progress {
  const started = now();
  const tty = Boolean(out.isTTY);
  let lastLog = started;
  let lastDraw = 0;
  let drawn = false;
  const line = (done: number, note?: string) => {
    const width = 24;
    const filled = total === 0 ? width : Math.round((done / total) * width);
    const elapsed = now() - started;
    const rate = elapsed > 0 ? (done / elapsed) * 1000 : 0;
    return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} ${noun} ${formatDuration(elapsed)}${elapsed > 500 ? `, ${rate.toFixed(1)}/s` : ''}${note ? `  ${note}` : ''}`;
  };
  return {
    update(done, note) {
      if (tty) {
        const at = now();
        if (at - lastDraw < 80 && done < total) return;
        lastDraw = at;
        out.write(`\r${line(done, note).slice(0, Math.max(20, (out.columns ?? 100) - 1))}\x1b[K`);
        drawn = true;
        return;
      }
      const at = now();
      if (at - lastLog >= LOG_PROGRESS_EVERY_MS && done < total) {
        lastLog = at;
        out.write(`${line(done, note)}\n`);
      }
    },
    finish() {
      if (tty && drawn) out.write('\r\x1b[K');
    },
  };
}

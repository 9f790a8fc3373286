/**
 * A progress bar for work over many items: redrawn in place on a terminal, a line every 10%
 * otherwise (CI logs), nothing in JSON mode.
 */
import type { Writable } from 'node:stream';
import { formatDuration } from '../core/duration.js';

export interface Progress {
  update(done: number, note?: string): void;
  finish(): void;
}

type Stream = Writable & { isTTY?: boolean; columns?: number };

export const NO_PROGRESS: Progress = { update() {}, finish() {} };

export function progressBar(out: Stream, total: number, noun: string): Progress {
  const started = performance.now();
  const tty = Boolean(out.isTTY);
  let lastDecile = -1;
  let lastDraw = 0;
  let drawn = false;
  const line = (done: number, note?: string) => {
    const width = 24;
    const filled = total === 0 ? width : Math.round((done / total) * width);
    const elapsed = performance.now() - started;
    const rate = elapsed > 0 ? (done / elapsed) * 1000 : 0;
    return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} ${noun} ${formatDuration(elapsed)}${elapsed > 500 ? `, ${rate.toFixed(1)}/s` : ''}${note ? `  ${note}` : ''}`;
  };
  return {
    update(done, note) {
      if (tty) {
        const now = performance.now();
        if (now - lastDraw < 80 && done < total) return;
        lastDraw = now;
        out.write(`\r${line(done, note).slice(0, Math.max(20, (out.columns ?? 100) - 1))}\x1b[K`);
        drawn = true;
        return;
      }
      const decile = total === 0 ? 10 : Math.floor((done / total) * 10);
      if (decile > lastDecile) {
        lastDecile = decile;
        out.write(`${line(done, note)}\n`);
      }
    },
    finish() {
      if (tty && drawn) out.write('\r\x1b[K');
    },
  };
}

import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { LOG_PROGRESS_EVERY_MS, progressBar } from '../../../src/output/progress.ts';

function sink(tty: boolean) {
  const lines: string[] = [];
  const out = Object.assign(new Writable({ write(chunk, _enc, done) { lines.push(String(chunk)); done(); } }), { isTTY: tty });
  return { out, lines };
}

describe('progressBar without a terminal', () => {
  it('prints no line for work that ends within the interval, however many items', () => {
    const { out, lines } = sink(false);
    let t = 0;
    const bar = progressBar(out, 5, 'courses', () => t);
    for (let i = 1; i <= 5; i++) {
      t += 100;
      bar.update(i);
    }
    bar.finish();
    expect(lines).toEqual([]);
  });

  it('prints at most one line per interval while the work lasts, never one per item', () => {
    const { out, lines } = sink(false);
    let t = 0;
    const bar = progressBar(out, 100, 'courses', () => t);
    for (let i = 1; i <= 100; i++) {
      t += LOG_PROGRESS_EVERY_MS / 10; // ten items per interval
      bar.update(i);
    }
    expect(lines).toHaveLength(9); // at items 10, 20, ..., 90; the last item is the summary's job
    expect(lines[0]).toMatch(/^\[##.*\] 10\/100 courses 5\.00 s, 2\.0\/s\n$/);
  });
});

describe('progressBar on a terminal', () => {
  it('redraws in place and clears the line at the end', () => {
    const { out, lines } = sink(true);
    let t = 0;
    const bar = progressBar(out, 2, 'courses', () => t);
    t = 100;
    bar.update(1);
    t = 200;
    bar.update(2);
    bar.finish();
    expect(lines.every((l) => l.startsWith('\r'))).toBe(true);
    expect(lines.at(-1)).toBe('\r\x1b[K');
  });
});

/**
 * Everything dbkit prints goes through a Reporter, so that command code never touches the
 * terminal: human mode prints one line per step with its timing (and keeps a long step visibly
 * alive), JSON mode prints nothing until the final document.
 */
import { Chalk, type ChalkInstance } from 'chalk';
import type { Writable } from 'node:stream';
import { formatDuration } from '../core/duration.js';
import { terminalSafe } from './text.js';

export interface Step {
  done(detail?: string): void;
  fail(detail?: string): void;
  skip(detail?: string): void;
}

export interface Reporter {
  step(label: string): Step;
  info(message: string): void;
  warn(message: string): void;
  /** Pre-formatted text (SQL of a dry run, a table) shown as-is in human mode. */
  block(text: string): void;
  readonly color: ChalkInstance;
}

type Stream = Writable & { isTTY?: boolean; columns?: number };

export function colorFor(stream: Stream, env: Record<string, string | undefined> = process.env): ChalkInstance {
  const noColor = env.NO_COLOR !== undefined && env.NO_COLOR !== '';
  const force = env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '0' && env.FORCE_COLOR !== 'false';
  const level = noColor ? 0 : force || stream.isTTY ? 1 : 0;
  return new Chalk({ level });
}

const LONG_STEP_NOTICE_MS = 2_000;
const NON_TTY_REPEAT_MS = 10_000;

export function humanReporter(out: Stream = process.stdout, err: Stream = process.stderr, env = process.env): Reporter {
  const c = colorFor(out, env);
  const tty = Boolean(out.isTTY);
  // Every line passes terminalSafe: no control character from data reaches the terminal raw.
  const write = (line: string) => out.write(`${terminalSafe(line, c.level > 0)}\n`);
  return {
    color: c,
    step(rawLabel) {
      const label = terminalSafe(rawLabel, c.level > 0);
      const started = performance.now();
      let ticker: NodeJS.Timeout | undefined;
      let liveLine = false;
      // Keep anything slower than a couple of seconds visibly alive.
      const beat = () => {
        const elapsed = formatDuration(performance.now() - started);
        if (tty) {
          out.write(`\r${c.cyan('…')} ${label} ${c.dim(elapsed)}\x1b[K`);
          liveLine = true;
        } else {
          write(`… ${label} (still running, ${elapsed})`);
        }
      };
      ticker = setTimeout(function tick() {
        beat();
        ticker = setTimeout(tick, tty ? 500 : NON_TTY_REPEAT_MS);
        ticker.unref();
      }, LONG_STEP_NOTICE_MS);
      ticker.unref();
      const finish = (mark: string, detail?: string) => {
        if (ticker) clearTimeout(ticker);
        if (liveLine) out.write('\r\x1b[K');
        const time = c.dim(`(${formatDuration(performance.now() - started)})`);
        write(`${mark} ${label}${detail ? ` ${detail}` : ''} ${time}`);
      };
      return {
        done: (detail) => finish(c.green('✓'), detail),
        fail: (detail) => finish(c.red('✗'), detail ? c.red(detail) : undefined),
        skip: (detail) => finish(c.yellow('-'), detail ? c.dim(detail) : undefined),
      };
    },
    info: (message) => write(message),
    warn: (message) => err.write(`${terminalSafe(`${c.yellow('warning:')} ${message}`, c.level > 0)}\n`),
    block: (text) => write(text),
  };
}

/** For --json: progress is not printed; warnings still reach stderr so that humans watching CI see them. */
export function quietReporter(err: Stream = process.stderr): Reporter {
  const c = new Chalk({ level: 0 });
  const noop: Step = { done() {}, fail() {}, skip() {} };
  return {
    color: c,
    step: () => noop,
    info() {},
    warn: (message) => err.write(`warning: ${terminalSafe(message, false)}\n`),
    block() {},
  };
}

/**
 * What the benchmarks share: scratch databases on a real server, timing, medians and a plain
 * text table. Benchmarks compare against a baseline measured in the same run and print ratios.
 */
import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import type { Reporter, Step } from '../../src/output/terminal.ts';
import { withDatabase } from '../../src/db/connect.ts';
import { withClient } from '../../src/db/scoped.ts';
import { Chalk } from 'chalk';
import { quoteIdent } from '../../src/core/sql.ts';

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export const ms = (value: number) => (Number.isFinite(value) ? `${value.toFixed(value < 100 ? 1 : 0)} ms` : '-');
export const ratio = (value: number, digits = 2) => (Number.isFinite(value) ? `${value.toFixed(digits)}x` : '-');

export async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; result: T }> {
  const started = performance.now();
  const result = await fn();
  return { ms: performance.now() - started, result };
}

export function withAdmin<T>(adminUrl: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  return withClient(adminUrl, {}, fn);
}

export const urlFor = withDatabase;

/** A new empty database for `fn`, dropped afterwards with any template-copy backups of it. */
export async function withScratchDatabase<T>(adminUrl: string, fn: (url: string, name: string) => Promise<T>): Promise<T> {
  // Outside the dbkit_* names that test runs on the same server create and clean up.
  const name = `bench_apply_${randomBytes(4).toString('hex')}`;
  await withAdmin(adminUrl, (c) => c.query(`CREATE DATABASE ${quoteIdent(name)}`));
  try {
    return await fn(urlFor(adminUrl, name), name);
  } finally {
    await withAdmin(adminUrl, async (c) => {
      await c.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`);
      const { rows } = await c.query<{ datname: string }>("SELECT datname FROM pg_database WHERE datname LIKE 'dbkit\\_bk\\_%' AND datname LIKE $1", [`%${name}%`]);
      for (const row of rows) await c.query(`DROP DATABASE IF EXISTS ${quoteIdent(row.datname)} WITH (FORCE)`);
    });
  }
}

export async function serverVersion(adminUrl: string): Promise<string> {
  return withAdmin(adminUrl, async (c) => (await c.query<{ v: string }>("SELECT split_part(current_setting('server_version'), ' ', 1) AS v")).rows[0]!.v);
}

/** A Reporter that prints nothing and keeps how long each step took. */
export function recordingReporter(): Reporter & { steps: Map<string, number> } {
  const steps = new Map<string, number>();
  const step = (label: string): Step => {
    const started = performance.now();
    const finish = () => steps.set(label, (steps.get(label) ?? 0) + performance.now() - started);
    return { done: finish, fail: finish, skip: finish };
  };
  return { steps, step, info() {}, warn() {}, block() {}, color: new Chalk({ level: 0 }) };
}

/** Rows of cells as an aligned text table; numbers-looking cells are right-aligned. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const numeric = (cell: string) => /^[\d.,+-]+( ?(ms|x|%|KiB|MiB))?$/.test(cell);
  const line = (cells: readonly string[]) => cells.map((c, i) => (numeric(c) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

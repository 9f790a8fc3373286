/**
 * Runs pgTAP files: each on its own connection, in its own transaction that is always rolled back,
 * statement by statement (so a file that dies is reported with the line it died on), several files
 * at once. Returns per-file results; nothing here decides the exit code.
 */
import { readFileSync } from 'node:fs';
import type pg from 'pg';
import { connect } from '../db/connect.js';
import { errorMessage, pgErrorInfo } from '../errors.js';
import { prepareScript } from './script.js';
import { evaluateTap, isTap, type TapResult } from './tap.js';
import { mapConcurrent } from '../core/concurrency.js';

export interface FileResult {
  file: string;
  tap: TapResult;
  /** TAP lines as the file printed them (and notices, as diagnostics). */
  output: string[];
  /** Meta-commands and transaction statements that were not run. */
  dropped: { what: string; line: number }[];
  durationMs: number;
}

export interface RunOptions {
  url: string;
  connectTimeoutMs: number;
  /** Schema holding pgTAP, appended to each file's search_path. */
  pgtapSchema: string;
  jobs: number;
  onFileDone?: (result: FileResult) => void;
}

async function collect(client: pg.Client, sql: string, output: string[]): Promise<void> {
  const result = (await client.query({ text: sql, rowMode: 'array' })) as unknown as pg.QueryArrayResult | pg.QueryArrayResult[];
  for (const r of Array.isArray(result) ? result : [result]) {
    for (const row of r.rows ?? []) {
      for (const value of row) if (typeof value === 'string') output.push(...value.split('\n').filter(isTap));
    }
  }
}

export async function runFile(file: string, shown: string, options: RunOptions): Promise<FileResult> {
  const started = performance.now();
  const output: string[] = [];
  const script = await prepareScript(readFileSync(file, 'utf8'));
  let died: string | null = script.syntaxError ? `syntax error at line ${script.syntaxError.line}: ${script.syntaxError.message}` : null;
  if (!died) {
    const client = await connect(options.url, { connectTimeoutMs: options.connectTimeoutMs, applicationName: 'dbkit test' });
    client.on('notice', (n) => output.push(...`${n.message ?? ''}`.split('\n').map((l) => `# ${l}`)));
    try {
      await client.query('BEGIN');
      await client.query("SELECT set_config('search_path', current_setting('search_path') || ', ' || quote_ident($1), true)", [options.pgtapSchema]);
      for (const statement of script.statements) {
        try {
          await collect(client, statement.sql, output);
        } catch (error) {
          const code = pgErrorInfo(error)?.code;
          died = `line ${statement.line}: ${errorMessage(error).split('\n')[0]}${code ? ` (SQLSTATE ${code})` : ''}`;
          break;
        }
      }
    } finally {
      await client.query('ROLLBACK').catch(() => {});
      await client.end().catch(() => {});
    }
  }
  return { file: shown, tap: evaluateTap(output, died), output, dropped: script.dropped, durationMs: performance.now() - started };
}

/** Runs the files `jobs` at a time; results come back in the files' order. */
export async function runFiles(files: readonly { path: string; shown: string }[], options: RunOptions): Promise<FileResult[]> {
  return mapConcurrent(files, options.jobs, async (f) => {
    const result = await runFile(f.path, f.shown, options);
    options.onFileDone?.(result);
    return result;
  });
}

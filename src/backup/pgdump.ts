/**
 * Backup with pg_dump -Fc, taken from the same snapshot as the row counts and fingerprint recorded
 * in its manifest, then verified by reading the whole archive back through pg_restore and counting
 * every table's rows (pg_restore --list alone passes on a truncated file).
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, statSync } from 'node:fs';
import readline from 'node:readline';
import type pg from 'pg';
import { DbkitError } from '../errors.js';
import { scrub, secretsOf } from '../core/redact.js';
import { CopyRowCounter, compareRowCounts } from '../core/copy-rows.js';
import { rowCounts } from '../db/catalog.js';
import { schemaFingerprint } from '../db/fingerprint.js';
import { childConnection, childEnvironment, type PgTool } from './pg-tools.js';
import type { SnapshotFacts } from './template.js';

/** Runs a PostgreSQL client tool; `url` (or null: no connection) reaches it through a 0600 service file. */
function runTool(tool: PgTool, args: string[], url: string | null, onStdoutLine?: (line: string) => void): Promise<{ code: number | null; stderr: string }> {
  const connection = url ? childConnection(url, 'dbkit-backup') : null;
  return new Promise<{ code: number | null; stderr: string }>((resolve, reject) => {
    const child = spawn(tool.path, args, {
      env: { ...childEnvironment(), ...connection?.env },
      stdio: ['ignore', onStdoutLine ? 'pipe' : 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      if (stderr.length < 20_000) stderr += chunk.toString();
    });
    if (onStdoutLine && child.stdout) {
      const lines = readline.createInterface({ input: child.stdout, crlfDelay: Number.POSITIVE_INFINITY });
      lines.on('line', onStdoutLine);
    }
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr: url ? scrub(stderr, secretsOf(url)) : stderr }));
  }).finally(() => connection?.dispose());
}

/**
 * Dumps the database to `file`. `client` must be an open connection to the same database; it is
 * used to export the snapshot pg_dump reads, and to count rows in that same snapshot.
 */
export async function dumpWithSnapshot(client: pg.ClientBase, tool: PgTool, url: string, file: string): Promise<SnapshotFacts> {
  await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  try {
    const { rows } = await client.query<{ snapshot: string }>('SELECT pg_export_snapshot() AS snapshot');
    const snapshot = rows[0]!.snapshot;
    // No connection string on argv (visible in ps): pg_dump reads it from a 0600 service file.
    // `file` already exists, 0600: pg_dump truncates it and keeps its mode.
    const dump = runTool(tool, ['--format=custom', `--snapshot=${snapshot}`, `--file=${file}`, '--no-password'], url);
    const facts: SnapshotFacts = {
      rowCounts: await rowCounts(client),
      fingerprint: (await schemaFingerprint(client, { includeDbkitSchema: true })).hash,
      contentChecksums: null,
    };
    const result = await dump;
    if (result.code !== 0) {
      throw new DbkitError('BACKUP_FAILED', `pg_dump failed: ${lastLine(result.stderr)}`, { hint: 'nothing was changed; fix the cause or pass --no-backup (not recommended)' });
    }
    return facts;
  } finally {
    await client.query('COMMIT').catch(() => {});
  }
}

export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export interface ArchiveCheck {
  ok: boolean;
  detail: string;
  counts: Map<string, number>;
}

/** Reads the whole archive back and compares every table's row count with `expected`. */
export async function verifyArchive(restoreTool: PgTool, file: string, expected: Record<string, number>): Promise<ArchiveCheck> {
  const counter = new CopyRowCounter();
  const result = await runTool(restoreTool, ['--file=-', file], null, (line) => counter.line(line));
  counter.end();
  if (result.code !== 0) return { ok: false, detail: `pg_restore cannot read the archive: ${lastLine(result.stderr)}`, counts: counter.counts };
  if (counter.unterminated) return { ok: false, detail: `the archive ends inside the data of ${counter.unterminated} (truncated)`, counts: counter.counts };
  const mismatches = compareRowCounts(expected, counter.counts);
  if (mismatches.length > 0) {
    const shown = mismatches.slice(0, 3).map((m) => `${m.table}: ${m.found ?? 'missing'} rows archived, ${m.expected} expected`);
    return { ok: false, detail: `row counts differ: ${shown.join('; ')}${mismatches.length > 3 ? ` (+${mismatches.length - 3} more)` : ''}`, counts: counter.counts };
  }
  const rows = [...counter.counts.values()].reduce((a, b) => a + b, 0);
  return { ok: true, detail: `read back ${counter.counts.size} tables, ${rows} rows, all counts match`, counts: counter.counts };
}

export function fileSize(file: string): number {
  return statSync(file).size;
}

function lastLine(text: string): string {
  const lines = text.trim().split('\n').filter(Boolean);
  return lines[lines.length - 1] ?? 'no error output';
}

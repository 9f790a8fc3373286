/**
 * Helpers for the backup attacks: a CLI run that can be killed with its children (kill -9 of the
 * process group), waiting for a condition, file modes, a small database to back up.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { BIN, ROOT, type CliResult } from './cli.ts';
import { query } from './db.ts';

export interface KillableRun {
  child: ChildProcess;
  done: Promise<CliResult>;
  /** kill -9 of dbkit and every process it started (pg_dump). */
  killAll(): void;
}

export function runKillable(args: string[], env: Record<string, string | undefined>): KillableRun {
  const clean = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined)) as Record<string, string>;
  const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: clean, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<CliResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return {
    child,
    done,
    killAll: () => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    },
  };
}

/** Polls `probe` every `everyMs` until it returns a value (not undefined/null/false), or gives up. */
export async function waitFor<T>(what: string, probe: () => Promise<T | null | undefined | false> | T | null | undefined | false, timeoutMs = 60_000, everyMs = 20): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== null && value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

export const modeOf = (file: string) => statSync(file).mode & 0o777;

/** Files in the backups folder (none when it does not exist yet). */
export function backupFiles(dir: string): string[] {
  try {
    return readdirSync(dir).sort();
  } catch {
    return [];
  }
}

/** A table with `rows` rows of text: enough to back up, restore and tamper with. */
export async function seedContents(url: string, rows = 500): Promise<void> {
  await query(
    url,
    `CREATE TABLE public.contents (id bigserial PRIMARY KEY, title text NOT NULL, content text NOT NULL, created_at timestamptz NOT NULL DEFAULT now());
     INSERT INTO public.contents (title, content) SELECT 'Lesson ' || g, repeat(md5(g::text), 3) FROM generate_series(1, ${rows}) g`,
  );
}

export const backupDirOf = (env: Record<string, string | undefined>) => path.join(env.DBKIT_STATE_DIR!, 'backups');

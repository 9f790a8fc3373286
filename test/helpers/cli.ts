/**
 * Runs the built CLI (bin/dbkit.js) as a user would, in a child process.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const ROOT = path.resolve(import.meta.dirname, '..', '..');
export const BIN = path.join(ROOT, 'bin', 'dbkit.js');

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  env?: Record<string, string | undefined>;
  cwd?: string;
  /** Called once the process is running (to kill it, say). */
  onSpawn?: (child: ChildProcess) => void;
}

/** An environment without the developer's DATABASE_URL and with a private state dir. */
export function cleanEnv(extra: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = { ...process.env, NO_COLOR: '1', FORCE_COLOR: undefined, DATABASE_URL: undefined };
  // DBKIT_PGTAP_DIR says where this machine keeps pgTAP (or hides it: see test/helpers/pgtap.ts).
  for (const key of Object.keys(env)) if (key.startsWith('DBKIT_') && key !== 'DBKIT_PGTAP_DIR') delete env[key];
  // mkdtemp makes a 0700 folder, which the postgres OS user (the embedded cluster, when root)
  // could not reach; the cluster would then be put under /var/tmp instead.
  env.DBKIT_STATE_DIR = mkdtempSync(path.join(os.tmpdir(), 'dbkit-cli-'));
  chmodSync(env.DBKIT_STATE_DIR, 0o755);
  return { ...env, ...extra };
}

export function runCli(args: string[], options: CliOptions = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const env = Object.fromEntries(Object.entries(options.env ?? cleanEnv()).filter(([, v]) => v !== undefined)) as Record<string, string>;
    const child = spawn(process.execPath, [BIN, ...args], { cwd: options.cwd ?? ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
    options.onSpawn?.(child);
  });
}

export function parseJson<T>(result: CliResult): T {
  try {
    return JSON.parse(result.stdout) as T;
  } catch {
    throw new Error(`stdout is not JSON (exit ${result.code}):\n${result.stdout}\nstderr:\n${result.stderr}`);
  }
}

/**
 * Keeping the embedded cluster up between commands, and no longer: after a command, the server
 * stays running for DBKIT_EMBEDDED_IDLE (default 10 minutes) so that the next command does not
 * pay for a start and a stop. A small detached watchdog process (watchdog.ts) stops it once
 * nobody has used it for that long, then exits. This file starts and dismisses watchdogs.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { processAlive } from './lock.js';
import { liveWatchdog, writeWatchdog } from './leases.js';
import type { EmbeddedPaths } from './state.js';

export const DEFAULT_IDLE_MS = 10 * 60_000;

/** The compiled watchdog script (from the TypeScript sources, as in tests, the one in dist/). */
export function watchdogScript(): string | null {
  const here = path.dirname(fileURLToPath(import.meta.url));
  for (const candidate of [path.join(here, 'watchdog.js'), path.resolve(here, '..', '..', 'dist', 'src', 'embedded', 'watchdog.js')]) {
    if (existsSync(candidate)) return candidate;
  }
  return null;
}

/**
 * Makes sure a watchdog looks after the cluster: nothing to do when a live one exists, otherwise
 * one is started (detached: it outlives this command). Called with the cluster's lock held.
 * false when no watchdog can be started (then the caller stops the cluster itself).
 */
export function ensureWatchdog(paths: EmbeddedPaths): boolean {
  if (liveWatchdog(paths.watchdogFile)) return true;
  const script = watchdogScript();
  if (!script) return false;
  const token = randomBytes(16).toString('hex');
  const child = spawn(process.execPath, [script, paths.stateDir, token], { detached: true, stdio: 'ignore', cwd: path.dirname(script), windowsHide: true });
  child.on('error', () => {});
  child.unref();
  if (!child.pid) return false;
  // The watchdog looks for its own token in this file (first after a second) and exits when it
  // is not there: a watchdog that was replaced or dismissed never acts.
  writeWatchdog(paths.watchdogFile, child.pid, token);
  return true;
}

/** Dismisses the watchdog (db stop, db reset, an idle time of 0) and waits for it to exit. */
export async function dismissWatchdog(paths: EmbeddedPaths): Promise<void> {
  const record = liveWatchdog(paths.watchdogFile);
  rmSync(paths.watchdogFile, { force: true });
  if (!record || record.pid === process.pid) return;
  try {
    process.kill(record.pid, 'SIGTERM');
  } catch {
    return;
  }
  for (let i = 0; i < 40 && processAlive(record.pid); i += 1) await new Promise((resolve) => setTimeout(resolve, 50));
}

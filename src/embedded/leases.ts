/**
 * Who is using the embedded cluster, in plain files under the state dir:
 * - one lease file per dbkit process using it right now (swept when that process is gone);
 * - the idle record: when a dbkit command last used it and the idle time then in force;
 * - the watchdog record: the detached process that stops the cluster once idle (its pid and
 *   token; the watchdog touches the file as a heartbeat).
 * Each file is one line, parsed with a strict pattern (see lock.ts on why not zod) and written
 * atomically (temporary name, then rename), so a reader never sees half a record.
 */
import { mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { processAlive } from './lock.js';
import { writeFileAtomicSync } from '../fs/atomic.js';

export function addLease(dir: string, pid: number): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, String(pid)), `${new Date().toISOString()}\n`);
}

export function removeLease(dir: string, pid: number): void {
  rmSync(path.join(dir, String(pid)), { force: true });
}

/** Pids holding a lease; leases of dead processes (killed with SIGKILL, say) are swept. */
export function liveLeases(dir: string): number[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const live: number[] = [];
  for (const name of names) {
    const pid = /^\d{1,10}$/.test(name) ? Number(name) : 0;
    if (pid > 0 && processAlive(pid)) live.push(pid);
    else rmSync(path.join(dir, name), { force: true });
  }
  return live;
}

function writeAtomically(file: string, content: string): void {
  writeFileAtomicSync(file, content, { mode: 0o600 });
}

function readLine(file: string): string | null {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return null;
  }
}

export interface IdleRecord {
  /** When a command last took or released a lease (ms since the epoch). */
  lastUsedMs: number;
  /** The idle time in force for that command (DBKIT_EMBEDDED_IDLE). */
  idleMs: number;
}

const IDLE_LINE = /^(\d{1,16}) (\d{1,16})\n$/;

export function writeIdle(file: string, record: IdleRecord): void {
  writeAtomically(file, `${record.lastUsedMs} ${record.idleMs}\n`);
}

export function readIdle(file: string): IdleRecord | null {
  const match = IDLE_LINE.exec(readLine(file) ?? '');
  return match ? { lastUsedMs: Number(match[1]), idleMs: Number(match[2]) } : null;
}

export interface WatchdogRecord {
  pid: number;
  token: string;
  /** Last heartbeat (the file's mtime). */
  beatMs: number;
}

const WATCHDOG_LINE = /^(\d{1,10}) ([0-9a-f]{32})\n$/;
/** A watchdog beats every second; one silent for this long is gone (or its pid was reused). */
export const WATCHDOG_SILENT_MS = 15_000;

export function writeWatchdog(file: string, pid: number, token: string): void {
  writeAtomically(file, `${pid} ${token}\n`);
}

export function readWatchdog(file: string): WatchdogRecord | null {
  const match = WATCHDOG_LINE.exec(readLine(file) ?? '');
  if (!match) return null;
  let beatMs: number;
  try {
    beatMs = statSync(file).mtimeMs;
  } catch {
    return null;
  }
  return { pid: Number(match[1]), token: match[2]!, beatMs };
}

/** The watchdog named in `file`, when that process is alive and has beaten recently. */
export function liveWatchdog(file: string, now = Date.now()): WatchdogRecord | null {
  const record = readWatchdog(file);
  return record && processAlive(record.pid) && now - record.beatMs < WATCHDOG_SILENT_MS ? record : null;
}

/**
 * The idle watchdog: a detached process (`node watchdog.js <stateDir> <token>`, started by
 * idle.ts) that stops the embedded cluster once it has gone unused for the idle time, then exits.
 *
 * Every second it beats (touches its record) and looks: it exits at once when its record no
 * longer names it (dismissed by db stop/reset, or replaced), when the cluster is gone or stopped,
 * or when `db start` made it persistent. Once the last command's idle time has passed, no dbkit
 * command holds a lease and no client session is open (psql, an app), it stops the server under
 * the cluster's lock (re-checking everything there), notes it in embedded-watchdog.log and exits.
 */
import { appendFileSync, existsSync, rmSync, statSync, truncateSync, utimesSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { errorMessage } from '../errors.js';
import { formatDuration } from '../core/duration.js';
import { withFileLock } from './lock.js';
import { liveLeases, readIdle, readWatchdog } from './leases.js';
import { clientSessions, isRunning, stopServer } from './server.js';
import { embeddedPaths, readState, type EmbeddedPaths } from './state.js';
import { DEFAULT_IDLE_MS } from './idle.js';

const TICK_MS = 1_000;
/** With client sessions open, look again this much later (each look is a connection). */
const SESSIONS_RECHECK_MS = 10_000;
const LOG_LIMIT_BYTES = 64 * 1024;
const MAX_FAILURES = 10;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function log(paths: EmbeddedPaths, line: string): void {
  try {
    if (existsSync(paths.watchdogLog) && statSync(paths.watchdogLog).size > LOG_LIMIT_BYTES) truncateSync(paths.watchdogLog, 0);
    appendFileSync(paths.watchdogLog, `${new Date().toISOString()} watchdog ${process.pid}: ${line}\n`, { mode: 0o600 });
  } catch {
    // The log is a courtesy; the state dir may be gone.
  }
}

const isMine = (paths: EmbeddedPaths, token: string) => readWatchdog(paths.watchdogFile)?.token === token;

/** One look: why the watchdog is done, or null to look again a tick later. */
async function look(stateDir: string, paths: EmbeddedPaths, token: string, memory: { startedMs: number; sessionsCheckedMs: number }): Promise<string | null> {
  if (!isMine(paths, token)) return 'dismissed or replaced';
  const now = new Date();
  utimesSync(paths.watchdogFile, now, now);
  const state = readState(stateDir);
  if (!state || !isRunning(state)) return 'the cluster is not running';
  if (existsSync(paths.persistentMarker)) return 'dbkit db start keeps the cluster running';
  const idle = readIdle(paths.idleFile) ?? { lastUsedMs: memory.startedMs, idleMs: DEFAULT_IDLE_MS };
  if (Date.now() < idle.lastUsedMs + idle.idleMs || liveLeases(paths.leasesDir).length > 0) return null;
  if (Date.now() - memory.sessionsCheckedMs < SESSIONS_RECHECK_MS) return null;
  memory.sessionsCheckedMs = Date.now();
  if ((await clientSessions(state).catch(() => 0)) > 0) return null;
  return withFileLock(paths.lockFile, async () => {
    // Re-checked under the lock: a command may have taken a lease, or db stop/reset run, meanwhile.
    if (!isMine(paths, token)) return 'dismissed or replaced';
    const again = readIdle(paths.idleFile) ?? idle;
    if (Date.now() < again.lastUsedMs + again.idleMs || liveLeases(paths.leasesDir).length > 0 || existsSync(paths.persistentMarker)) return null;
    await stopServer(state);
    rmSync(paths.watchdogFile, { force: true });
    return `stopped the cluster after ${formatDuration(Date.now() - again.lastUsedMs)} without use (idle time ${formatDuration(again.idleMs)})`;
  });
}

/** Runs until the cluster is stopped (by this watchdog or anyone) or the watchdog is dismissed; returns why it ended. */
export async function watch(stateDir: string, token: string): Promise<string> {
  const paths = embeddedPaths(stateDir);
  const memory = { startedMs: Date.now(), sessionsCheckedMs: 0 };
  let failures = 0;
  for (;;) {
    await sleep(TICK_MS);
    try {
      const outcome = await look(stateDir, paths, token, memory);
      if (outcome) return outcome;
      failures = 0;
    } catch (error) {
      // A failed look (a stop that did not work, a file caught mid-change) is tried again.
      failures += 1;
      log(paths, `look failed (${failures}/${MAX_FAILURES}): ${errorMessage(error).split('\n')[0]}`);
      if (failures >= MAX_FAILURES) throw error;
    }
  }
}

async function main(argv: string[]): Promise<number> {
  const [stateDir, token] = argv;
  if (!stateDir || !token || !/^[0-9a-f]{32}$/.test(token)) {
    process.stderr.write('usage: watchdog.js <stateDir> <token> (started by dbkit, not by hand)\n');
    return 2;
  }
  const paths = embeddedPaths(stateDir);
  log(paths, 'started');
  try {
    log(paths, `exiting: ${await watch(stateDir, token)}`);
    return 0;
  } catch (error) {
    log(paths, `failed: ${errorMessage(error).split('\n')[0]}`);
    return 1;
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).then((code) => process.exit(code));
}

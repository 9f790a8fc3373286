/**
 * The embedded PostgreSQL 17 cluster: dbkit's zero-configuration database, kept under the state
 * dir (.dbkit/) so that it survives between commands.
 *
 * Lifecycle: a command that needs it takes a lease, starting the server if it is not running.
 * When the command is done the server stays up for the idle time (DBKIT_EMBEDDED_IDLE, default
 * 10 minutes; 0 stops it as soon as the last command is done), and a detached watchdog stops it
 * once nobody has used it for that long (idle.ts, watchdog.ts). `dbkit db start` keeps it running
 * for good, `dbkit db stop` stops it now, `dbkit db reset` deletes it. Every start/stop decision
 * is taken under the cluster's lock file, so commands started together never race.
 */
import { existsSync, mkdirSync, readdirSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { serviceUser } from './binaries.js';
import { clusterDirProblem, unsafe } from './folders.js';
import { DEFAULT_IDLE_MS, dismissWatchdog, ensureWatchdog } from './idle.js';
import { withFileLock } from './lock.js';
import { addLease, liveLeases, removeLease, writeIdle } from './leases.js';
import { initialise, isRunning, startServer, stopServer } from './server.js';
import { dataDirOf, embeddedPaths, embeddedUrl, readState, runDirOf, type EmbeddedPaths, type EmbeddedState } from './state.js';

export { EMBEDDED_DATABASE, embeddedPaths, embeddedUrl, logFileOf, readState, type EmbeddedPaths, type EmbeddedState } from './state.js';
export { isRunning } from './server.js';
export { DEFAULT_IDLE_MS } from './idle.js';

function ensureStateDir(stateDir: string): void {
  mkdirSync(stateDir, { recursive: true });
  const ignore = path.join(stateDir, '.gitignore');
  if (!existsSync(ignore)) writeFileSync(ignore, '# dbkit state: embedded cluster, backups. Never commit.\n*\n');
}

/** Refuses a cluster folder that is no longer safely dbkit's (see folders.ts). */
function checkFolders(state: EmbeddedState): void {
  const found = clusterDirProblem(state.clusterDir, serviceUser());
  if (found) throw unsafe(found.dir, found.problem);
}

export interface EmbeddedLease {
  state: EmbeddedState;
  url: string;
  /** true when this lease started the server. */
  started: boolean;
  initialised: boolean;
  release(): Promise<void>;
}

export interface AcquireOptions {
  port?: number | null;
  /** Called before a first-time initdb, which takes a second or two. */
  onInit?: () => void;
  onStart?: () => void;
  /** Keep the server running after release, until db stop (dbkit db start). */
  persistent?: boolean;
  /** How long the server stays up once unused (default 10 minutes); 0: stop when the last lease is released. */
  idleMs?: number;
}

export async function acquireEmbedded(stateDir: string, options: AcquireOptions = {}): Promise<EmbeddedLease> {
  ensureStateDir(stateDir);
  const paths = embeddedPaths(stateDir);
  const idleMs = options.idleMs ?? DEFAULT_IDLE_MS;
  return withFileLock(paths.lockFile, async () => {
    addLease(paths.leasesDir, process.pid);
    try {
      let state = readState(stateDir);
      if (state) checkFolders(state);
      let initialised = false;
      if (!state) {
        state = await initialise(stateDir, options.port ?? null, options.onInit ?? (() => {}));
        initialised = true;
      }
      let started = false;
      if (!isRunning(state)) {
        options.onStart?.();
        state = await startServer(stateDir, state);
        started = true;
      }
      if (options.persistent) writeFileSync(paths.persistentMarker, `${new Date().toISOString()}\n`);
      else if (started && existsSync(paths.persistentMarker)) unlinkSync(paths.persistentMarker);
      if (!existsSync(paths.persistentMarker)) {
        writeIdle(paths.idleFile, { lastUsedMs: Date.now(), idleMs });
        // A watchdog from the start: if this command dies without releasing, the server still stops.
        if (idleMs > 0) ensureWatchdog(paths);
      }
      const leased = state;
      return {
        state: leased,
        url: embeddedUrl(leased),
        started,
        initialised,
        release: () => releaseEmbedded(paths, leased, idleMs),
      };
    } catch (error) {
      removeLease(paths.leasesDir, process.pid);
      throw error;
    }
  });
}

async function releaseEmbedded(paths: EmbeddedPaths, state: EmbeddedState, idleMs: number): Promise<void> {
  await withFileLock(paths.lockFile, async () => {
    removeLease(paths.leasesDir, process.pid);
    if (existsSync(paths.persistentMarker) || !isRunning(state)) return;
    writeIdle(paths.idleFile, { lastUsedMs: Date.now(), idleMs });
    if (liveLeases(paths.leasesDir).length > 0) return;
    if (idleMs > 0 && ensureWatchdog(paths)) return;
    await stopServer(state);
    await dismissWatchdog(paths);
  });
}

export async function stopEmbedded(stateDir: string): Promise<{ wasRunning: boolean; otherUsers: number[] }> {
  const paths = embeddedPaths(stateDir);
  const state = readState(stateDir);
  if (!state) return { wasRunning: false, otherUsers: [] };
  return withFileLock(paths.lockFile, async () => {
    const wasRunning = isRunning(state);
    const otherUsers = liveLeases(paths.leasesDir).filter((pid) => pid !== process.pid);
    await stopServer(state);
    await dismissWatchdog(paths);
    if (existsSync(paths.persistentMarker)) unlinkSync(paths.persistentMarker);
    return { wasRunning, otherUsers };
  });
}

export interface DestroyResult {
  deleted: boolean;
  /** A cluster folder that was no longer safely dbkit's: forgotten, not touched (see folders.ts). */
  leftAlone: { dir: string; problem: string } | null;
}

/** Deletes the cluster's data. The caller has confirmed with the user. */
export async function destroyEmbedded(stateDir: string): Promise<DestroyResult> {
  const paths = embeddedPaths(stateDir);
  const state = readState(stateDir);
  if (!state) return { deleted: false, leftAlone: null };
  return withFileLock(paths.lockFile, async () => {
    const leftAlone = clusterDirProblem(state.clusterDir, serviceUser());
    if (!leftAlone) {
      await stopServer(state);
      rmSync(dataDirOf(state), { recursive: true, force: true });
      rmSync(runDirOf(state), { recursive: true, force: true });
      // The cluster may live outside the state dir (/var/tmp/dbkit-<hash>-<random> when root cannot share it).
      rmSync(state.clusterDir, { recursive: true, force: true });
    }
    await dismissWatchdog(paths);
    for (const file of [paths.stateFile, paths.persistentMarker, paths.idleFile]) rmSync(file, { force: true });
    if (existsSync(paths.leasesDir)) for (const f of readdirSync(paths.leasesDir)) rmSync(path.join(paths.leasesDir, f), { force: true });
    return { deleted: true, leftAlone };
  });
}

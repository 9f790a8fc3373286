/**
 * The embedded PostgreSQL 17 cluster: dbkit's zero-configuration database, kept under the state
 * dir (.dbkit/) so that it survives between commands.
 *
 * Lifecycle: a command that needs it takes a lease; if the cluster was not running, that command
 * starts it and the last lease holder stops it again. `dbkit db start` starts it for good (until
 * `dbkit db stop`). Start/stop decisions are serialised by a lock file, so two commands started
 * together never race.
 */
import { spawn } from 'node:child_process';
import { randomBytes, createHash } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { DbkitError } from '../errors.js';
import { connect } from '../db/connect.js';
import { quoteIdent } from '../core/sql.js';
import { embeddedBinaries, serviceUser, traversable, type ServiceUser } from './binaries.js';
import { withFileLock, liveLeases, addLease, removeLease } from './leases.js';

export const EMBEDDED_DATABASE = 'dbkit';
const EMBEDDED_USER = 'postgres';
const PREFERRED_PORT = 54329;

export interface EmbeddedState {
  version: 1;
  port: number;
  user: string;
  password: string;
  database: string;
  /** Holds pg/ (data) and run/ (log); normally <stateDir>/embedded. */
  clusterDir: string;
  createdAt: string;
}

export interface EmbeddedPaths {
  stateDir: string;
  stateFile: string;
  lockFile: string;
  leasesDir: string;
  persistentMarker: string;
}

export function embeddedPaths(stateDir: string): EmbeddedPaths {
  return {
    stateDir,
    stateFile: path.join(stateDir, 'embedded.json'),
    lockFile: path.join(stateDir, 'embedded.lock'),
    leasesDir: path.join(stateDir, 'embedded-leases'),
    persistentMarker: path.join(stateDir, 'embedded-persistent'),
  };
}

const dataDirOf = (state: EmbeddedState) => path.join(state.clusterDir, 'pg');
const runDirOf = (state: EmbeddedState) => path.join(state.clusterDir, 'run');
export const logFileOf = (state: EmbeddedState) => path.join(runDirOf(state), 'postgres.log');

export function embeddedUrl(state: EmbeddedState, database = state.database): string {
  return `postgres://${state.user}:${encodeURIComponent(state.password)}@127.0.0.1:${state.port}/${encodeURIComponent(database)}`;
}

export function readState(stateDir: string): EmbeddedState | null {
  const { stateFile } = embeddedPaths(stateDir);
  if (!existsSync(stateFile)) return null;
  const state = JSON.parse(readFileSync(stateFile, 'utf8')) as EmbeddedState;
  return existsSync(path.join(dataDirOf(state), 'PG_VERSION')) ? state : null;
}

function writeState(stateDir: string, state: EmbeddedState): void {
  const { stateFile } = embeddedPaths(stateDir);
  writeFileSync(stateFile, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
  chmodSync(stateFile, 0o600);
}

function ensureStateDir(stateDir: string): void {
  mkdirSync(stateDir, { recursive: true });
  const ignore = path.join(stateDir, '.gitignore');
  if (!existsSync(ignore)) writeFileSync(ignore, '# dbkit state: embedded cluster, backups. Never commit.\n*\n');
}

function ownedDir(dir: string, user: ServiceUser | null, mode = 0o700): void {
  mkdirSync(dir, { recursive: true, mode });
  if (user) chownSync(dir, user.uid, user.gid);
}

async function freePort(preferred: number): Promise<number> {
  const tryPort = (port: number) =>
    new Promise<number | null>((resolve) => {
      const server = net.createServer();
      server.once('error', () => resolve(null));
      server.listen(port, '127.0.0.1', () => {
        const address = server.address();
        server.close(() => resolve(typeof address === 'object' && address ? address.port : null));
      });
    });
  return (await tryPort(preferred)) ?? (await tryPort(0)) ?? preferred;
}

interface Run {
  code: number | null;
  output: string;
}

function run(command: string, args: string[], user: ServiceUser | null, env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      ...(user ? { uid: user.uid, gid: user.gid } : {}),
      env: { ...process.env, LC_ALL: 'C', LC_MESSAGES: 'C', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      // Own session: a Ctrl-C aimed at dbkit must not also hit the postgres server it forks.
      detached: true,
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', (error: NodeJS.ErrnoException) =>
      reject(
        new DbkitError('EMBEDDED_FAILED', `cannot run ${command}: ${error.code ?? error.message}`, {
          hint: user && error.code === 'EACCES'
            ? `the ${user.name} OS user that runs the embedded cluster (dbkit runs as root) cannot reach that file: make every folder above it readable by others (chmod o+rx), or set DATABASE_URL`
            : 'reinstall dbkit (npm ci), or set DATABASE_URL to use an existing server',
          cause: error,
        }),
      ),
    );
    // 'exit', not 'close': the forked server may keep inherited pipes open.
    child.on('exit', (code) => resolve({ code, output }));
  });
}

async function initialise(stateDir: string, port: number | null, onInit: () => void): Promise<EmbeddedState> {
  onInit();
  const bins = await embeddedBinaries();
  const user = serviceUser();
  let clusterDir = path.join(stateDir, 'embedded');
  if (user && !traversable(stateDir, user)) {
    // Root's home is usually 0700: the postgres user could not reach a cluster under it.
    const digest = createHash('sha256').update(path.resolve(stateDir)).digest('hex').slice(0, 12);
    clusterDir = path.join('/var/tmp', `dbkit-${digest}`);
  }
  rmSync(path.join(clusterDir, 'pg'), { recursive: true, force: true });
  ownedDir(clusterDir, user, 0o755);
  const dataDir = path.join(clusterDir, 'pg');
  const runDir = path.join(clusterDir, 'run');
  ownedDir(dataDir, user);
  ownedDir(runDir, user);
  const state: EmbeddedState = {
    version: 1,
    port: port ?? (await freePort(PREFERRED_PORT)),
    user: EMBEDDED_USER,
    password: randomBytes(18).toString('base64url'),
    database: EMBEDDED_DATABASE,
    clusterDir,
    createdAt: new Date().toISOString(),
  };
  const pwFile = path.join(runDir, 'initdb.pw');
  writeFileSync(pwFile, `${state.password}\n`, { mode: 0o600 });
  if (user) chownSync(pwFile, user.uid, user.gid);
  try {
    const result = await run(
      bins.initdb,
      ['-D', dataDir, '-U', state.user, `--pwfile=${pwFile}`, '--auth=scram-sha-256', '--encoding=UTF8', '--no-locale', '--no-instructions'],
      user,
    );
    if (result.code !== 0) {
      throw new DbkitError('EMBEDDED_FAILED', `initdb failed: ${lastLines(result.output)}`, { hint: `the data directory is ${dataDir}` });
    }
  } finally {
    rmSync(pwFile, { force: true });
  }
  writeState(stateDir, state);
  return state;
}

export function isRunning(state: EmbeddedState): boolean {
  const pidFile = path.join(dataDirOf(state), 'postmaster.pid');
  if (!existsSync(pidFile)) return false;
  const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function startServer(stateDir: string, state: EmbeddedState): Promise<EmbeddedState> {
  const bins = await embeddedBinaries();
  const user = serviceUser();
  ownedDir(runDirOf(state), user);
  let current = state;
  for (let attempt = 0; attempt < 2; attempt += 1) {
    const options = `-p ${current.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=''`;
    const result = await run(bins.pg_ctl, ['start', '-w', '-t', '60', '-D', dataDirOf(current), '-l', logFileOf(current), '-o', options], user);
    if (result.code === 0) return current;
    const log = existsSync(logFileOf(current)) ? readFileSync(logFileOf(current), 'utf8') : '';
    if (attempt === 0 && /could not bind|Address already in use/i.test(log.slice(-4000))) {
      // Someone else took our port since the last start: move to a free one and remember it.
      current = { ...current, port: await freePort(0) };
      writeState(stateDir, current);
      continue;
    }
    throw new DbkitError('EMBEDDED_FAILED', `the embedded cluster did not start: ${lastLines(result.output + log)}`, { hint: `see ${logFileOf(current)}` });
  }
  throw new DbkitError('EMBEDDED_FAILED', 'the embedded cluster did not start');
}

async function stopServer(state: EmbeddedState): Promise<void> {
  if (!isRunning(state)) return;
  const bins = await embeddedBinaries();
  const result = await run(bins.pg_ctl, ['stop', '-w', '-t', '60', '-m', 'fast', '-D', dataDirOf(state)], serviceUser());
  if (result.code !== 0 && isRunning(state)) {
    throw new DbkitError('EMBEDDED_FAILED', `the embedded cluster did not stop: ${lastLines(result.output)}`);
  }
}

async function ensureDatabase(state: EmbeddedState): Promise<void> {
  const client = await connect(embeddedUrl(state, 'postgres'));
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [state.database]);
    if (!rowCount) await client.query(`CREATE DATABASE ${quoteIdent(state.database)}`);
  } finally {
    await client.end();
  }
}

export interface EmbeddedLease {
  state: EmbeddedState;
  url: string;
  /** true when this lease started the server (it is stopped when the last lease is released). */
  started: boolean;
  initialised: boolean;
  release(): Promise<void>;
}

export interface AcquireOptions {
  port?: number | null;
  /** Called before a first-time initdb, which takes a second or two. */
  onInit?: () => void;
  onStart?: () => void;
  /** Keep the server running after release (dbkit db start). */
  persistent?: boolean;
}

export async function acquireEmbedded(stateDir: string, options: AcquireOptions = {}): Promise<EmbeddedLease> {
  ensureStateDir(stateDir);
  const paths = embeddedPaths(stateDir);
  return withFileLock(paths.lockFile, async () => {
    addLease(paths.leasesDir, process.pid);
    try {
      let state = readState(stateDir);
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
      await ensureDatabase(state);
      const leased = state;
      return {
        state: leased,
        url: embeddedUrl(leased),
        started,
        initialised,
        release: () => releaseEmbedded(stateDir, leased),
      };
    } catch (error) {
      removeLease(paths.leasesDir, process.pid);
      throw error;
    }
  });
}

async function releaseEmbedded(stateDir: string, state: EmbeddedState): Promise<void> {
  const paths = embeddedPaths(stateDir);
  await withFileLock(paths.lockFile, async () => {
    removeLease(paths.leasesDir, process.pid);
    if (existsSync(paths.persistentMarker)) return;
    if (liveLeases(paths.leasesDir).length > 0) return;
    await stopServer(state);
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
    if (existsSync(paths.persistentMarker)) unlinkSync(paths.persistentMarker);
    return { wasRunning, otherUsers };
  });
}

/** Deletes the cluster's data. The caller has confirmed with the user. */
export async function destroyEmbedded(stateDir: string): Promise<boolean> {
  const paths = embeddedPaths(stateDir);
  const state = readState(stateDir);
  if (!state) return false;
  await withFileLock(paths.lockFile, async () => {
    await stopServer(state);
    rmSync(dataDirOf(state), { recursive: true, force: true });
    rmSync(runDirOf(state), { recursive: true, force: true });
    // The cluster may live outside the state dir (/var/tmp/dbkit-<hash> when root cannot share it).
    rmSync(state.clusterDir, { recursive: true, force: true });
    rmSync(paths.stateFile, { force: true });
    rmSync(paths.persistentMarker, { force: true });
    if (existsSync(paths.leasesDir)) for (const f of readdirSync(paths.leasesDir)) rmSync(path.join(paths.leasesDir, f), { force: true });
  });
  return true;
}

function lastLines(text: string, count = 3): string {
  return text.trim().split('\n').slice(-count).join(' | ');
}

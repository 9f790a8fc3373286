/**
 * The PostgreSQL processes behind the embedded cluster: initdb, pg_ctl start/stop (as the
 * postgres OS user when dbkit runs as root), and whether the server is up. No locking here: the
 * callers (cluster.ts, the watchdog) hold the cluster's lock file.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { DbkitError } from '../errors.js';
import { connect } from '../db/connect.js';
import { quoteIdent } from '../core/sql.js';
import { embeddedBinaries, serviceUser, type ServiceUser } from './binaries.js';
import { newClusterDir, ownedSubdir } from './folders.js';
import { dataDirOf, embeddedUrl, logFileOf, runDirOf, writeState, EMBEDDED_DATABASE, EMBEDDED_USER, type EmbeddedState } from './state.js';

const PREFERRED_PORT = 54329;

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

function run(command: string, args: string[], user: ServiceUser | null): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      ...(user ? { uid: user.uid, gid: user.gid } : {}),
      env: { ...process.env, LC_ALL: 'C', LC_MESSAGES: 'C' },
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

export function lastLines(text: string, count = 3): string {
  return text.trim().split('\n').slice(-count).join(' | ');
}

export async function initialise(stateDir: string, port: number | null, onInit: () => void): Promise<EmbeddedState> {
  onInit();
  const bins = await embeddedBinaries();
  const user = serviceUser();
  const clusterDir = newClusterDir(stateDir, user);
  // A data folder left without a state file (a deleted embedded.json) is started afresh.
  rmSync(path.join(clusterDir, 'pg'), { recursive: true, force: true });
  const dataDir = path.join(clusterDir, 'pg');
  const runDir = path.join(clusterDir, 'run');
  ownedSubdir(dataDir, user);
  ownedSubdir(runDir, user);
  const state: EmbeddedState = {
    version: 1,
    port: port ?? (await freePort(PREFERRED_PORT)),
    user: EMBEDDED_USER,
    password: randomBytes(18).toString('base64url'),
    database: EMBEDDED_DATABASE,
    clusterDir,
    createdAt: new Date().toISOString(),
  };
  const pwFile = path.join(runDir, `initdb-${randomBytes(6).toString('hex')}.pw`);
  // 'wx': never write the password through a link planted in run/.
  writeFileSync(pwFile, `${state.password}\n`, { mode: 0o600, flag: 'wx' });
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
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export async function startServer(stateDir: string, state: EmbeddedState): Promise<EmbeddedState> {
  const bins = await embeddedBinaries();
  const user = serviceUser();
  ownedSubdir(runDirOf(state), user);
  let current = state;
  for (let attempt = 0; attempt < 2; attempt += 1) {
    const options = `-p ${current.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=''`;
    const result = await run(bins.pg_ctl, ['start', '-w', '-t', '60', '-D', dataDirOf(current), '-l', logFileOf(current), '-o', options], user);
    if (result.code === 0) {
      await ensureDatabase(current);
      return current;
    }
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

export async function stopServer(state: EmbeddedState): Promise<void> {
  if (!isRunning(state)) return;
  const bins = await embeddedBinaries();
  const result = await run(bins.pg_ctl, ['stop', '-w', '-t', '60', '-m', 'fast', '-D', dataDirOf(state)], serviceUser());
  if (result.code !== 0 && isRunning(state)) {
    throw new DbkitError('EMBEDDED_FAILED', `the embedded cluster did not stop: ${lastLines(result.output)}`);
  }
}

/** Creates the dbkit database on a freshly started server (a user may have dropped it). */
async function ensureDatabase(state: EmbeddedState): Promise<void> {
  const client = await connect(embeddedUrl(state, 'postgres'));
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [state.database]);
    if (!rowCount) await client.query(`CREATE DATABASE ${quoteIdent(state.database)}`);
  } finally {
    await client.end();
  }
}

/** Client sessions open on the server besides the one asking (psql, an app, a dbkit command). */
export async function clientSessions(state: EmbeddedState): Promise<number> {
  const client = await connect(embeddedUrl(state, 'postgres'), { applicationName: 'dbkit watchdog' });
  try {
    const { rows } = await client.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()");
    return rows[0]?.n ?? 0;
  } finally {
    await client.end();
  }
}

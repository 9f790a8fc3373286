/**
 * A private PgBouncer (the Debian package's binary) in front of a real PostgreSQL server, on a free
 * port, with its own ini and auth file in a temporary folder; stopped (and the folder removed)
 * by stop(). PgBouncer refuses to run as root: as root it runs as the postgres OS user (spawned
 * with that user's uid and gid, as src/embedded/server.ts runs initdb).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { it } from 'vitest';

export const POOL_MODES = ['transaction', 'session'] as const;
export type PoolMode = (typeof POOL_MODES)[number];

export interface PgBouncer {
  /** The server URL with host and port replaced by PgBouncer's (same user, same database). */
  urlFor(serverUrl: string): string;
  port: number;
  mode: PoolMode;
  poolSize: number;
  /** PgBouncer's log, for failing assertions. */
  log(): string;
  stop(): Promise<void>;
}

export function pgbouncerBinary(): string | null {
  for (const candidate of ['/usr/sbin/pgbouncer', '/usr/bin/pgbouncer']) if (existsSync(candidate)) return candidate;
  const which = spawnSync('sh', ['-c', 'command -v pgbouncer'], { encoding: 'utf8' });
  return which.status === 0 ? which.stdout.trim() : null;
}

/** Defines a test only in the pooler modes it applies to (never a skipped entry in the others). */
export const itWhen = (applies: boolean) => (applies ? it : () => {});

/** .ci/run sets it: there the pooler tests must run, so a missing PgBouncer or server fails them. */
export const REQUIRE_PGBOUNCER = process.env.DBKIT_REQUIRE_PGBOUNCER === '1';

/**
 * Whether the pooler tests can run here (PgBouncer installed, a DATABASE_URL server to put it in
 * front of). When they cannot, they are skipped and counted as skipped, and the run says why once;
 * with DBKIT_REQUIRE_PGBOUNCER=1 this throws instead.
 */
export function poolerTestsAvailable(hasServer: boolean): boolean {
  const missing = !hasServer ? 'no DATABASE_URL server to put PgBouncer in front of' : pgbouncerBinary() === null ? 'PgBouncer is not installed (Debian/Ubuntu: apt-get install pgbouncer)' : null;
  if (missing === null) return true;
  if (REQUIRE_PGBOUNCER) throw new Error(`DBKIT_REQUIRE_PGBOUNCER=1, but ${missing}`);
  process.stderr.write(`[dbkit tests] connection-pooler tests are skipped (counted as skipped): ${missing}\n`);
  return false;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}

async function waitForPort(port: number, child: ChildProcess, logFile: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`pgbouncer exited (${child.exitCode}):\n${existsSync(logFile) ? readFileSync(logFile, 'utf8') : ''}`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`pgbouncer did not listen on ${port} within 10 s`);
}

/** Starts PgBouncer in front of the server of `serverUrl` (trust auth to 127.0.0.1). */
export async function startPgBouncer(serverUrl: string, options: { mode: PoolMode; poolSize: number }): Promise<PgBouncer> {
  const binary = pgbouncerBinary();
  if (!binary) throw new Error('pgbouncer is not installed (Debian: apt-get install pgbouncer)');
  const server = new URL(serverUrl);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'dbkit-pgbouncer-'));
  const port = await freePort();
  const logFile = path.join(dir, 'pgbouncer.log');
  const user = decodeURIComponent(server.username || 'postgres');
  writeFileSync(path.join(dir, 'users.txt'), `"${user}" ""\n`);
  writeFileSync(
    path.join(dir, 'pgbouncer.ini'),
    [
      '[databases]',
      `* = host=${server.hostname || '127.0.0.1'} port=${server.port || 5432}`,
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      'unix_socket_dir =',
      'auth_type = trust',
      `auth_file = ${path.join(dir, 'users.txt')}`,
      `pool_mode = ${options.mode}`,
      `default_pool_size = ${options.poolSize}`,
      'max_client_conn = 200',
      `logfile = ${logFile}`,
      // What a pg client sends besides the usual (node-postgres: none; psql: none).
      'ignore_startup_parameters = extra_float_digits',
      'server_reset_query = DISCARD ALL',
      '',
    ].join('\n'),
  );
  // As root: the postgres OS user's ids, given to the child itself (so that stop() signals PgBouncer, not a wrapper).
  let ids: { uid: number; gid: number } | null = null;
  if (process.getuid?.() === 0) {
    ids = { uid: Number(spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).stdout.trim()), gid: Number(spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).stdout.trim()) };
    chmodSync(dir, 0o755);
    for (const f of ['', 'users.txt', 'pgbouncer.ini']) chownSync(path.join(dir, f), ids.uid, ids.gid);
  }
  const child = spawn(binary, [path.join(dir, 'pgbouncer.ini')], { stdio: 'ignore', ...(ids ?? {}) });
  try {
    await waitForPort(port, child, logFile);
  } catch (error) {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    port,
    mode: options.mode,
    poolSize: options.poolSize,
    urlFor: (url) => {
      const u = new URL(url);
      u.hostname = '127.0.0.1';
      u.port = String(port);
      return u.toString();
    },
    log: () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : ''),
    stop: async () => {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        // SIGINT: PgBouncer's immediate shutdown.
        child.kill('SIGINT');
        await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 3000))]);
        if (child.exitCode === null) child.kill('SIGKILL');
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

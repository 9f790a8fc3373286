/**
 * Where the embedded cluster's files are and what dbkit remembers about it (embedded.json, mode
 * 0600 in the state dir). The state file is read on every command that uses the cluster; it is
 * checked field by field (see lock.ts on why not zod) and a malformed one is refused clearly.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { DbkitError } from '../errors.js';
import { writeFileAtomicSync } from '../fs/atomic.js';

export const EMBEDDED_DATABASE = 'dbkit';
export const EMBEDDED_USER = 'postgres';

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
  /** When a command last used the cluster, and the idle time then in force. */
  idleFile: string;
  /** The idle watchdog's pid and token; its mtime is the watchdog's heartbeat. */
  watchdogFile: string;
  watchdogLog: string;
}

export function embeddedPaths(stateDir: string): EmbeddedPaths {
  return {
    stateDir,
    stateFile: path.join(stateDir, 'embedded.json'),
    lockFile: path.join(stateDir, 'embedded.lock'),
    leasesDir: path.join(stateDir, 'embedded-leases'),
    persistentMarker: path.join(stateDir, 'embedded-persistent'),
    idleFile: path.join(stateDir, 'embedded-idle'),
    watchdogFile: path.join(stateDir, 'embedded-watchdog'),
    watchdogLog: path.join(stateDir, 'embedded-watchdog.log'),
  };
}

export const dataDirOf = (state: EmbeddedState) => path.join(state.clusterDir, 'pg');
export const runDirOf = (state: EmbeddedState) => path.join(state.clusterDir, 'run');
export const logFileOf = (state: EmbeddedState) => path.join(runDirOf(state), 'postgres.log');

export function embeddedUrl(state: EmbeddedState, database = state.database): string {
  return `postgres://${state.user}:${encodeURIComponent(state.password)}@127.0.0.1:${state.port}/${encodeURIComponent(database)}`;
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/** The state file's content as an EmbeddedState, or a list of what is wrong with it. */
export function checkState(value: unknown): EmbeddedState | string[] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return ['not a JSON object'];
  const { version, port, user, password, database, clusterDir, createdAt } = value as Record<string, unknown>;
  const problems: string[] = [];
  if (version !== 1) problems.push('version is not 1');
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) problems.push('port is not a TCP port');
  if (typeof user !== 'string' || !NAME.test(user)) problems.push('user is not a role name');
  if (typeof password !== 'string' || password.length < 8) problems.push('password is missing');
  if (typeof database !== 'string' || !NAME.test(database)) problems.push('database is not a database name');
  if (typeof clusterDir !== 'string' || !path.isAbsolute(clusterDir) || path.resolve(clusterDir) !== clusterDir) problems.push('clusterDir is not an absolute, normalised path');
  if (typeof createdAt !== 'string') problems.push('createdAt is missing');
  if (version !== 1 || typeof port !== 'number' || typeof user !== 'string' || typeof password !== 'string' || typeof database !== 'string' || typeof clusterDir !== 'string' || typeof createdAt !== 'string' || problems.length > 0) return problems;
  return { version, port, user, password, database, clusterDir, createdAt };
}

/** The recorded cluster, or null when there is none (no state file, or its data folder is gone). */
export function readState(stateDir: string): EmbeddedState | null {
  const { stateFile } = embeddedPaths(stateDir);
  let text: string;
  try {
    text = readFileSync(stateFile, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  const state = checkState(parsed);
  if (Array.isArray(state)) {
    throw new DbkitError('EMBEDDED_FAILED', `${stateFile} is malformed (${state.join('; ')})`, { hint: 'restore it, or delete it and the embedded cluster folder to start afresh' });
  }
  return existsSync(path.join(dataDirOf(state), 'PG_VERSION')) ? state : null;
}

export function writeState(stateDir: string, state: EmbeddedState): void {
  const { stateFile } = embeddedPaths(stateDir);
  writeFileAtomicSync(stateFile, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
}

/**
 * Finding pg_dump / pg_restore: a tool can only dump a server at most as new as itself, so the
 * newest candidate whose major version is at least the server's wins.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DbkitError } from '../errors.js';

export const PG_TOOLS = ['pg_dump', 'pg_restore'] as const;
export type PgToolName = (typeof PG_TOOLS)[number];

export interface PgTool {
  name: PgToolName;
  path: string;
  version: string;
  major: number;
}

function candidates(name: PgToolName, pgBinDir: string | null): string[] {
  const found = new Set<string>();
  if (pgBinDir) found.add(path.join(pgBinDir, name));
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) if (dir) found.add(path.join(dir, name));
  for (const root of ['/usr/lib/postgresql', '/usr/local/opt', '/opt/homebrew/opt']) {
    if (!existsSync(root)) continue;
    for (const entry of readdirSync(root)) {
      if (root === '/usr/lib/postgresql' || entry.startsWith('postgresql')) found.add(path.join(root, entry, 'bin', name));
    }
  }
  return [...found].filter((p) => existsSync(p));
}

export function toolVersion(file: string): { version: string; major: number } | null {
  try {
    const out = execFileSync(file, ['--version'], { encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'pipe', 'ignore'] });
    const match = /(\d+)(?:\.(\d+))?/.exec(out.replace(/^[^)]*\)/, ''));
    if (!match) return null;
    return { version: match[0], major: Number(match[1]) };
  } catch {
    return null;
  }
}

/** Every usable candidate, newest first (pgBinDir wins ties). */
export function listPgTools(name: PgToolName, pgBinDir: string | null): PgTool[] {
  const tools: PgTool[] = [];
  for (const file of candidates(name, pgBinDir)) {
    const v = toolVersion(file);
    if (v) tools.push({ name, path: file, ...v });
  }
  return tools.sort((a, b) => b.major - a.major);
}

export function findPgTool(name: PgToolName, serverMajor: number, pgBinDir: string | null): PgTool | null {
  return listPgTools(name, pgBinDir).find((t) => t.major >= serverMajor) ?? null;
}

/** Connection settings for a libpq child process as environment variables (benchmarks' baselines). */
export function libpqEnv(url: string): Record<string, string> {
  const parsed = new URL(url);
  const env: Record<string, string> = {};
  if (parsed.hostname) env.PGHOST = parsed.hostname.replace(/^\[|\]$/g, '');
  if (parsed.port) env.PGPORT = parsed.port;
  if (parsed.username) env.PGUSER = decodeURIComponent(parsed.username);
  if (parsed.password) env.PGPASSWORD = decodeURIComponent(parsed.password);
  const database = decodeURIComponent(parsed.pathname.replace(/^\//, ''));
  if (database) env.PGDATABASE = database;
  const params: Record<string, string> = { sslmode: 'PGSSLMODE', host: 'PGHOST', port: 'PGPORT', sslrootcert: 'PGSSLROOTCERT', sslcert: 'PGSSLCERT', sslkey: 'PGSSLKEY', options: 'PGOPTIONS', application_name: 'PGAPPNAME' };
  for (const [param, variable] of Object.entries(params)) {
    const value = parsed.searchParams.get(param);
    if (value) env[variable] = value;
  }
  env.PGCONNECT_TIMEOUT ??= '10';
  return env;
}

/**
 * Every connection parameter of a postgres:// URL (user, password, host, port, database, and
 * each query parameter: sslpassword, user=..., password=...), as libpq keywords.
 */
export function connectionParams(url: string): Record<string, string> {
  const parsed = new URL(url);
  const params: Record<string, string> = {};
  if (parsed.hostname) params.host = decodeURIComponent(parsed.hostname.replace(/^\[|\]$/g, ''));
  if (parsed.port) params.port = parsed.port;
  if (parsed.username) params.user = decodeURIComponent(parsed.username);
  if (parsed.password) params.password = decodeURIComponent(parsed.password);
  const database = decodeURIComponent(parsed.pathname.replace(/^\//, ''));
  if (database) params.dbname = database;
  for (const [key, value] of parsed.searchParams) params[key] = value;
  params.connect_timeout ??= '10';
  return params;
}

/** A pg_service.conf section: one keyword=value per line. */
export function serviceFileText(service: string, params: Record<string, string>): string {
  const lines = [`[${service}]`];
  for (const [key, value] of Object.entries(params)) {
    if (!/^[a-z_]+$/.test(key)) throw new DbkitError('DB_URL_INVALID', `the database URL has a parameter a PostgreSQL client does not know (${JSON.stringify(key.slice(0, 40))})`, { hint: 'remove it from the URL' });
    if (/[\r\n\0]/.test(value)) throw new DbkitError('DB_URL_INVALID', `the database URL's ${key} contains a line break`, { hint: 'remove it from the URL' });
    lines.push(`${key}=${value}`);
  }
  return `${lines.join('\n')}\n`;
}

/** dbkit's environment minus what a client tool does not need and may hold a secret (DATABASE_URL, DBKIT_*). */
export function childEnvironment(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([key]) => key !== 'DATABASE_URL' && !key.startsWith('DBKIT_')));
}

export interface ChildConnection {
  /** Environment for the child: PGSERVICEFILE and PGSERVICE, nothing secret. */
  env: Record<string, string>;
  dispose(): void;
}

/**
 * Hands a libpq child process (pg_dump) its connection through a service file readable by this
 * user only (0600, in a 0700 folder), so no password, user or secret parameter ever appears on
 * its command line (visible to every local user in ps) nor in its environment.
 */
export function childConnection(url: string, applicationName: string): ChildConnection {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'dbkit-conn-'));
  try {
    const file = path.join(dir, 'pg_service.conf');
    writeFileSync(file, serviceFileText('dbkit', { ...connectionParams(url), application_name: applicationName }), { mode: 0o600, flag: 'wx' });
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    env: { PGSERVICEFILE: path.join(dir, 'pg_service.conf'), PGSERVICE: 'dbkit' },
    dispose: () => rmSync(dir, { recursive: true, force: true }),
  };
}

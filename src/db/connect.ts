/**
 * Opening connections, and turning every way a connection can fail into one clear line with
 * the URL redacted and a distinct exit code.
 */
import type pg from 'pg';
import { loadPg } from '../lazy.js';
import { DbkitError, errorMessage, pgErrorInfo } from '../errors.js';
import { redactUrl } from '../core/redact.js';
import { rememberConnectedRole } from '../output/role.js';

export interface ConnectOptions {
  connectTimeoutMs?: number;
  applicationName?: string;
}

/** Checks the URL's shape before pg sees it: pg silently treats many malformed strings as socket paths. */
export function parseDatabaseUrl(url: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new DbkitError('DB_URL_INVALID', 'the database URL cannot be parsed', {
      hint: 'expected postgres://user:password@host:5432/database (percent-encode special characters in the password)',
    });
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') {
    throw new DbkitError('DB_URL_INVALID', `the database URL must start with postgres:// or postgresql:// (got ${parsed.protocol}//)`, {
      hint: 'expected postgres://user:password@host:5432/database',
    });
  }
  if (!parsed.hostname && !parsed.searchParams.get('host')) {
    throw new DbkitError('DB_URL_INVALID', `the database URL ${redactUrl(url)} names no host`, { hint: 'expected postgres://user:password@host:5432/database' });
  }
  return parsed;
}

export function databaseNameOf(url: string): string {
  const parsed = parseDatabaseUrl(url);
  const name = decodeURIComponent(parsed.pathname.replace(/^\//, ''));
  return name || decodeURIComponent(parsed.username) || 'postgres';
}

/** Returns the same URL pointing at another database on the same server. */
export function withDatabase(url: string, database: string): string {
  const parsed = parseDatabaseUrl(url);
  parsed.pathname = `/${encodeURIComponent(database)}`;
  return parsed.toString();
}

/** The database to hold maintenance connections on: never the one being copied. */
export function maintenanceDatabase(target: string): string {
  return target === 'postgres' ? 'template1' : 'postgres';
}

export async function connect(url: string, options: ConnectOptions = {}): Promise<pg.Client> {
  parseDatabaseUrl(url);
  const { Client } = await loadPg();
  const client = new Client({
    connectionString: url,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000,
    application_name: options.applicationName ?? 'dbkit',
  });
  // An idle client whose server goes away emits 'error'; without a listener Node would crash.
  client.on('error', () => {});
  try {
    await client.connect();
  } catch (error) {
    await client.end().catch(() => {});
    throw classifyConnectError(error, url);
  }
  rememberConnectedRole(client.user ?? null);
  return client;
}

export function classifyConnectError(error: unknown, url: string): DbkitError {
  const where = redactUrl(url);
  const info = pgErrorInfo(error);
  const sys = (error as { code?: string }).code;
  const host = safeHost(url);
  if (info?.code === '28P01' || info?.code === '28000') {
    return new DbkitError('DB_AUTH_FAILED', `authentication failed for ${where}`, {
      hint: 'check the user name and password (percent-encode special characters in the URL)',
    });
  }
  if (info?.code === '3D000') {
    return new DbkitError('DB_NOT_FOUND', `database "${databaseNameOf(url)}" does not exist on ${host}`, {
      hint: `create it first (createdb ${databaseNameOf(url)}) or fix the database name in the URL`,
    });
  }
  if (sys === 'ECONNREFUSED') {
    return new DbkitError('DB_UNREACHABLE', `connection refused by ${host} (${where})`, { hint: 'is PostgreSQL running and listening on that host and port?' });
  }
  if (sys === 'ENOTFOUND' || sys === 'EAI_AGAIN') {
    return new DbkitError('DB_UNREACHABLE', `host ${host.replace(/:\d+$/, '')} not found (${where})`, { hint: 'check the host name in the URL' });
  }
  if (sys === 'ETIMEDOUT' || sys === 'EHOSTUNREACH' || sys === 'ENETUNREACH' || /timeout/i.test(errorMessage(error))) {
    return new DbkitError('DB_UNREACHABLE', `timed out connecting to ${host} (${where})`, { hint: 'check the host, port and any firewall; raise DBKIT_CONNECT_TIMEOUT for slow networks' });
  }
  if (/ssl|tls|certificate/i.test(errorMessage(error))) {
    return new DbkitError('DB_UNREACHABLE', `TLS negotiation failed with ${host}: ${firstLine(errorMessage(error))}`, { hint: 'check sslmode in the URL (Supabase needs sslmode=require)' });
  }
  if (info?.code === '53300') {
    return new DbkitError('DB_UNREACHABLE', `${host} has no free connection slots`, { hint: 'wait, or use a pooler in session mode' });
  }
  return new DbkitError('DB_UNREACHABLE', `could not connect to ${where}: ${firstLine(errorMessage(error))}`, { pg: info });
}

function safeHost(url: string): string {
  try {
    const parsed = new URL(url);
    const host = parsed.hostname || parsed.searchParams.get('host') || 'localhost';
    return parsed.port ? `${host}:${parsed.port}` : host;
  } catch {
    return '<unknown host>';
  }
}

function firstLine(text: string): string {
  return text.split('\n')[0] ?? text;
}

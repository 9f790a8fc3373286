/**
 * Which persister failures are about reaching the database (retried once, counted by the circuit
 * breaker) and which are the database refusing a write (a constraint, a bad value: never retried,
 * and proof that the server is there).
 */
import { pgErrorInfo } from '../errors.js';

export const FAILURE_KINDS = ['unavailable', 'timeout', 'rejected', 'not-found'] as const;
export type FailureKind = (typeof FAILURE_KINDS)[number];

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNABORTED']);
// admin_shutdown, crash_shutdown, cannot_connect_now, too_many_connections, invalid authorization,
// invalid password, database does not exist (a wrong URL is an availability problem for a writer)
const UNAVAILABLE_SQLSTATES = new Set(['57P01', '57P02', '57P03', '53300', '28000', '28P01', '3D000']);

export type Phase = 'connect' | 'query';

export function classifyFailure(error: unknown, phase: Phase): FailureKind {
  const info = pgErrorInfo(error);
  if (info?.code === '57014') return 'timeout'; // statement_timeout
  if (info?.code && (info.code.startsWith('08') || UNAVAILABLE_SQLSTATES.has(info.code))) return 'unavailable';
  const sys = (error as { code?: unknown } | null)?.code;
  if (typeof sys === 'string' && NETWORK_CODES.has(sys)) return sys === 'ETIMEDOUT' ? 'timeout' : 'unavailable';
  const message = error instanceof Error ? error.message : String(error);
  if (/timeout exceeded when trying to connect|connection timeout|timed out/i.test(message)) return 'timeout';
  if (/Connection terminated|connection error|not queryable|Client was closed/i.test(message)) return 'unavailable';
  // Whatever stops us from getting a connection (e.g. "database is not currently accepting
  // connections", SQLSTATE 55000) means the database is not there for us.
  if (phase === 'connect') return 'unavailable';
  return 'rejected';
}

export function isRetryable(kind: FailureKind): boolean {
  return kind === 'unavailable' || kind === 'timeout';
}

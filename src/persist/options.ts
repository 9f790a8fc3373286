/**
 * How a CoursePersister is configured: explicitly, or from the environment the seeds use
 * (CREATOR_OS_DB_PERSIST, CREATOR_OS_DB_URL falling back to DATABASE_URL).
 */
import type { BreakerConfig } from './breaker.js';

/** One line per event; `context` never holds a URL, password or key. */
export interface PersistLogger {
  info(message: string, context?: Record<string, unknown>): void;
  warn(message: string, context?: Record<string, unknown>): void;
  error(message: string, context?: Record<string, unknown>): void;
}

/** Time as the breaker and the retry see it; tests inject one that does not wait. */
export interface Clock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

export interface PersisterOptions {
  /** The feature flag. Off: every call is a no-op (nothing connects). */
  enabled: boolean;
  /** The service connection (a role that bypasses RLS). Null with the flag on: writes are skipped, said once. */
  url: string | null;
  logger?: PersistLogger;
  clock?: Clock;
  /** Wait before the single retry of a write that could not reach the database. Default 2 s (seed). */
  retryDelayMs?: number;
  /** Default: open after 5 consecutive failures, for 30 s. */
  breaker?: Partial<BreakerConfig>;
  connectTimeoutMs?: number;
  statementTimeoutMs?: number;
  poolSize?: number;
}

export const DEFAULT_RETRY_DELAY_MS = 2_000;
export const DEFAULT_BREAKER: BreakerConfig = { failureThreshold: 5, coolDownMs: 30_000 };

export interface EnvSettings {
  enabled: boolean;
  url: string | null;
  /** The variable the URL came from, for messages (never its value). */
  urlSource: string | null;
  problems: string[];
}

/**
 * The persister is a library used by generation programs, not a dbkit command: it reads its two
 * variables from the environment (dbkit.config.json and CLI flags do not apply to it).
 */
export const PERSIST_FLAG_ENV = 'CREATOR_OS_DB_PERSIST';
export const PERSIST_URL_ENV = 'CREATOR_OS_DB_URL';

function parseFlag(raw: string): boolean | { error: string } {
  const value = raw.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(value)) return true;
  if (['0', 'false', 'no', 'off', ''].includes(value)) return false;
  return { error: `'${raw}' is not a boolean (true/false, 1/0, yes/no, on/off)` };
}

/** Reads the flag and URL; an unreadable flag value counts as off and is reported. */
export function persistSettingsFromEnv(env: Readonly<Record<string, string | undefined>>): EnvSettings {
  const problems: string[] = [];
  const rawFlag = env[PERSIST_FLAG_ENV];
  let enabled = false;
  if (rawFlag !== undefined) {
    const parsed = parseFlag(rawFlag);
    if (typeof parsed === 'boolean') enabled = parsed;
    else problems.push(`${PERSIST_FLAG_ENV}: ${parsed.error}; persistence stays disabled`);
  }
  for (const name of [PERSIST_URL_ENV, 'DATABASE_URL']) {
    const value = env[name]?.trim();
    if (value) return { enabled, url: value, urlSource: name, problems };
  }
  return { enabled, url: null, urlSource: null, problems };
}

/** Writes `[dbkit persist] message key=value ...` lines to stderr. */
export function stderrLogger(stream: NodeJS.WritableStream = process.stderr): PersistLogger {
  const line = (level: string, message: string, context?: Record<string, unknown>) => {
    const fields = context ? Object.entries(context).filter(([, v]) => v !== undefined).map(([k, v]) => `${k}=${typeof v === 'string' ? JSON.stringify(v) : String(v)}`) : [];
    stream.write(`[dbkit persist] ${level}: ${message}${fields.length ? ` (${fields.join(' ')})` : ''}\n`);
  };
  return {
    info: (m, c) => line('info', m, c),
    warn: (m, c) => line('warn', m, c),
    error: (m, c) => line('error', m, c),
  };
}

/**
 * How a CoursePersister is configured: explicitly, or from the environment the seeds use
 * (CREATOR_OS_DB_PERSIST, CREATOR_OS_DB_URL falling back to DATABASE_URL).
 */
import { SETTINGS } from '../config.js';
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

/** Reads the flag and URL; an unreadable flag value counts as off and is reported. */
export function persistSettingsFromEnv(env: Readonly<Record<string, string | undefined>>): EnvSettings {
  const problems: string[] = [];
  const rawFlag = env[SETTINGS.dbPersist.env];
  let enabled = false;
  if (rawFlag !== undefined) {
    const parsed = SETTINGS.dbPersist.parse(rawFlag);
    if (typeof parsed === 'boolean') enabled = parsed;
    else problems.push(`${SETTINGS.dbPersist.env}: ${parsed.error}; persistence stays disabled`);
  }
  for (const name of [SETTINGS.persistUrl.env, SETTINGS.databaseUrl.env]) {
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

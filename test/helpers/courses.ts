/**
 * Course fixtures: a migrated test database with two minds, generated course folders, and a
 * switch that makes a database unreachable (and reachable again) for real.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'vitest';
import { cleanEnv, runCli } from './cli.ts';
import { query, withAdmin, type TestDatabase, type TestServer } from './db.ts';

export async function migrate(db: TestDatabase): Promise<void> {
  const result = await runCli(['apply', '--db', db.url, '--no-backup'], { env: cleanEnv() });
  expect(result.code, result.stderr).toBe(0);
  await query(db.url, `INSERT INTO public.minds (slug, display_name) VALUES ('alan', 'Alan'), ('alan-voice', 'Alan (voice)')`);
}

export function tempDir(prefix: string): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), `dbkit-${prefix}-`));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** No new connections, and the existing ones terminated: the database is gone for its clients. */
export async function blockDatabase(server: TestServer, db: TestDatabase): Promise<void> {
  await withAdmin(server.adminUrl, async (c) => {
    await c.query(`ALTER DATABASE ${db.name} ALLOW_CONNECTIONS false`);
    await c.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`, [db.name]);
  });
}

export async function unblockDatabase(server: TestServer, db: TestDatabase): Promise<void> {
  await withAdmin(server.adminUrl, (c) => c.query(`ALTER DATABASE ${db.name} ALLOW_CONNECTIONS true`));
}

export interface TestClock {
  now(): number;
  sleep(ms: number): Promise<void>;
  advance(ms: number): void;
  sleeps: number[];
  /** Runs during the next sleep (e.g. to bring the database back while the persister waits). */
  onNextSleep(fn: () => Promise<void>): void;
}

/** A clock whose sleep returns at once and moves time forward instead. */
export function testClock(): TestClock {
  let t = 1_000_000;
  let hook: (() => Promise<void>) | null = null;
  const clock: TestClock = {
    now: () => t,
    sleeps: [],
    advance: (ms) => {
      t += ms;
    },
    async sleep(ms) {
      clock.sleeps.push(ms);
      t += ms;
      const h = hook;
      hook = null;
      if (h) await h();
    },
    onNextSleep(fn) {
      hook = fn;
    },
  };
  return clock;
}

export function memoryLogger() {
  const lines: string[] = [];
  const log = (level: string) => (message: string, context?: Record<string, unknown>) => lines.push(`${level}: ${message}${context ? ` ${JSON.stringify(context)}` : ''}`);
  return { lines, logger: { info: log('info'), warn: log('warn'), error: log('error') } };
}

/**
 * dbkit through a real PgBouncer (transaction mode with pools of 1 and 5, session mode) in front
 * of the external server: concurrent applies apply each migration exactly once, apply and
 * rollback side by side keep tracking and schema in step, and what needs one session throughout
 * refuses before doing anything.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { cleanEnv, parseJson, runCli, type CliResult } from '../helpers/cli.ts';
import { createTestDatabase, query, testServers, type TestDatabase } from '../helpers/db.ts';
import { itWhen, poolerTestsAvailable, startPgBouncer, type PgBouncer, type PoolMode } from '../helpers/pgbouncer.ts';
import type { ApplyReport } from '../../src/commands/apply.ts';
import type { StatusReport } from '../../src/commands/status.ts';
import type { RollbackReport } from '../../src/commands/rollback.ts';

const external = testServers().find((s) => s.name === 'external');
const available = poolerTestsAvailable(external !== undefined);

/** Every migration counts itself: run twice, a migration leaves two rows (and two tracking rows). */
const FIXTURE: Record<string, string> = {
  '001_counter.sql': `-- Up Migration
CREATE TABLE IF NOT EXISTS public.counter (id serial PRIMARY KEY, migration text NOT NULL);
INSERT INTO public.counter (migration) VALUES ('001');
-- Down Migration
DROP TABLE public.counter;
INSERT INTO public.revert_log (migration) VALUES ('001');
`,
  '002_slow.sql': `-- Up Migration
SELECT pg_sleep(0.3);
INSERT INTO public.counter (migration) VALUES ('002');
-- Down Migration
DELETE FROM public.counter WHERE migration = '002';
INSERT INTO public.revert_log (migration) VALUES ('002');
`,
  '003_more.sql': `-- Up Migration
INSERT INTO public.counter (migration) VALUES ('003');
-- Down Migration
DELETE FROM public.counter WHERE migration = '003';
INSERT INTO public.revert_log (migration) VALUES ('003');
`,
};
const NAMES = ['001_counter', '002_slow', '003_more'];

function fixtureFolder(extra: Record<string, string> = {}): { dir: string; cleanup(): void } {
  const root = mkdtempSync(path.join(os.tmpdir(), 'dbkit-pooler-'));
  const dir = path.join(root, 'migrations');
  mkdirSync(dir);
  for (const [file, sql] of Object.entries({ ...FIXTURE, ...extra })) writeFileSync(path.join(dir, file), sql);
  return { dir, cleanup: () => rmSync(root, { recursive: true, force: true }) };
}

async function trackingCounts(url: string): Promise<Record<string, number>> {
  const rows = await query<{ name: string; n: number }>(url, `SELECT name, count(*)::int AS n FROM dbkit.migrations GROUP BY name`);
  return Object.fromEntries(rows.map((r) => [r.name, r.n]));
}

async function counterCounts(url: string): Promise<Record<string, number>> {
  const exists = await query<{ ok: boolean }>(url, `SELECT to_regclass('public.counter') IS NOT NULL AS ok`);
  if (!exists[0]?.ok) return {};
  const rows = await query<{ migration: string; n: number }>(url, `SELECT migration, count(*)::int AS n FROM public.counter GROUP BY migration`);
  return Object.fromEntries(rows.map((r) => [r.migration, r.n]));
}

const CONFIGS: { mode: PoolMode; poolSize: number }[] = [
  { mode: 'transaction', poolSize: 1 },
  { mode: 'transaction', poolSize: 5 },
  { mode: 'session', poolSize: 5 },
];

describe.skipIf(!available).each(CONFIGS)('dbkit through PgBouncer, pool_mode=$mode, default_pool_size=$poolSize', ({ mode, poolSize }) => {
  let bouncer: PgBouncer;
  let db: TestDatabase;
  let folder: { dir: string; cleanup(): void };
  let url: string;
  const env = () => cleanEnv({ DBKIT_LOCK_WAIT: '60s' });
  const cli = (args: string[], dir = folder.dir) => runCli([...args, '--db', url, '--migrations-dir', dir], { env: env() });

  beforeAll(async () => {
    bouncer = await startPgBouncer(external!.adminUrl, { mode, poolSize });
  });
  afterAll(async () => {
    await bouncer?.stop();
  });
  beforeEach(async () => {
    db = await createTestDatabase(external!, 'pool');
    // Outside the migrations: every down that ran leaves a row here.
    await query(db.url, 'CREATE TABLE public.revert_log (migration text NOT NULL)');
    url = bouncer.urlFor(db.url);
    folder = fixtureFolder();
  });
  afterEach(async () => {
    folder.cleanup();
    await db.drop();
  });

  it('five concurrent applies on an empty database apply each migration exactly once', async () => {
    const results = await Promise.all(Array.from({ length: 5 }, () => cli(['apply', '--no-backup', '--json'])));
    // First what matters: nothing ran twice (before the guard, a pool of one ran every migration twice or more).
    expect(await counterCounts(db.url)).toEqual({ '001': 1, '002': 1, '003': 1 });
    expect(await trackingCounts(db.url)).toEqual(Object.fromEntries(NAMES.map((n) => [n, 1])));
    for (const r of results) expect(r.code, `${r.stderr}\n${r.stdout.slice(-3000)}`).toBe(0);
    const reports = results.map((r) => parseJson<ApplyReport>(r));
    // Each migration was run by exactly one of the five; the others skipped it or found nothing pending.
    for (const name of NAMES) {
      expect(reports.flatMap((r) => r.migrations).filter((m) => m.name === name && m.status === 'applied')).toHaveLength(1);
    }
    if (mode === 'transaction') for (const r of reports) expect(r.connection.path).toBe('transaction-pooler');
    else for (const r of reports) expect(r.connection.path).toBe('session-pooler');
    if (mode === 'transaction') {
      // Nothing of dbkit stays on the server sessions the pooler hands to other clients: no lock, no setting.
      expect(await query(db.url, `SELECT 1 FROM pg_locks l JOIN pg_database d ON d.oid = l.database WHERE l.locktype = 'advisory' AND d.datname = $1`, [db.name])).toEqual([]);
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        const { rows } = await client.query(`SELECT current_setting('lock_timeout') AS lock, current_setting('statement_timeout') AS statement, current_setting('client_connection_check_interval') AS check`);
        expect(rows[0]).toEqual({ lock: '0', statement: '0', check: '0' });
      } finally {
        await client.end();
      }
    }
    const skipped = reports.flatMap((r) => r.migrations).filter((m) => m.status === 'already-applied');
    for (const r of results.filter((x) => x.stdout.includes('already-applied'))) expect(r.code).toBe(0);
    expect(skipped.every((m) => NAMES.includes(m.name))).toBe(true);
  });

  it('apply and rollback side by side keep dbkit.migrations and the schema in step', async () => {
    expect((await cli(['apply', '--no-backup'])).code).toBe(0);
    const results: CliResult[] = await Promise.all([cli(['rollback', '--all', '--yes', '--no-backup', '--json']), cli(['apply', '--no-backup', '--json']), cli(['rollback', '--count', '2', '--yes', '--no-backup', '--json'])]);
    // A run may refuse because another changed the state under it (exit 9), or find less applied
    // than it asks to revert (17); none may fail half-way.
    for (const r of results) expect([0, 9, 17], r.stderr + r.stdout).toContain(r.code);
    const tracked = await trackingCounts(db.url);
    for (const n of Object.values(tracked)) expect(n).toBe(1);
    const counted = await counterCounts(db.url);
    // A migration is tracked exactly when its row is there (001 owns the table).
    for (const name of NAMES.slice(1)) expect(counted[name.slice(0, 3)] ?? 0, name).toBe(tracked[name] ?? 0);
    expect(Object.keys(counted).length > 0).toBe(tracked['001_counter'] === 1);
  });

  it('three concurrent rollbacks revert each migration exactly once', async () => {
    expect((await cli(['apply', '--no-backup'])).code).toBe(0);
    const results = await Promise.all(Array.from({ length: 3 }, () => cli(['rollback', '--all', '--yes', '--no-backup', '--json'])));
    const reverts = await query<{ migration: string; n: number }>(db.url, 'SELECT migration, count(*)::int AS n FROM public.revert_log GROUP BY migration ORDER BY 1');
    expect(reverts).toEqual([{ migration: '001', n: 1 }, { migration: '002', n: 1 }, { migration: '003', n: 1 }]);
    expect(await trackingCounts(db.url)).toEqual({});
    // The others found it done (already-reverted), refused as the state moved (9) or found nothing left (0).
    for (const r of results) expect([0, 9], r.stderr + r.stdout.slice(-1500)).toContain(r.code);
    // Those that ran through say what they went through.
    const finished = results.filter((r) => r.code === 0);
    expect(finished.length).toBeGreaterThan(0);
    for (const r of finished) expect(parseJson<RollbackReport>(r).connection.path).toBe(mode === 'transaction' ? 'transaction-pooler' : 'session-pooler');
  });

  it('status says what sits in between', async () => {
    const result = await cli(['status', '--json']);
    const report = parseJson<StatusReport>(result);
    expect(report.connection.path).toBe(mode === 'transaction' ? 'transaction-pooler' : 'session-pooler');
    expect(report.connection.product).toBe('pgbouncer');
    const text = await cli(['status']);
    expect(text.stdout).toContain(`PgBouncer in ${mode} mode`);
  });

  itWhen(mode === 'transaction')('refuses a backup by either strategy before doing anything (exit 7)', async () => {
    for (const strategy of ['template', 'pg_dump']) {
      const result = await cli(['apply', '--backup-strategy', strategy]);
      expect(result.code, result.stderr).toBe(7);
      expect(result.stderr).toContain('PgBouncer in transaction mode');
      expect(result.stderr).toMatch(/session-mode pooler URL|direct connection URL/);
    }
    // Nothing at all: not even dbkit's schema.
    expect(await query(db.url, `SELECT 1 FROM pg_namespace WHERE nspname = 'dbkit'`)).toHaveLength(0);
    expect(await query(db.url, `SELECT 1 FROM pg_database WHERE datname LIKE 'dbkit_bk_%' AND datname LIKE $1`, [`%${db.name.replace('dbkit_', '')}%`])).toHaveLength(0);
  });

  itWhen(mode === 'transaction')('dbkit backup and dbkit restore refuse before doing anything (exit 7)', async () => {
    const backupDir = mkdtempSync(path.join(os.tmpdir(), 'dbkit-pooler-backups-'));
    try {
      const benv = { ...env(), DBKIT_BACKUP_DIR: backupDir };
      const refused = await runCli(['backup', '--db', url, '--backup-strategy', 'pg_dump'], { env: benv });
      expect(refused.code, refused.stderr).toBe(7);
      expect(refused.stderr).toContain('dbkit backup (pg_dump) cannot run through PgBouncer in transaction mode');
      // A backup taken directly, restored through the pooler: refused, no database created.
      const taken = await runCli(['backup', '--db', db.url, '--backup-strategy', 'pg_dump', '--json'], { env: benv });
      expect(taken.code, taken.stderr).toBe(0);
      const id = parseJson<{ backup: { id: string } }>(taken).backup.id;
      const restore = await runCli(['restore', id, '--db', url, '--into', `${db.name}_r`, '--yes'], { env: benv });
      expect(restore.code, restore.stderr).toBe(7);
      expect(restore.stderr).toContain('dbkit restore cannot run through PgBouncer in transaction mode');
      expect(await query(db.url, `SELECT 1 FROM pg_database WHERE datname = $1`, [`${db.name}_r`])).toHaveLength(0);
      const rehearse = await runCli(['rehearse', '--db', url, '--migrations-dir', folder.dir], { env: benv });
      expect(rehearse.code, rehearse.stderr).toBe(7);
      expect(rehearse.stderr).toContain('dbkit rehearse cannot run through PgBouncer in transaction mode');
      // Pruning takes a session lock: refused too, and the backup is still there.
      const prune = await runCli(['backups', '--keep', '1', '--db', url], { env: benv });
      expect(prune.code, prune.stderr).toBe(7);
      expect(prune.stderr).toContain('dbkit backups --keep cannot run through PgBouncer in transaction mode');
      const listed = await runCli(['backups', '--json'], { env: benv });
      expect(listed.stdout).toContain(id);
    } finally {
      rmSync(backupDir, { recursive: true, force: true });
    }
  });

  itWhen(mode === 'transaction')('--statement-timeout holds inside each migration through the pooler (SET LOCAL by the guard)', async () => {
    const slow = fixtureFolder({ '004_sleeps.sql': `-- Up Migration\nSELECT pg_sleep(3);\n-- Down Migration\nSELECT 1;\n` });
    try {
      const started = Date.now();
      const result = await runCli(['apply', '--no-backup', '--db', url, '--migrations-dir', slow.dir, '--statement-timeout', '500ms'], { env: env() });
      expect(result.code, result.stderr).toBe(11);
      expect(result.stderr).toMatch(/004_sleeps was cancelled \(statement_timeout/);
      expect(Date.now() - started).toBeLessThan(15_000);
      expect(await trackingCounts(db.url)).toEqual({ '001_counter': 1, '002_slow': 1, '003_more': 1 });
    } finally {
      slow.cleanup();
    }
  });

  itWhen(mode === 'session')('a pg_dump backup works; a template copy refuses before doing anything (exit 7)', async () => {
    const backupDir = mkdtempSync(path.join(os.tmpdir(), 'dbkit-pooler-backups-'));
    try {
      const benv = { ...env(), DBKIT_BACKUP_DIR: backupDir };
      const template = await runCli(['apply', '--db', url, '--migrations-dir', folder.dir, '--backup-strategy', 'template'], { env: benv });
      expect(template.code, template.stderr).toBe(7);
      expect(template.stderr).toContain('a backup (template copy) cannot run through PgBouncer in session mode');
      expect(await query(db.url, `SELECT 1 FROM pg_namespace WHERE nspname = 'dbkit'`)).toHaveLength(0);
      const dump = await runCli(['apply', '--db', url, '--migrations-dir', folder.dir, '--backup-strategy', 'pg_dump', '--json'], { env: benv });
      expect(dump.code, dump.stderr).toBe(0);
      const backup = parseJson<ApplyReport>(dump).backup!;
      expect(backup).toMatchObject({ strategy: 'pg_dump', verified: true });
      expect(await counterCounts(db.url)).toEqual({ '001': 1, '002': 1, '003': 1 });
      // Replacing the database needs its connections closed: refused before anything, data kept.
      const inPlace = await runCli(['restore', backup.id, '--db', url, '--in-place', '--yes'], { env: { ...benv, DBKIT_BACKUP_STRATEGY: 'pg_dump' } });
      expect(inPlace.code, inPlace.stderr).toBe(7);
      expect(inPlace.stderr).toContain('dbkit restore --in-place cannot run through PgBouncer in session mode');
      expect(await counterCounts(db.url)).toEqual({ '001': 1, '002': 1, '003': 1 });
      expect(await query(db.url, `SELECT 1 FROM pg_database WHERE datname LIKE $1`, [`${db.name}%_`])).toHaveLength(0);
    } finally {
      rmSync(backupDir, { recursive: true, force: true });
    }
  });

  itWhen(mode === 'transaction')('refuses a migration outside a transaction before running anything (exit 7)', async () => {
    const withOutside = fixtureFolder({ '004_outside.js': `exports.up = (pgm) => { pgm.noTransaction(); pgm.sql("INSERT INTO public.counter (migration) VALUES ('004')"); };\nexports.down = (pgm) => { pgm.noTransaction(); pgm.sql("DELETE FROM public.counter WHERE migration = '004'"); };\n` });
    try {
      const result = await cli(['apply', '--no-backup'], withOutside.dir);
      expect(result.code, result.stderr).toBe(7);
      expect(result.stderr).toContain('004_outside');
      expect(result.stderr).toContain('outside a transaction');
      expect(await counterCounts(db.url)).toEqual({});
    } finally {
      withOutside.cleanup();
    }
  });
});

describe.skipIf(external === undefined)('the unique name index on dbkit.migrations (direct connection)', () => {
  let db: TestDatabase;
  let folder: { dir: string; cleanup(): void };
  const cli = (args: string[]) => runCli([...args, '--db', db.url, '--migrations-dir', folder.dir], { env: cleanEnv() });
  beforeEach(async () => {
    db = await createTestDatabase(external!, 'uniq');
    folder = fixtureFolder();
  });
  afterEach(async () => {
    folder.cleanup();
    await db.drop();
  });

  // dbkit's tracking as dbkit before this index created it, holding what an unguarded pooler run left.
  const oldTracking = async (rows: string[]) => {
    await query(db.url, `CREATE SCHEMA dbkit; CREATE TABLE dbkit.migrations (id serial PRIMARY KEY, name varchar(255) NOT NULL, run_on timestamp NOT NULL)`);
    for (const name of rows) await query(db.url, `INSERT INTO dbkit.migrations (name, run_on) VALUES ($1, now())`, [name]);
    await query(db.url, `CREATE TABLE public.counter (id serial PRIMARY KEY, migration text NOT NULL)`);
  };

  it('is added to tracking that predates it', async () => {
    await oldTracking(['001_counter']);
    const result = await cli(['apply', '--no-backup']);
    expect(result.code, result.stderr).toBe(0);
    expect(await query(db.url, `SELECT 1 FROM pg_indexes WHERE schemaname = 'dbkit' AND indexname = 'migrations_name_key'`)).toHaveLength(1);
    await expect(query(db.url, `INSERT INTO dbkit.migrations (name, run_on) VALUES ('002_slow', now())`)).rejects.toThrow(/duplicate key/);
  });

  it('refuses (exit 7) naming the migrations recorded twice, before running anything', async () => {
    await oldTracking(['001_counter', '001_counter']);
    const result = await cli(['apply', '--no-backup']);
    expect(result.code, result.stderr).toBe(7);
    expect(result.stderr).toContain('001_counter (2 rows)');
    expect(result.stderr).toContain('DELETE FROM dbkit.migrations');
    expect(await counterCounts(db.url)).toEqual({});
  });
});

/**
 * dbkit rollback against real PostgreSQL servers (the embedded 17 cluster, and the external server
 * from DATABASE_URL): round trips, a down that fails, a rollback killed mid-way, bad input, drift,
 * and a rollback racing an apply.
 */
import { appendFileSync, copyFileSync, existsSync, readdirSync, readFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BIN, cleanEnv, parseJson, runCli, ROOT, type CliResult } from '../helpers/cli.ts';
import { createTestDatabase, query, testServers, withAdmin, type TestDatabase } from '../helpers/db.ts';
import { appliedNames, describeDiff, fingerprint } from '../helpers/schema.ts';
import { copyMigrations, MIGRATION_NAMES, MIGRATIONS_DIR } from '../helpers/migrations.ts';
import { tableRows } from '../helpers/rows.ts';
import { SLOW_MIGRATION, SLOW_MIGRATION_SOURCE } from '../helpers/slow-migration.ts';
import type { RollbackReport } from '../../src/commands/rollback.ts';
import type { ApplyReport } from '../../src/commands/apply.ts';
import type { StatusReport } from '../../src/commands/status.ts';

const BROWNFIELD = readFileSync(path.join(ROOT, 'test/fixtures/v070-brownfield.sql'), 'utf8');
const REVERSED = [...MIGRATION_NAMES].reverse();

function expectOneLineError(result: CliResult, exitCode: number, pattern: RegExp): void {
  expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(exitCode);
  const lines = result.stderr.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('warning:'));
  expect(lines[0]).toMatch(/^error: /);
  expect(lines[0]).toMatch(pattern);
  expect(lines.slice(1).every((l) => l.startsWith('  hint: '))).toBe(true);
  expect(result.stderr).not.toMatch(/\n\s+at /);
}

async function waitUntil(what: string, predicate: () => Promise<boolean>): Promise<void> {
  // A bound so that a broken test fails instead of hanging; no timing is asserted.
  const deadline = Date.now() + 90_000;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`gave up waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe.each(testServers())('dbkit rollback on $name', (server) => {
  let db: TestDatabase;
  let env: Record<string, string | undefined>;
  const cli = (args: string[], extra: Parameters<typeof runCli>[1] = {}) => runCli([...args, '--db', db.url], { env, ...extra });
  const sleeping = () =>
    withAdmin(server.adminUrl, async (c) => {
      const { rows } = await c.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND state = 'active' AND query LIKE 'SELECT pg_sleep(seconds)%'", [db.name]);
      return rows[0]!.n > 0;
    });

  beforeEach(async () => {
    db = await createTestDatabase(server);
    env = cleanEnv();
  });
  afterEach(async () => {
    await db.drop();
  });

  it('apply then rollback --all on a brownfield v0.7.0 database: identical fingerprint (grants included), every row intact', async () => {
    await query(db.url, BROWNFIELD);
    const before = await fingerprint(db.url);
    const rowsBefore = await tableRows(db.url);
    expect((await cli(['apply', '--no-backup'])).code).toBe(0);
    expect((await fingerprint(db.url)).hash).not.toBe(before.hash);

    const result = await cli(['rollback', '--all', '--yes', '--json']);
    expect(result.code, result.stderr).toBe(0);
    const report = parseJson<RollbackReport>(result);
    expect(report.ok).toBe(true);
    expect(report.migrations.map((m) => [m.name, m.status])).toEqual(REVERSED.map((n) => [n, 'reverted']));
    expect(report.backup?.verified).toBe(true);
    expect(report.applied).toEqual([]);
    // the reverted state's own checks ran after each down
    const labels = report.validation.filter((c) => c.when === 'reverted').map((c) => c.label);
    expect(labels).toEqual(expect.arrayContaining(['0 policies on the 5 tables', 'RLS off on the 5 tables', 'attribution columns gone', 'attribution indexes gone']));
    expect(report.validation.filter((c) => !c.ok)).toEqual([]);

    const after = await fingerprint(db.url);
    expect(after.hash, describeDiff(before, after)).toBe(before.hash);
    expect(await tableRows(db.url)).toEqual(rowsBefore);
    expect(await appliedNames(db.url)).toEqual([]);
  });

  it('apply then rollback --all on an empty database leaves it as it was', async () => {
    const before = await fingerprint(db.url);
    expect((await cli(['apply', '--no-backup'])).code).toBe(0);
    const result = await cli(['rollback', '--all', '--yes', '--no-backup']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain(`Rolled back ${MIGRATION_NAMES.length} migrations`);
    const after = await fingerprint(db.url);
    expect(after.hash, describeDiff(before, after)).toBe(before.hash);
  });

  it('rolls back the last one by default, and --count / --to stop where asked', async () => {
    const last = MIGRATION_NAMES.length - 1;
    expect((await cli(['apply', '--no-backup'])).code).toBe(0);
    let report = parseJson<RollbackReport>(await cli(['rollback', '--yes', '--no-backup', '--json']));
    expect(report.migrations.map((m) => m.name)).toEqual([MIGRATION_NAMES[last]]);
    expect(await appliedNames(db.url)).toEqual(MIGRATION_NAMES.slice(0, last));
    expect(report.validation.filter((c) => c.when === 'applied').every((c) => c.ok)).toBe(true);

    expect((await cli(['apply', '--no-backup'])).code).toBe(0);
    report = parseJson<RollbackReport>(await cli(['rollback', '--count', '2', '--yes', '--no-backup', '--json']));
    expect(report.migrations.map((m) => m.name)).toEqual([MIGRATION_NAMES[last], MIGRATION_NAMES[last - 1]]);

    report = parseJson<RollbackReport>(await cli(['rollback', '--to', MIGRATION_NAMES[0]!.slice(0, 14), '--yes', '--no-backup', '--json']));
    expect(report.selection).toEqual({ kind: 'to', migration: MIGRATION_NAMES[0] });
    expect(report.migrations.map((m) => m.name)).toEqual(MIGRATION_NAMES.slice(1, last - 1).reverse());
    expect(await appliedNames(db.url)).toEqual([MIGRATION_NAMES[0]]);
  });

  it.runIf(existsSync('/usr/bin/script'))('in a terminal it asks first, naming the database and the migrations: "no" changes nothing, "yes" rolls back', async () => {
    expect((await cli(['apply', '--no-backup'])).code).toBe(0);
    const before = await fingerprint(db.url, { includeDbkitSchema: true });
    const refused = await inTerminal(['rollback', '--count', '2', '--no-backup', '--db', db.url], env, 'no');
    const [lastName, beforeLast] = MIGRATION_NAMES.slice(-2).reverse();
    expect(refused.output).toContain(`Roll back 2 migrations (${lastName}, ${beforeLast}) on database "${db.name}" at `);
    expect(refused.output).toContain(`  1. revert ${lastName}\n  2. revert ${beforeLast}\nWITHOUT a backup (--no-backup).`);
    expect(refused.output).toContain('error: not confirmed: nothing was changed');
    expect(refused.code).toBe(14);
    expect((await fingerprint(db.url, { includeDbkitSchema: true })).hash).toBe(before.hash);
    const confirmed = await inTerminal(['rollback', '--count', '2', '--no-backup', '--db', db.url], env, 'yes');
    expect(confirmed.code, confirmed.output).toBe(0);
    expect(confirmed.output).toContain('Rolled back 2 migrations');
    expect(await appliedNames(db.url)).toEqual(MIGRATION_NAMES.slice(0, -2));
  });

  it('a down that fails midway leaves the database exactly as before that down, and the report names it', async () => {
    expect((await cli(['apply', '--no-backup'])).code).toBe(0);
    // a row in a table the baseline created: its down must refuse to drop it
    await query(db.url, "INSERT INTO public.minds (slug, display_name) VALUES ('written-after', 'Written after the apply')");
    // leave the first two applied
    expect((await cli(['rollback', '--count', String(MIGRATION_NAMES.length - 2), '--yes', '--no-backup'])).code).toBe(0);
    const beforeDown = await fingerprint(db.url, { includeDbkitSchema: true });
    const ledger = await query(db.url, 'SELECT id, migration, kind, name, undo_sql FROM dbkit.provisioned_objects ORDER BY id');

    const result = await cli(['rollback', '--all', '--yes', '--json']);
    expect(result.code).toBe(11);
    const report = parseJson<RollbackReport>(result);
    expect(report.ok).toBe(false);
    expect(report.backup?.verified).toBe(true);
    expect(report.migrations.map((m) => [m.name, m.status])).toEqual([
      [MIGRATION_NAMES[1], 'failed'],
      [MIGRATION_NAMES[0], 'skipped'],
    ]);
    expect(report.error?.code).toBe('MIGRATION_FAILED');
    expect(report.error?.message).toContain(`down of migration ${MIGRATION_NAMES[1]} failed`);
    expect(report.error?.message).toContain('refusing to drop public.minds');
    expect(report.error?.hint).toContain('rolled back');

    const after = await fingerprint(db.url, { includeDbkitSchema: true });
    expect(after.hash, describeDiff(beforeDown, after)).toBe(beforeDown.hash);
    expect(await query(db.url, 'SELECT id, migration, kind, name, undo_sql FROM dbkit.provisioned_objects ORDER BY id')).toEqual(ledger);
    expect(await query(db.url, "SELECT slug FROM public.minds WHERE slug = 'written-after'")).toHaveLength(1);
    const status = parseJson<StatusReport>(await cli(['status', '--json']));
    expect(status.applied.map((a) => a.name)).toEqual(MIGRATION_NAMES.slice(0, 2));

    const human = await cli(['rollback', '--all', '--yes', '--no-backup']);
    expect(human.code).toBe(11);
    expect(human.stdout).toMatch(/✗ revert 20251028115000_creatoros-baseline failed, rolled back/);
    expect(human.stderr).toMatch(/^error: down of migration 20251028115000_creatoros-baseline failed/m);
  });

  it('bad input: a one-line error with its own exit code, and nothing changed (no backup either)', async () => {
    const scratch = copyMigrations({ count: 2 });
    try {
      expect((await cli(['apply', '--no-backup', '--migrations-dir', scratch.dir])).code).toBe(0);
    } finally {
      scratch.cleanup();
    }
    const before = await fingerprint(db.url, { includeDbkitSchema: true });
    const cases: [string[], number, RegExp][] = [
      [['rollback', '--count', '3', '--yes'], 17, /--count 3 asks to revert 3 migrations, but only 2 are applied/],
      [['rollback', '--to', MIGRATION_NAMES[3]!, '--yes'], 16, /--to 20251028120001_kiss-rls: that migration is not applied/],
      [['rollback', '--to', '20990101000000_nope', '--yes'], 15, /no migration has that name/],
      [['rollback', '--count', '0'], 2, /--count: '0' is not a whole number >= 1/],
      [['rollback', '--count', '1', '--all'], 2, /cannot be combined/],
      [['rollback'], 14, /refusing to continue without confirmation: Roll back 1 migration \(20251028115000_creatoros-baseline\) on database "dbkit_t_\w+" at /],
    ];
    for (const [args, code, pattern] of cases) {
      expectOneLineError(await cli(args), code, pattern);
      const json = await cli([...args, '--json']);
      expect(json.code).toBe(code);
      expect(parseJson<{ ok: boolean; error: { exitCode: number } }>(json)).toMatchObject({ ok: false, error: { exitCode: code } });
    }
    const after = await fingerprint(db.url, { includeDbkitSchema: true });
    expect(after.hash, describeDiff(before, after)).toBe(before.hash);
    const backupDir = path.join(env.DBKIT_STATE_DIR!, 'backups');
    expect(readdirIfExists(backupDir)).toEqual([]);
  });

  it('a forced pg_dump backup is used where a new-enough pg_dump exists, and refused before anything changes where none does', async () => {
    expect((await cli(['apply', '--no-backup'])).code).toBe(0);
    const before = await fingerprint(db.url, { includeDbkitSchema: true });
    if (server.name !== 'embedded-17') {
      // this machine has pg_dump 15: a PostgreSQL 15 server can be dumped
      const taken = await cli(['backup', '--backup-strategy', 'pg_dump', '--json']);
      expect(taken.code, taken.stderr).toBe(0);
      expect(taken.stdout).toMatch(/"strategy": "pg_dump"/);
      expect(taken.stdout).toMatch(/"verified": true/);
      expect((await fingerprint(db.url, { includeDbkitSchema: true })).hash).toBe(before.hash);
      return;
    }
    expectOneLineError(await cli(['rollback', '--yes', '--backup-strategy', 'pg_dump']), 18, /no pg_dump\/pg_restore 17 or newer found for this PostgreSQL 17\.\d+ server/);
    expectOneLineError(await cli(['backup', '--backup-strategy', 'pg_dump']), 18, /no pg_dump\/pg_restore 17 or newer/);
    expect((await fingerprint(db.url, { includeDbkitSchema: true })).hash).toBe(before.hash);
    expect(await appliedNames(db.url)).toEqual(MIGRATION_NAMES);
  });

  it('refuses to revert drifted migrations unless --force', async () => {
    const scratch = copyMigrations();
    try {
      expect((await cli(['apply', '--no-backup', '--migrations-dir', scratch.dir])).code).toBe(0);
      appendFileSync(scratch.file(MIGRATION_NAMES[3]!), '\n// edited after it was applied\n');
      const before = await fingerprint(db.url, { includeDbkitSchema: true });
      const refused = await cli(['rollback', '--yes', '--migrations-dir', scratch.dir]);
      expect(refused.code).toBe(8);
      // the message lists each drifted file on its own line
      expect(refused.stderr).toMatch(/^error: applied migration changed since it was applied:\n\s+\S*migrations\/20251028120001_kiss-rls: the file was edited/);
      expect(refused.stderr).toContain('pass --force');
      expect((await fingerprint(db.url, { includeDbkitSchema: true })).hash).toBe(before.hash);
      const forced = await cli(['rollback', '--yes', '--force', '--no-backup', '--migrations-dir', scratch.dir, '--json']);
      expect(forced.code, forced.stderr).toBe(0);
      const report = parseJson<RollbackReport>(forced);
      expect(report.drift.map((d) => d.name)).toEqual([MIGRATION_NAMES[3]]);
      expect(report.migrations.map((m) => m.status)).toEqual(['reverted']);
    } finally {
      scratch.cleanup();
    }
  });

  it('killed with SIGKILL mid-way: a consistent migration boundary, dbkit status tells the truth, a re-run completes', async () => {
    const scratch = copyMigrations({ count: 2 });
    try {
      scratch.add(SLOW_MIGRATION, SLOW_MIGRATION_SOURCE);
      expect((await cli(['apply', '--no-backup', '--migrations-dir', scratch.dir])).code).toBe(0);
      const boundary = await fingerprint(db.url, { includeDbkitSchema: true });
      for (const name of MIGRATION_NAMES.slice(2)) copyFileSync(path.join(MIGRATIONS_DIR, `${name}.ts`), scratch.file(name));
      expect((await cli(['apply', '--no-backup', '--migrations-dir', scratch.dir])).code).toBe(0);
      await query(db.url, 'UPDATE public.slow_marker SET seconds = 600');

      let child: ChildProcess | undefined;
      const running = cli(['rollback', '--all', '--yes', '--migrations-dir', scratch.dir], { onSpawn: (c) => (child = c) });
      await waitUntil('the slow down is running', sleeping);
      child!.kill('SIGKILL');
      const killed = await running;
      expect(killed.signal).toBe('SIGKILL');
      // The server notices the dead client, rolls the half-done down back and frees the lock.
      await waitUntil('the killed session is gone', async () => !(await sleeping()));

      const status = await cli(['status', '--json', '--migrations-dir', scratch.dir]);
      expect(status.code, status.stderr).toBe(0);
      const report = parseJson<StatusReport>(status);
      expect(report.applied.map((a) => a.name)).toEqual([...MIGRATION_NAMES.slice(0, 2), SLOW_MIGRATION]);
      expect(report.pending).toEqual(MIGRATION_NAMES.slice(2));
      expect(report.drift).toEqual([]);
      expect(report.rls.policies).toBe(0);
      const now = await fingerprint(db.url, { includeDbkitSchema: true });
      expect(now.hash, describeDiff(boundary, now)).toBe(boundary.hash);

      await query(db.url, 'UPDATE public.slow_marker SET seconds = 0');
      const rerun = await cli(['rollback', '--all', '--yes', '--migrations-dir', scratch.dir, '--json']);
      expect(rerun.code, rerun.stderr).toBe(0);
      expect(parseJson<RollbackReport>(rerun).migrations.map((m) => m.name)).toEqual([SLOW_MIGRATION, MIGRATION_NAMES[1], MIGRATION_NAMES[0]]);
      expect(await appliedNames(db.url)).toEqual([]);
    } finally {
      scratch.cleanup();
    }
  });

  it('a rollback and an apply started together never interleave', async () => {
    const scratch = copyMigrations();
    try {
      scratch.add(SLOW_MIGRATION, SLOW_MIGRATION_SOURCE);
      const all = [...MIGRATION_NAMES.slice(0, 2), SLOW_MIGRATION, ...MIGRATION_NAMES.slice(2)];
      expect((await cli(['apply', '--no-backup', '--migrations-dir', scratch.dir])).code).toBe(0);
      await query(db.url, 'UPDATE public.slow_marker SET seconds = 3');
      const rollback = cli(['rollback', '--all', '--yes', '--migrations-dir', scratch.dir, '--json']);
      await waitUntil('the rollback is inside the slow down', sleeping);
      const apply = cli(['apply', '--migrations-dir', scratch.dir, '--json']);
      const [r, a] = await Promise.all([rollback, apply]);
      expect(r.code, r.stderr).toBe(0);
      expect(a.code, a.stderr).toBe(0);
      const rollbackReport = parseJson<RollbackReport>(r);
      const applyReport = parseJson<ApplyReport>(a);
      expect(rollbackReport.migrations.map((m) => [m.name, m.status])).toEqual([...all].reverse().map((n) => [n, 'reverted']));
      // apply waited for the lock: it saw the rollback's end state, not a half-way one
      expect(applyReport.pending).toEqual(all);
      expect(applyReport.migrations.map((m) => m.status)).toEqual(all.map(() => 'applied'));
      expect(await appliedNames(db.url)).toEqual(all);
    } finally {
      scratch.cleanup();
    }
  });
});

/** Runs the CLI in a pseudo-terminal (util-linux script) and answers its prompt. */
function inTerminal(args: string[], env: Record<string, string | undefined>, answer: string): Promise<{ code: number | null; output: string }> {
  const command = [process.execPath, BIN, ...args].map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(' ');
  const child = spawn('/usr/bin/script', ['-qec', command, '/dev/null'], { cwd: ROOT, env: Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined)) as Record<string, string>, stdio: ['pipe', 'pipe', 'pipe'] });
  let output = '';
  let answered = false;
  const onData = (chunk: Buffer) => {
    output += chunk.toString().replaceAll('\r', '');
    if (!answered && output.includes('Type "yes" to continue: ')) {
      answered = true;
      child.stdin.write(`${answer}\n`);
    }
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output: output.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '') }));
  });
}

function readdirIfExists(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

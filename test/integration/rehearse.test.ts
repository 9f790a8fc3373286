/**
 * dbkit rehearse on the rehearsal fixture set (test/fixtures/rehearse/), on PostgreSQL 17
 * (embedded) and 15 (DATABASE_URL): the locks, rewrites and scans of about fifteen known
 * behaviours, and the copy dropped afterwards with the target untouched.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cleanEnv, parseJson, runCli } from '../helpers/cli.ts';
import { createTestDatabase, query, testServers, type TestDatabase } from '../helpers/db.ts';
import { appliedNames, describeDiff, fingerprint } from '../helpers/schema.ts';
import { fixtureSubset, leftoverCopies, REHEARSE_FIXTURES } from '../helpers/rehearse.ts';
import { EXPECTED } from '../fixtures/rehearse/expected.ts';
import { strength, type LockMode } from '../../src/rehearse/locks.ts';
import type { RehearseReport } from '../../src/rehearse/rehearse.ts';
import type { MigrationRehearsal, StatementRehearsal } from '../../src/rehearse/model.ts';
import { connect } from '../../src/db/connect.ts';

function strongestOnExisting(statements: readonly StatementRehearsal[]): Record<string, LockMode> {
  const out: Record<string, LockMode> = {};
  for (const l of statements.flatMap((s) => s.locks)) {
    if (l.relation.createdHere || l.relation.kind !== 'table') continue;
    const seen = out[l.relation.name];
    if (!seen || strength(l.mode) > strength(seen)) out[l.relation.name] = l.mode;
  }
  return out;
}
const rewritten = (statements: readonly StatementRehearsal[]) => [...new Set(statements.flatMap((s) => s.rewrites).filter((r) => !r.relation.createdHere && r.relation.kind === 'table').map((r) => r.relation.name))].sort();
const scanned = (statements: readonly StatementRehearsal[]) => [...new Set(statements.flatMap((s) => s.scans).filter((r) => !r.relation.createdHere && r.rows > 0).map((r) => r.relation.name))].sort();

describe.each(testServers())('dbkit rehearse on $name', (server) => {
  let db: TestDatabase;
  beforeEach(async () => {
    db = await createTestDatabase(server, 'rh');
  });
  afterEach(async () => {
    await db.drop();
  });

  it('observes the locks, rewrites and scans of the known behaviours, on a copy it drops, leaving the target untouched', async () => {
    const before = await fingerprint(db.url, { includeDbkitSchema: true });
    const result = await runCli(['rehearse', '--db', db.url, '--migrations-dir', REHEARSE_FIXTURES, '--json'], { env: cleanEnv() });
    expect(result.code, result.stderr).toBe(0);
    const report = parseJson<RehearseReport>(result);
    expect(report.ranOn).toMatchObject({ kind: 'copy', copy: { kind: 'template', dropped: true } });
    expect(report.migrations.map((m) => m.status).every((s) => s === 'rehearsed')).toBe(true);
    const byName = new Map<string, MigrationRehearsal>(report.migrations.map((m) => [m.name, m]));
    for (const e of EXPECTED) {
      const m = byName.get(e.migration);
      expect(m, e.migration).toBeDefined();
      expect(strongestOnExisting(m!.statements), `${e.migration} locks`).toEqual(e.locks);
      expect(rewritten(m!.statements), `${e.migration} rewrites`).toEqual([...e.rewrite].sort());
      expect(scanned(m!.statements), `${e.migration} scans`).toEqual([...e.scan].sort());
      for (const [index, s] of Object.entries(e.statements ?? {})) expect(scanned([m!.statements[Number(index)]!]), `${e.migration} statement ${index} scans`).toEqual(s.scan);
    }
    // The rewrite read every row of the copy's table, and the report says so.
    const volatile = byName.get('003_add-column-volatile-default')!;
    expect(volatile.statements[0]!.rewrites.find((r) => r.relation.name === 'public.contents')?.rows).toBe(50_000);
    expect(volatile.summary[0]).toMatch(/^ACCESS EXCLUSIVE on public\.contents for [\d.]+ m?s \(rewrite, 50,000 rows; blocks reads and writes\)$/);
    // CONCURRENTLY runs outside a transaction: only the poller can see its lock.
    const concurrent = byName.get('005_create-index-concurrently')!;
    expect(concurrent.transactional).toBe(false);
    expect(concurrent.statements[0]!.locks.find((l) => l.mode === 'ShareUpdateExclusiveLock')?.observedBy).toEqual(['poll']);
    expect(concurrent.statements[0]!.scanMeasure).toBe('pg_stat_user_tables');
    // squawk's finding is linked to the statement, with a safer rewrite beside it.
    const index = byName.get('004_create-index')!.statements[0]!;
    expect(index.lint.map((f) => f.rule)).toContain('require-concurrent-index-creation');
    expect(index.advice.join(' ')).toMatch(/CONCURRENTLY/);
    expect(index.origin).toMatchObject({ kind: 'call', method: 'createIndex', line: 5 });

    expect(await leftoverCopies(server.adminUrl, db.name)).toEqual([]);
    const after = await fingerprint(db.url, { includeDbkitSchema: true });
    expect(after.hash, describeDiff(before, after)).toBe(before.hash);
    expect(await appliedNames(db.url)).toEqual([]);
  });

  it('fails on a --fail-on threshold (exit 51) and names what crossed it', async () => {
    const set = fixtureSubset(['001', '003', '004']);
    try {
      const result = await runCli(['rehearse', '--db', db.url, '--migrations-dir', set.dir, '--fail-on', 'rewrite,blocking-writes>0ms', '--json'], { env: cleanEnv() });
      expect(result.code, result.stderr).toBe(51);
      const report = parseJson<RehearseReport>(result);
      expect(report.error?.code).toBe('REHEARSAL_FAILED');
      expect(report.breaches.some((b) => b.startsWith('003_add-column-volatile-default: rewrote public.contents'))).toBe(true);
      expect(report.breaches.some((b) => /^004_create-index: SHARE on public\.contents held .* \(blocking-writes > 0 ms\)$/.test(b))).toBe(true);
      expect(await leftoverCopies(server.adminUrl, db.name)).toEqual([]);
    } finally {
      set.cleanup();
    }
  });

  it('reports a migration that fails on the copy (exit 51), skips the rest, and drops the copy', async () => {
    const set = fixtureSubset(['001'], {
      '002_broken.ts': "export const up = (pgm: any) => { pgm.sql('ALTER TABLE public.contents ADD COLUMN x int'); pgm.sql('ALTER TABLE public.nope ADD COLUMN y int'); };\nexport const down = (pgm: any) => { pgm.sql('ALTER TABLE public.contents DROP COLUMN x'); };\n",
      '003_after.ts': "export const up = (pgm: any) => { pgm.sql('SELECT 1'); };\nexport const down = () => {};\n",
    });
    try {
      const result = await runCli(['rehearse', '--db', db.url, '--migrations-dir', set.dir, '--json'], { env: cleanEnv() });
      expect(result.code, result.stderr).toBe(51);
      const report = parseJson<RehearseReport>(result);
      expect(report.migrations.map((m) => m.status)).toEqual(['rehearsed', 'failed', 'skipped']);
      expect(report.migrations[1]!.error).toMatch(/statement 2 failed: relation "public.nope" does not exist/);
      expect(report.error?.hint).toMatch(/nothing was applied to the target/);
      expect(await leftoverCopies(server.adminUrl, db.name)).toEqual([]);
      expect(await query(db.url, "SELECT to_regclass('public.contents') AS t")).toEqual([{ t: null }]);
    } finally {
      set.cleanup();
    }
  });

  it('--traffic: a reader and a writer on the touched table see the rewrite as a stall', async () => {
    const set = fixtureSubset(['001', '003']);
    try {
      const result = await runCli(['rehearse', '--db', db.url, '--migrations-dir', set.dir, '--traffic', '--json'], { env: cleanEnv() });
      expect(result.code, result.stderr).toBe(0);
      const report = parseJson<RehearseReport>(result);
      const m = report.migrations.find((x) => x.name === '003_add-column-volatile-default')!;
      const t = m.traffic?.find((t) => t.table === 'public.contents');
      expect(t, JSON.stringify(m.traffic)).toBeDefined();
      expect(t!.readerOps).toBeGreaterThan(0);
      expect(t!.writerOps).toBeGreaterThan(0);
      const held = m.statements[0]!.locks.find((l) => l.mode === 'AccessExclusiveLock')!.heldMs;
      // Both loops were blocked for (most of) the time ACCESS EXCLUSIVE was held.
      expect(t!.writerStallMs!).toBeGreaterThan(held * 0.5);
      expect(t!.readerStallMs!).toBeGreaterThan(held * 0.5);
      expect(m.summary[0]).toMatch(/; writers stalled [\d.]+ m?s, readers [\d.]+ m?s$/);
    } finally {
      set.cleanup();
    }
  });

  it('--on-target runs inside one transaction that is rolled back, and skips what cannot run in one', async () => {
    const set = fixtureSubset(['001']);
    try {
      const applied = await runCli(['apply', '--db', db.url, '--migrations-dir', set.dir, '--no-backup', '--json'], { env: cleanEnv() });
      expect(applied.code, applied.stderr).toBe(0);
      set.add(['002', '005']);
      const before = await fingerprint(db.url, { includeDbkitSchema: true });
      const result = await runCli(['rehearse', '--db', db.url, '--migrations-dir', set.dir, '--on-target', '--json'], { env: cleanEnv() });
      expect(result.code, result.stderr).toBe(0);
      const report = parseJson<RehearseReport>(result);
      expect(report.ranOn).toEqual({ kind: 'target', rolledBack: true, fingerprintUnchanged: true });
      expect(report.migrations.map((m) => m.status)).toEqual(['rehearsed', 'skipped']);
      expect(report.migrations[1]!.skippedReason).toMatch(/outside a transaction/);
      expect(report.migrations[0]!.summary).toEqual([expect.stringMatching(/^ACCESS EXCLUSIVE on public\.contents for [\d.]+ m?s \(blocks reads and writes\)$/)]);
      const after = await fingerprint(db.url, { includeDbkitSchema: true });
      expect(after.hash, describeDiff(before, after)).toBe(before.hash);
      expect(await appliedNames(db.url)).toEqual(['001_seed']);
    } finally {
      set.cleanup();
    }
  });

  it('drops again the server-wide roles a rehearsed migration created (the copy cannot hold them)', async () => {
    const role = `dbkit_rh_role_${db.name.slice(-8)}`;
    const set = fixtureSubset([], { '001_role.ts': `export const up = (pgm: any) => { pgm.sql('CREATE ROLE ${role} NOLOGIN'); };\nexport const down = (pgm: any) => { pgm.sql('DROP ROLE ${role}'); };\n` });
    try {
      const result = await runCli(['rehearse', '--db', db.url, '--migrations-dir', set.dir, '--json'], { env: cleanEnv() });
      expect(result.code, result.stderr).toBe(0);
      const report = parseJson<RehearseReport>(result);
      expect(report.ranOn).toMatchObject({ kind: 'copy', copy: { dropped: true, rolesCreated: [role], rolesDropped: [role] } });
      expect(await query(server.adminUrl, 'SELECT rolname FROM pg_roles WHERE rolname = $1', [role])).toEqual([]);
    } finally {
      set.cleanup();
    }
  });

  it('refuses --traffic with --on-target (its writers would write to the real database)', async () => {
    const result = await runCli(['rehearse', '--db', db.url, '--migrations-dir', REHEARSE_FIXTURES, '--on-target', '--traffic', '--json'], { env: cleanEnv() });
    expect(result.code).toBe(2);
    expect(parseJson<{ error: { message: string } }>(result).error.message).toMatch(/--traffic cannot be used with --on-target/);
  });

  it('drops the copy when interrupted (SIGINT) while rehearsing', async () => {
    const set = fixtureSubset(['001', '003', '010']);
    try {
      let sawCopy = false;
      const result = await runCli(['rehearse', '--db', db.url, '--migrations-dir', set.dir], {
        env: cleanEnv(),
        onSpawn: (child) => {
          const poll = setInterval(() => {
            void leftoverCopies(server.adminUrl, db.name).then((copies) => {
              if (copies.length > 0 && !sawCopy) {
                sawCopy = true;
                clearInterval(poll);
                setTimeout(() => child.kill('SIGINT'), 300);
              }
            });
          }, 50);
          child.on('exit', () => clearInterval(poll));
        },
      });
      expect(sawCopy).toBe(true);
      expect(result.code).toBe(130);
      expect(await leftoverCopies(server.adminUrl, db.name)).toEqual([]);
    } finally {
      set.cleanup();
    }
  });
});

describe.each(testServers())('dbkit rehearse --from backup on $name', (server) => {
  let db: TestDatabase;
  beforeEach(async () => {
    db = await createTestDatabase(server, 'rhbk');
  });
  afterEach(async () => {
    await db.drop();
  });

  it('restores the latest verified backup into a scratch database, and auto falls back to it when the target is busy', async () => {
    const set = fixtureSubset(['001']);
    const env = cleanEnv();
    try {
      expect((await runCli(['apply', '--db', db.url, '--migrations-dir', set.dir, '--no-backup'], { env })).code).toBe(0);
      const backup = await runCli(['backup', '--db', db.url, '--json'], { env });
      expect(backup.code, backup.stderr).toBe(0);
      const id = parseJson<{ backup: { id: string } }>(backup).backup.id;
      set.add(['003']);
      const result = await runCli(['rehearse', '--db', db.url, '--migrations-dir', set.dir, '--from', 'backup', '--json'], { env });
      expect(result.code, result.stderr).toBe(0);
      const report = parseJson<RehearseReport>(result);
      expect(report.ranOn).toMatchObject({ kind: 'copy', copy: { kind: 'backup', backupId: id, dropped: true } });
      expect(report.migrations.map((m) => [m.name, m.status])).toEqual([['003_add-column-volatile-default', 'rehearsed']]);
      expect(rewritten(report.migrations[0]!.statements)).toEqual(['public.contents']);
      // Alone, auto copies the target itself; with someone else connected that is impossible, and it uses the backup.
      const alone = parseJson<RehearseReport>(await runCli(['rehearse', '--db', db.url, '--migrations-dir', set.dir, '--json'], { env }));
      expect(alone.ranOn).toMatchObject({ kind: 'copy', copy: { kind: 'template', dropped: true } });
      const held = await connect(db.url);
      try {
        const fallback = parseJson<RehearseReport>(await runCli(['rehearse', '--db', db.url, '--migrations-dir', set.dir, '--json'], { env }));
        expect(fallback.ranOn).toMatchObject({ kind: 'copy', copy: { kind: 'backup', backupId: id, dropped: true } });
        const refused = await runCli(['rehearse', '--db', db.url, '--migrations-dir', set.dir, '--from', 'template', '--json'], { env });
        expect(refused.code).toBe(52);
        expect(parseJson<{ error: { message: string; hint: string } }>(refused).error.hint).toMatch(/--from backup/);
      } finally {
        await held.end();
      }
      expect(await appliedNames(db.url)).toEqual(['001_seed']);
    } finally {
      set.cleanup();
    }
  });
});

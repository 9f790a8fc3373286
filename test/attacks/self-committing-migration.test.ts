/**
 * Attack: a migration that commits on its own makes dbkit claim a state it did not verify.
 * `pgm.sql('COMMIT')` (or ROLLBACK) ends dbkit's transaction in the middle of the migration, and
 * `pgm.noTransaction()` runs every statement in its own: a later failure then leaves the first
 * statements in the database while dbkit used to print "was rolled back: the database is exactly
 * as it was before it", and the re-run failed with "already exists".
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseJson, runCli } from '../helpers/cli.ts';
import { createTestDatabase, query, testServers, type TestDatabase } from '../helpers/db.ts';
import { appliedNames, describeDiff, fingerprint } from '../helpers/schema.ts';
import { scratchFolder, type ScratchFolder } from '../helpers/folders.ts';
import type { StatusReport } from '../../src/commands/status.ts';
import type { ApplyReport } from '../../src/commands/apply.ts';

const FIRST = `exports.up = (pgm) => { pgm.sql('CREATE TABLE first_table (id int)'); };
exports.down = (pgm) => { pgm.sql('DROP TABLE first_table'); };
`;

const tableExists = async (url: string, table: string) => (await query<{ t: string | null }>(url, `SELECT to_regclass('public.${table}')::text AS t`))[0]?.t !== null;

describe.each(testServers())('a migration that commits on its own, on $name', (server) => {
  let db: TestDatabase;
  let folder: ScratchFolder;
  beforeEach(async () => {
    db = await createTestDatabase(server, 'atk');
  });
  afterEach(async () => {
    folder.cleanup();
    await db.drop();
  });

  for (const control of ['COMMIT', 'ROLLBACK', 'END', 'ABORT']) {
    it(`pgm.sql('${control}') is refused at pre-flight: nothing is changed and nothing is claimed`, async () => {
      folder = scratchFolder({
        '1_first.js': FIRST,
        '2_self_commit.js': `exports.up = (pgm) => { pgm.sql('CREATE TABLE half_done (id int)'); pgm.sql('${control}'); pgm.sql('SELECT 1/0'); };\nexports.down = (pgm) => { pgm.sql('DROP TABLE half_done'); };\n`,
      });
      const before = await fingerprint(db.url, { includeDbkitSchema: true });
      const result = await runCli(['apply', '--db', db.url, '--migrations-dir', folder.dir, '--no-backup'], { cwd: folder.root });
      expect(result.code, result.stderr).toBe(7);
      expect(result.stderr).toMatch(new RegExp(`2_self_commit\\.js: its up (commits|rolls back) \\((COMMIT/END|ROLLBACK/ABORT)\\) in step 2: ${control}`));
      expect(result.stderr).not.toContain('rolled back: the database is exactly as it was');
      expect(await tableExists(db.url, 'half_done')).toBe(false);
      expect(await tableExists(db.url, 'first_table')).toBe(false);
      const after = await fingerprint(db.url, { includeDbkitSchema: true });
      expect(after.hash, describeDiff(before, after)).toBe(before.hash);
    });
  }

  it('a COMMIT built only at run time (the migration reads the database) is stopped before any of it is sent', async () => {
    folder = scratchFolder({
      '1_first.js': FIRST,
      '2_reads.js': `exports.up = async (pgm) => { const rows = await pgm.db.select('SELECT 1 AS n'); pgm.sql('CREATE TABLE half_done (id int)'); if (rows.length) pgm.sql('COMMIT'); pgm.sql('SELECT 1/0'); };\nexports.down = (pgm) => { pgm.sql('DROP TABLE half_done'); };\n`,
    });
    const result = await runCli(['apply', '--db', db.url, '--migrations-dir', folder.dir, '--no-backup'], { cwd: folder.root });
    expect(result.code, result.stderr).toBe(7);
    expect(result.stderr).toContain('2_reads: its up commits (COMMIT/END) in step 2: COMMIT; nothing of it was run');
    expect(result.stderr).not.toContain('rolled back: the database is exactly as it was');
    expect(await tableExists(db.url, 'half_done')).toBe(false);
    expect(await appliedNames(db.url)).toEqual(['1_first']);
  });

  it('pgm.noTransaction() failing half-way says exactly what stayed, status marks it, and the fixed re-run clears the mark', async () => {
    const broken = `exports.up = (pgm) => { pgm.noTransaction(); pgm.sql('CREATE TABLE half_a (id int)'); pgm.sql('CREATE TABLE half_b (id int)'); pgm.sql('SELECT 1/0'); };\nexports.down = (pgm) => { pgm.noTransaction(); pgm.sql('DROP TABLE half_b'); pgm.sql('DROP TABLE half_a'); };\n`;
    folder = scratchFolder({ '1_first.js': FIRST, '2_outside.js': broken });
    const result = await runCli(['apply', '--db', db.url, '--migrations-dir', folder.dir], { cwd: folder.root });
    const output = result.stdout + result.stderr;
    expect(result.code, output).toBe(29);
    expect(output).toContain('warning: 2_outside runs outside a transaction (pgm.noTransaction())');
    expect(output).toContain('✗ 2_outside failed part-way outside a transaction: 2 step(s) stay applied');
    expect(output).toContain('migration 2_outside failed outside a transaction (pgm.noTransaction()) at step 3 of 3: division by zero');
    expect(output).toContain('its first 2 steps committed and stay in the database; step 3 and the rest did not run; 2_outside is not recorded as applied');
    expect(output).toMatch(/hint: the database is between states: dbkit status marks 2_outside\. Either restore the verified backup taken before it \(dbkit restore \S+ --in-place\), or finish or undo its first 2 steps by hand and run dbkit apply again/);
    expect(output).not.toContain('rolled back');
    // What it says is what is there.
    expect([await tableExists(db.url, 'half_a'), await tableExists(db.url, 'half_b')]).toEqual([true, true]);
    expect(await appliedNames(db.url)).toEqual(['1_first']);

    const status = await runCli(['status', '--db', db.url, '--migrations-dir', folder.dir, '--json'], { cwd: folder.root });
    expect(status.code).toBe(29);
    const marked = parseJson<StatusReport>(status).partial;
    expect(marked).toHaveLength(1);
    expect(marked[0]).toMatchObject({ name: '2_outside', direction: 'up', stepsCommitted: 2, stepsTotal: 3 });
    expect(marked[0]!.backupId).toMatch(/^\d{8}T\d{6}Z-/);

    // Run again unchanged: it fails at its first step now (what committed is in the way), and says the mark stands.
    const again = await runCli(['apply', '--db', db.url, '--migrations-dir', folder.dir, '--no-backup', '--json'], { cwd: folder.root });
    expect(again.code).toBe(11);
    expect(again.stderr).toContain('2_outside failed part-way outside a transaction on');
    expect(parseJson<ApplyReport>(again).error?.message).toContain('relation "half_a" already exists');
    expect(parseJson<StatusReport>(await runCli(['status', '--db', db.url, '--migrations-dir', folder.dir, '--json'], { cwd: folder.root })).partial).toHaveLength(1);

    // Recover by hand as the hint says: undo what committed, fix the migration, run again.
    await query(db.url, 'DROP TABLE half_a; DROP TABLE half_b');
    folder.write('2_outside.js', broken.replace("pgm.sql('SELECT 1/0'); ", ''));
    const fixed = await runCli(['apply', '--db', db.url, '--migrations-dir', folder.dir, '--no-backup'], { cwd: folder.root });
    expect(fixed.code, fixed.stderr).toBe(0);
    const clean = parseJson<StatusReport>(await runCli(['status', '--db', db.url, '--migrations-dir', folder.dir, '--json'], { cwd: folder.root }));
    expect(clean.partial).toEqual([]);
    expect(clean.error).toBeNull();
    expect(await appliedNames(db.url)).toEqual(['1_first', '2_outside']);
  });

  it('pgm.noTransaction() failing at its first step says nothing of it was applied, and is not marked', async () => {
    folder = scratchFolder({
      '1_first.js': FIRST,
      '2_outside.js': `exports.up = (pgm) => { pgm.noTransaction(); pgm.sql('SELECT 1/0'); pgm.sql('CREATE TABLE never (id int)'); };\nexports.down = false;\n`,
    });
    const result = await runCli(['apply', '--db', db.url, '--migrations-dir', folder.dir, '--no-backup', '--json'], { cwd: folder.root });
    expect(result.code).toBe(11);
    expect(parseJson<ApplyReport>(result).error?.hint).toBe('2_outside ran outside a transaction but failed at its first step: nothing of it was applied');
    expect(parseJson<StatusReport>(await runCli(['status', '--db', db.url, '--migrations-dir', folder.dir, '--json'], { cwd: folder.root })).partial).toEqual([]);
  });
});

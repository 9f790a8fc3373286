/**
 * The library ('dbkit', src/library.ts): one failure channel. A work function returns its report
 * when the work succeeded, and throws DbkitError (with the report of what was done) when not;
 * the reporter is optional.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyMigrations, DbkitError, loadConfig, readStatus, showTree, readCourseTree, type ApplyReport } from '../../src/index.ts';
import { createTestDatabase, testServers, type TestDatabase } from '../helpers/db.ts';
import { MIGRATIONS_DIR } from '../helpers/migrations.ts';

const cwd = mkdtempSync(path.join(tmpdir(), 'dbkit-library-'));
afterAll(() => rmSync(cwd, { recursive: true, force: true }));
const configFor = (url: string) => loadConfig({ cwd, env: { DATABASE_URL: url, DBKIT_MIGRATIONS_DIR: MIGRATIONS_DIR, DBKIT_STATE_DIR: path.join(cwd, '.dbkit') } });

describe('the library throws DbkitError on failure, with the report', () => {
  it('a connection failure throws DbkitError', async () => {
    const failing = applyMigrations(configFor('postgres://nobody@127.0.0.1:1/nothing'), { dryRun: true, backup: false });
    await expect(failing).rejects.toBeInstanceOf(DbkitError);
    await expect(failing).rejects.toMatchObject({ code: 'DB_UNREACHABLE' });
  });

  it('old names stay as aliases', () => {
    expect(showTree).toBe(readCourseTree);
  });
});

describe.each(testServers())('the library on a real database ($name)', (server) => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase(server, 'lib');
  });
  afterAll(async () => db?.drop());

  it('a migration that fails throws (it returned { ok: false, error } before), carrying the report of the run', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'dbkit-library-migrations-'));
    writeFileSync(path.join(dir, '1700000000000_divide.ts'), "export const up = (pgm: { sql(s: string): void }) => { pgm.sql('SELECT 1/0'); };\nexport const down = false;\n");
    try {
      const config = { ...configFor(db.url), migrationsDir: dir, lint: 'warn' as const };
      const error = await applyMigrations(config, { dryRun: false, backup: false }).then(() => null, (e: unknown) => e);
      expect(error).toBeInstanceOf(DbkitError);
      expect((error as DbkitError).code).toBe('MIGRATION_FAILED');
      const report = (error as DbkitError).report as ApplyReport;
      expect(report.command).toBe('apply');
      expect(report.ok).toBe(false);
      expect(report.migrations.map((m) => [m.name, m.status])).toEqual([['1700000000000_divide', 'failed']]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a successful call returns its report (error null), without a reporter', async () => {
    const status = await readStatus(configFor(db.url));
    expect(status.error).toBeNull();
    expect(status.database.name).toBe(db.name);
  });
});

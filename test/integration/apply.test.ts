/**
 * dbkit apply against real PostgreSQL servers (the embedded 17 cluster, and the external server
 * from DATABASE_URL): the CLI as users run it, and the database checked afterwards.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cleanEnv, parseJson, runCli, ROOT } from '../helpers/cli.ts';
import { createTestDatabase, query, testServers, type TestDatabase } from '../helpers/db.ts';
import { appliedNames, describeDiff, fingerprint } from '../helpers/schema.ts';
import { copyMigrations, MIGRATION_NAMES } from '../helpers/migrations.ts';
import type { ApplyReport } from '../../src/commands/apply.ts';
import type { StatusReport } from '../../src/commands/status.ts';

const BROWNFIELD = readFileSync(path.join(ROOT, 'test/fixtures/v070-brownfield.sql'), 'utf8');
const TABLES = ['minds', 'content_projects', 'contents', 'audience_profiles', 'content_minds', 'content_tags'];

async function tableRows(url: string): Promise<Record<string, unknown[]>> {
  const out: Record<string, unknown[]> = {};
  for (const t of TABLES) {
    // only the v0.7.0 columns: apply adds columns, it must not change existing values
    const rows = await query<{ r: Record<string, unknown> }>(url, `SELECT to_jsonb(t) AS r FROM public.${t} t`);
    out[t] = rows.map(({ r }) => Object.fromEntries(Object.entries(r).filter(([k]) => !['creator_mind_id', 'persona_mind_id'].includes(k) && !(k === 'created_at' && (t === 'content_minds' || t === 'content_tags'))))).map((r) => JSON.stringify(r)).sort();
  }
  return out;
}

describe.each(testServers())('dbkit apply on $name', (server) => {
  let db: TestDatabase;
  const env = () => cleanEnv({ DBKIT_BACKUP_DIR: undefined });
  beforeEach(async () => {
    db = await createTestDatabase(server);
  });
  afterEach(async () => {
    await db.drop();
  });

  it('applies the whole set on an empty database, with a verified backup and passing validation', async () => {
    const result = await runCli(['apply', '--db', db.url, '--json'], { env: env() });
    expect(result.code, result.stderr).toBe(0);
    const report = parseJson<ApplyReport>(result);
    expect(report.ok).toBe(true);
    expect(report.migrations.map((m) => [m.name, m.status])).toEqual(MIGRATION_NAMES.map((n) => [n, 'applied']));
    expect(report.backup?.verified).toBe(true);
    expect(report.backup?.strategy).toBe(server.name === 'embedded-17' ? 'template' : 'pg_dump');
    expect(report.validation.length).toBeGreaterThanOrEqual(10);
    expect(report.validation.filter((c) => !c.ok)).toEqual([]);
    expect(await appliedNames(db.url)).toEqual(MIGRATION_NAMES);
    const policies = await query<{ n: number }>(db.url, "SELECT count(*)::int AS n FROM pg_policies WHERE schemaname = 'public' AND tablename IN ('content_projects','contents','audience_profiles','content_minds','content_tags')");
    expect(policies[0]?.n).toBe(9);
    // the tracking tables are outside the API-exposed public schema
    const tracking = await query<{ schemaname: string }>(db.url, "SELECT schemaname FROM pg_tables WHERE tablename IN ('migrations', 'migration_checksums')");
    expect(tracking.map((t) => t.schemaname)).toEqual(['dbkit', 'dbkit']);
  });

  it('is a no-op the second time: nothing applied, no backup, schema unchanged', async () => {
    expect((await runCli(['apply', '--db', db.url, '--no-backup'], { env: env() })).code).toBe(0);
    const before = await fingerprint(db.url, { includeDbkitSchema: true });
    const again = await runCli(['apply', '--db', db.url, '--json'], { env: env() });
    expect(again.code, again.stderr).toBe(0);
    const report = parseJson<ApplyReport>(again);
    expect(report.pending).toEqual([]);
    expect(report.migrations).toEqual([]);
    expect(report.backup).toBeNull();
    expect(report.validation.every((c) => c.ok)).toBe(true);
    const after = await fingerprint(db.url, { includeDbkitSchema: true });
    expect(after.hash, describeDiff(before, after)).toBe(before.hash);
    const human = await runCli(['apply', '--db', db.url], { env: env() });
    expect(human.stdout).toContain('Nothing to apply');
  });

  it('adopts a brownfield v0.7.0 database and keeps every row', async () => {
    await query(db.url, BROWNFIELD);
    const rowsBefore = await tableRows(db.url);
    const result = await runCli(['apply', '--db', db.url, '--json'], { env: env() });
    expect(result.code, result.stderr).toBe(0);
    const report = parseJson<ApplyReport>(result);
    expect(report.ok).toBe(true);
    expect(report.backup?.verified).toBe(true);
    expect(await tableRows(db.url)).toEqual(rowsBefore);
    // the tables were adopted, not recreated: the ledger records no table creation for them
    const created = await query<{ name: string }>(db.url, "SELECT name FROM dbkit.provisioned_objects WHERE kind = 'table' AND name LIKE 'public.%'");
    expect(created).toEqual([]);
  });

  it('reports pending and applied migrations in dbkit status', async () => {
    const scratch = copyMigrations({ count: 2 });
    try {
      expect((await runCli(['apply', '--db', db.url, '--no-backup', '--migrations-dir', scratch.dir], { env: env() })).code).toBe(0);
      const result = await runCli(['status', '--db', db.url, '--json'], { env: env() });
      expect(result.code, result.stderr).toBe(0);
      const status = parseJson<StatusReport>(result);
      expect(status.applied.map((a) => a.name)).toEqual(MIGRATION_NAMES.slice(0, 2));
      expect(status.pending).toEqual(MIGRATION_NAMES.slice(2));
      expect(status.drift).toEqual([]);
      expect(status.rls.policies).toBe(0);
    } finally {
      scratch.cleanup();
    }
  });
});

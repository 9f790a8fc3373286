/**
 * dbkit lint (no database) and apply's lint pre-flight (on both servers): squawk findings mapped
 * to the migration file, the statement and the builder call; warn and block.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cleanEnv, parseJson, runCli } from '../helpers/cli.ts';
import { MIGRATION_NAMES } from '../helpers/migrations.ts';
import { createTestDatabase, testServers, type TestDatabase } from '../helpers/db.ts';
import { appliedNames } from '../helpers/schema.ts';
import { fixtureSubset, REHEARSE_FIXTURES } from '../helpers/rehearse.ts';
import type { LintReport } from '../../src/commands/lint.ts';
import type { ApplyReport } from '../../src/commands/apply.ts';

describe('dbkit lint', () => {
  it("lints dbkit's own CreatorOS migrations clean (with the exclusions of dbkit.config.json)", async () => {
    const result = await runCli(['lint', '--json'], { env: cleanEnv() });
    expect(result.code, result.stderr).toBe(0);
    const report = parseJson<LintReport>(result);
    expect(report.findings).toEqual([]);
    expect(report.summary.migrations).toBe(MIGRATION_NAMES.length);
    expect(report.settings.exclude).toEqual(['prefer-identity', 'require-statement-timeout', 'require-lock-timeout']);
  });

  it('names the file, the builder call, the statement and the rule with its documentation; --fail-on decides the exit code', async () => {
    const file = path.join(REHEARSE_FIXTURES, '004_create-index.ts');
    const result = await runCli(['lint', file, '--migrations-dir', REHEARSE_FIXTURES, '--json'], { env: cleanEnv() });
    expect(result.code).toBe(50);
    const report = parseJson<LintReport>(result);
    expect(report.error?.code).toBe('LINT_FAILED');
    expect(report.summary.migrations).toBe(1);
    const finding = report.findings.find((f) => f.rule === 'require-concurrent-index-creation');
    expect(finding).toMatchObject({
      migration: '004_create-index',
      file: 'test/fixtures/rehearse/migrations/004_create-index.ts',
      line: 5,
      statementIndex: 0,
      statement: 'CREATE INDEX "contents_qty_idx" ON "contents" ("qty");',
      origin: { kind: 'call', method: 'createIndex', line: 5 },
      level: 'warning',
      url: 'https://squawkhq.com/docs/require-concurrent-index-creation',
    });
    const lenient = await runCli(['lint', file, '--migrations-dir', REHEARSE_FIXTURES, '--fail-on', 'error'], { env: cleanEnv() });
    expect(lenient.code, lenient.stderr).toBe(0);
    expect(lenient.stdout).toContain('test/fixtures/rehearse/migrations/004_create-index.ts:5 warning require-concurrent-index-creation');
    expect(lenient.stdout).toContain('https://squawkhq.com/docs/require-concurrent-index-creation');
  });

  it('assumes a transaction except for noTransaction() migrations, unless told otherwise', async () => {
    const file = path.join(REHEARSE_FIXTURES, '005_create-index-concurrently.ts');
    const auto = parseJson<LintReport>(await runCli(['lint', file, '--migrations-dir', REHEARSE_FIXTURES, '--json', '--fail-on', 'never'], { env: cleanEnv() }));
    expect(auto.findings.map((f) => f.rule)).not.toContain('ban-concurrent-index-creation-in-transaction');
    const forced = parseJson<LintReport>(await runCli(['lint', file, '--migrations-dir', REHEARSE_FIXTURES, '--json', '--fail-on', 'never', '--assume-transaction', 'yes'], { env: cleanEnv() }));
    expect(forced.findings.map((f) => f.rule)).toContain('ban-concurrent-index-creation-in-transaction');
  });

  it('excludes rules from the flag and the environment, and writes SARIF', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'dbkit-sarif-'));
    try {
      const sarif = path.join(dir, 'lint.sarif');
      const result = await runCli(['lint', '--migrations-dir', REHEARSE_FIXTURES, '--json', '--sarif', sarif, '--exclude', 'prefer-bigint-over-int'], {
        env: cleanEnv({ DBKIT_LINT_PG_VERSION: '15' }),
      });
      const report = parseJson<LintReport>(result);
      expect(report.settings.pgVersion).toBe('15');
      expect(report.findings.map((f) => f.rule)).not.toContain('prefer-bigint-over-int');
      expect(report.findings.length).toBeGreaterThan(5);
      const doc = JSON.parse(readFileSync(sarif, 'utf8')) as { version: string; runs: { results: { ruleId: string; locations: { physicalLocation: { artifactLocation: { uri: string }; region?: { startLine: number } } }[] }[] }[] };
      expect(doc.version).toBe('2.1.0');
      expect(doc.runs[0]!.results).toHaveLength(report.findings.length);
      const index = doc.runs[0]!.results.find((r) => r.ruleId === 'require-concurrent-index-creation')!;
      expect(index.locations[0]!.physicalLocation).toEqual({ artifactLocation: { uri: 'test/fixtures/rehearse/migrations/004_create-index.ts' }, region: { startLine: 5 } });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a file that is not a migration, and a bad setting, with one line each', async () => {
    const missing = await runCli(['lint', 'nope.ts', '--migrations-dir', REHEARSE_FIXTURES], { env: cleanEnv() });
    expect(missing.code).toBe(15);
    expect(missing.stderr).toMatch(/not a migration in .*: nope\.ts/);
    const bad = await runCli(['lint', '--migrations-dir', REHEARSE_FIXTURES], { env: cleanEnv({ DBKIT_LINT_EXCLUDE: 'Not A Rule' }) });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/DBKIT_LINT_EXCLUDE: not a squawk rule name: Not A Rule/);
    const noSquawk = await runCli(['lint', '--migrations-dir', REHEARSE_FIXTURES], { env: cleanEnv({ DBKIT_SQUAWK: '/nonexistent/squawk' }) });
    expect(noSquawk.code).toBe(53);
    expect(noSquawk.stderr).toMatch(/squawk at \/nonexistent\/squawk \(DBKIT_SQUAWK\) does not run/);
    expect(existsSync(path.join(REHEARSE_FIXTURES, 'nope.ts'))).toBe(false);
  });
});

describe.each(testServers())("apply's lint pre-flight and --rehearse on $name", (server) => {
  let db: TestDatabase;
  beforeEach(async () => {
    db = await createTestDatabase(server, 'lint');
  });
  afterEach(async () => {
    await db.drop();
  });

  it('warns by default and applies', async () => {
    const set = fixtureSubset(['001', '004']);
    try {
      const result = await runCli(['apply', '--db', db.url, '--migrations-dir', set.dir, '--no-backup', '--json'], { env: cleanEnv() });
      expect(result.code, result.stderr).toBe(0);
      const report = parseJson<ApplyReport>(result);
      expect(report.lint.map((f) => f.rule)).toContain('require-concurrent-index-creation');
      expect(result.stderr).toMatch(/warning: lint: .*004_create-index\.ts:5 warning require-concurrent-index-creation/);
      expect(await appliedNames(db.url)).toEqual(['001_seed', '004_create-index']);
    } finally {
      set.cleanup();
    }
  });

  it('with lint "block" fails with exit 7 and applies nothing', async () => {
    const set = fixtureSubset(['001', '004']);
    try {
      const result = await runCli(['apply', '--db', db.url, '--migrations-dir', set.dir, '--no-backup', '--json'], { env: cleanEnv({ DBKIT_LINT: 'block' }) });
      expect(result.code).toBe(7);
      const report = parseJson<{ error: { code: string; message: string; hint: string } }>(result);
      expect(report.error.code).toBe('PREFLIGHT_FAILED');
      expect(report.error.message).toMatch(/require-concurrent-index-creation/);
      expect(report.error.hint).toMatch(/Nothing was applied/);
      expect(await appliedNames(db.url)).toEqual([]);
    } finally {
      set.cleanup();
    }
  });

  it('with lint "off" does not lint and applies', async () => {
    const set = fixtureSubset(['001', '004']);
    try {
      const result = await runCli(['apply', '--db', db.url, '--migrations-dir', set.dir, '--no-backup', '--json'], { env: cleanEnv({ DBKIT_LINT: 'off', DBKIT_SQUAWK: '/nonexistent/squawk' }) });
      expect(result.code, result.stderr).toBe(0);
      expect(parseJson<ApplyReport>(result).lint).toEqual([]);
      expect(result.stderr).not.toMatch(/lint/);
      expect(await appliedNames(db.url)).toEqual(['001_seed', '004_create-index']);
    } finally {
      set.cleanup();
    }
  });

  it('--rehearse applies nothing when the rehearsal crosses --fail-on (exit 51), and applies when it passes', async () => {
    const set = fixtureSubset(['001', '003']);
    try {
      const refused = await runCli(['apply', '--db', db.url, '--migrations-dir', set.dir, '--no-backup', '--rehearse', '--fail-on', 'rewrite', '--json'], { env: cleanEnv() });
      expect(refused.code, refused.stderr).toBe(51);
      const report = parseJson<ApplyReport>(refused);
      expect(report.rehearsal?.breaches).toEqual(['003_add-column-volatile-default: rewrote public.contents']);
      expect(report.migrations).toEqual([]);
      expect(await appliedNames(db.url)).toEqual([]);
      const passed = await runCli(['apply', '--db', db.url, '--migrations-dir', set.dir, '--no-backup', '--rehearse', '--fail-on', 'blocking-reads>10m', '--json'], { env: cleanEnv() });
      expect(passed.code, passed.stderr).toBe(0);
      expect(parseJson<ApplyReport>(passed).rehearsal?.ok).toBe(true);
      expect(await appliedNames(db.url)).toEqual(['001_seed', '003_add-column-volatile-default']);
    } finally {
      set.cleanup();
    }
  });
});

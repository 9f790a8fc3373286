import { beforeAll, describe, expect, it } from 'vitest';
import { initSqlParser, splitStatements, positionOf } from '../../../src/migrations/statements.ts';
import { callSite } from '../../../src/migrations/render-statements.ts';
import { lintText, toFindings } from '../../../src/lint/model.ts';
import type { MigrationSql } from '../../../src/migrations/statements.ts';

beforeAll(async () => {
  await initSqlParser();
});

describe('splitStatements', () => {
  it('cuts on statement boundaries only: not inside strings, dollar quotes or comments', () => {
    const text = "-- lead comment\nCREATE TABLE t (a text DEFAULT 'x;y');\n/* c; */ DO $b$ BEGIN PERFORM 1; END $b$;\nSELECT 'é;' AS e";
    expect(splitStatements(text).map((s) => s.sql)).toEqual(["CREATE TABLE t (a text DEFAULT 'x;y');", 'DO $b$ BEGIN PERFORM 1; END $b$;', "SELECT 'é;' AS e;"]);
  });

  it('gives character offsets even after multi-byte characters', () => {
    const text = "SELECT 'ééé';\nSELECT 2;";
    const [, second] = splitStatements(text);
    expect(text.slice(second!.offset)).toBe('SELECT 2;');
    expect(positionOf(text, second!.offset)).toEqual({ line: 2, column: 1 });
  });

  it('returns text it cannot parse whole, as one statement', () => {
    expect(splitStatements('  SELEC oops; SELECT 1')).toEqual([{ sql: 'SELEC oops; SELECT 1', offset: 2 }]);
    expect(splitStatements('   ')).toEqual([]);
  });
});

describe('callSite', () => {
  it('takes the innermost frame inside the migration file', () => {
    const stack = ['Error', '    at wrapped (/app/node_modules/x.js:1:1)', '    at helper (/app/migrations/support/provision.ts:40:7)', '    at Proxy.up (/app/migrations/001_a.ts:12:3)', '    at run (/app/x.js:2:2)'].join('\n');
    expect(callSite(stack, '/app/migrations/001_a.ts')).toEqual({ line: 12, column: 3 });
    expect(callSite(stack, '/elsewhere.ts')).toEqual({ line: null, column: null });
  });
});

describe('lint mapping', () => {
  const migration: MigrationSql = {
    name: '001_a',
    file: '/p/migrations/001_a.ts',
    transactional: true,
    statements: [
      { index: 0, sql: 'CREATE TABLE t (\n  a int\n);', origin: { kind: 'call', file: '/p/migrations/001_a.ts', method: 'createTable', line: 4, column: 3 } },
      { index: 1, sql: 'CREATE INDEX i ON t (a);', origin: { kind: 'call', file: '/p/migrations/001_a.ts', method: 'createIndex', line: 9, column: 3 } },
    ],
  };

  it('wraps a transactional migration in BEGIN/COMMIT and knows where each statement starts', () => {
    expect(lintText(migration, true)).toEqual({ text: 'BEGIN;\n\nCREATE TABLE t (\n  a int\n);\n\nCREATE INDEX i ON t (a);\n\nCOMMIT;', startLines: [3, 7] });
    expect(lintText(migration, false).startLines).toEqual([1, 5]);
  });

  it("maps squawk's 0-based lines to the statement and its builder call", () => {
    const findings = toFindings(migration, 'migrations/001_a.ts', [3, 7], [
      { file: 'x', line: 6, column: 0, level: 'Warning', message: 'm', help: null, rule_name: 'require-concurrent-index-creation' },
      { file: 'x', line: 3, column: 2, level: 'Error', message: 'n', help: 'h', rule_name: 'prefer-bigint-over-int' },
      { file: 'x', line: 0, column: 0, level: 'Warning', message: 'o', rule_name: 'require-statement-timeout' },
    ]);
    expect(findings.map((f) => [f.rule, f.statementIndex, f.line, f.level, f.origin.file])).toEqual([
      ['require-concurrent-index-creation', 1, 9, 'warning', 'migrations/001_a.ts'],
      ['prefer-bigint-over-int', 0, 4, 'error', 'migrations/001_a.ts'],
      ['require-statement-timeout', 0, 4, 'warning', 'migrations/001_a.ts'],
    ]);
    expect(findings[0]!.url).toBe('https://squawkhq.com/docs/require-concurrent-index-creation');
  });

  it('for an SQL file, points at the line inside the statement', () => {
    const sqlFile: MigrationSql = { ...migration, statements: migration.statements.map((s, i) => ({ ...s, origin: { kind: 'sql-file', file: 'a.sql', line: i === 0 ? 1 : 5, column: 1 } })) };
    const [f] = toFindings(sqlFile, 'a.sql', [1, 5], [{ file: 'x', line: 1, column: 2, level: 'Warning', message: 'm', rule_name: 'prefer-bigint-over-int' }]);
    expect(f!.line).toBe(2);
  });
});

import { beforeAll, describe, expect, it } from 'vitest';
import { loadSqlParser, parseSqlSync } from '../../src/core/sql-parse.ts';
import { guardKeyFor, guardSql, isGuardWait } from '../../src/migrations/exactly-once.ts';
import { lockKeyFor } from '../../src/db/scoped.ts';

const settings = { databaseName: 'app', lockWaitMs: 60_000, lockTimeoutMs: 5_000, statementTimeoutMs: 0 };

describe('guardSql', () => {
  beforeAll(async () => {
    await loadSqlParser();
  });

  it('is one DO statement, whatever the migration name holds', () => {
    for (const name of ['001_plain', "002_it's", '003_$dbkit_guard$_end', '004_$dbkit_guard$$dbkit_guard_1$']) {
      const sql = guardSql({ name }, 'up', settings, ['000_first', name]);
      const tree = parseSqlSync(sql) as { stmts: { stmt: Record<string, unknown> }[] };
      expect(tree.stmts, name).toHaveLength(1);
      expect(Object.keys(tree.stmts[0]!.stmt), name).toEqual(['DoStmt']);
      expect(isGuardWait({ code: '55P03' }, sql)).toBe(true);
    }
  });

  it('locks a key of its own, not the session lock', () => {
    expect(guardKeyFor('app')).not.toEqual(lockKeyFor('app'));
    expect(guardKeyFor('app')[1]).toBe(lockKeyFor('app')[1]);
    expect(guardSql({ name: 'x' }, 'up', settings, ['x'])).toContain(`pg_advisory_xact_lock(${guardKeyFor('app').join(', ')})`);
  });

  it('an up checks the earlier migrations are applied, a down that no later one is', () => {
    const folder = ['001_a', '002_b', '003_c'];
    expect(guardSql({ name: '002_b' }, 'up', settings, folder)).toMatch(/ARRAY\['001_a'\]::text\[\]\)\) <> 1/);
    expect(guardSql({ name: '002_b' }, 'down', settings, folder)).toMatch(/ARRAY\['003_c'\]::text\[\]\)\) > 0/);
  });
});

import { describe, expect, it, beforeAll } from 'vitest';
import { loadSqlParser } from '../../../src/core/sql-parse.ts';
import { splitSql } from '../../../src/core/sql-split.ts';
import { nodePgMigrateSections, parseSqlMigration, supabaseFileName, supabaseHistoryStatements, supabaseSkipsAsInit } from '../../../src/migrations/sql-file.ts';
import { checkSteps } from '../../../src/migrations/sql-guard.ts';

beforeAll(() => loadSqlParser());

describe('splitSql', () => {
  it('cuts statements with the real parser: dollar quotes, strings and comments hold semicolons', () => {
    const split = splitSql("-- lead\nCREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $$ BEGIN RETURN 1; END $$;\nSELECT ';' AS x; /* c; */ SELECT 'é';\n-- tail\n");
    expect(split).toEqual({
      ok: true,
      statements: [
        { text: '-- lead\nCREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $$ BEGIN RETURN 1; END $$', line: 1, transaction: null },
        { text: "SELECT ';' AS x", line: 3, transaction: null },
        { text: "/* c; */ SELECT 'é'", line: 3, transaction: null },
      ],
      trailing: '-- tail',
    });
  });

  it('names transaction control, whatever it is spelled as', () => {
    const kinds = (sql: string) => (splitSql(sql) as { statements: { transaction: string | null }[] }).statements.map((s) => s.transaction);
    expect(kinds('BEGIN; START TRANSACTION; COMMIT; END; ROLLBACK; ABORT; COMMIT AND CHAIN; PREPARE TRANSACTION \'x\'; COMMIT PREPARED \'x\'; ROLLBACK PREPARED \'x\'')).toEqual([
      'begin',
      'begin',
      'commit',
      'commit',
      'rollback',
      'rollback',
      'commit',
      'prepare-transaction',
      'commit-prepared',
      'rollback-prepared',
    ]);
    expect(kinds('SAVEPOINT a; ROLLBACK TO SAVEPOINT a; RELEASE a; SELECT 1')).toEqual([null, null, null, null]);
  });

  it('returns a syntax error with its line instead of throwing', () => {
    expect(splitSql('SELECT 1;\nSELEC 2;')).toMatchObject({ ok: false, line: 2 });
    expect(splitSql('  \n ')).toEqual({ ok: true, statements: [], trailing: '' });
  });
});

describe("node-pg-migrate's SQL format", () => {
  it('splits up and down at the markers exactly as node-pg-migrate does (markers stay in the text)', () => {
    const file = 'header\n-- Up Migration\nCREATE TABLE a ();\n-- Down Migration\nDROP TABLE a;\n';
    const sections = nodePgMigrateSections(file);
    expect(sections.up.text).toBe('-- Up Migration\nCREATE TABLE a ();\n');
    expect(sections.down?.text).toBe('-- Down Migration\nDROP TABLE a;\n');
    expect(sections.down?.lineOffset).toBe(3);
  });

  it('accepts node-pg-migrate spellings of the markers, in either order', () => {
    const sections = nodePgMigrateSections('  --- down   MIGRATION\nDROP TABLE a;\n--up migration\nCREATE TABLE a ();');
    expect(sections.up.text).toBe('--up migration\nCREATE TABLE a ();');
    expect(sections.down?.text).toBe('  --- down   MIGRATION\nDROP TABLE a;\n');
  });

  it('without markers, the whole file is the up and there is no down', () => {
    const parsed = parseSqlMigration('CREATE TABLE a ();\nCREATE TABLE b ();', 'node-pg-migrate');
    expect(parsed).toMatchObject({ ok: true, down: null });
    expect(parsed.ok && parsed.up.statements.map((s) => s.text)).toEqual(['CREATE TABLE a ()', 'CREATE TABLE b ()']);
  });

  it('refuses a down marker without an up marker (node-pg-migrate would run the down inside the up)', () => {
    expect(parseSqlMigration('CREATE TABLE a ();\n-- Down Migration\nDROP TABLE a;', 'node-pg-migrate')).toMatchObject({ ok: false, direction: 'up' });
  });

  it('reports statements with their line in the file', () => {
    const parsed = parseSqlMigration('-- Up Migration\nCREATE TABLE a ();\n\n-- Down Migration\n\nDROP TABLE a;\n', 'node-pg-migrate');
    expect(parsed.ok && parsed.down?.statements).toEqual([{ text: '-- Down Migration\n\nDROP TABLE a', line: 4, transaction: null }]);
    expect(parseSqlMigration('-- Up Migration\nCREATE TABLE a ();\n-- Down Migration\nDROP TABLEX a;', 'node-pg-migrate')).toMatchObject({ ok: false, direction: 'down', line: 4 });
  });

  it('drops a BEGIN ... COMMIT around a whole part (dbkit runs it in one transaction), and keeps any other transaction control for pre-flight', () => {
    const wrapped = parseSqlMigration('BEGIN;\nCREATE TABLE a ();\nCOMMIT;\n', 'supabase');
    expect(wrapped.ok && wrapped.up).toEqual({ statements: [{ text: 'CREATE TABLE a ()', line: 2, transaction: null }], unwrapped: true });
    const middle = parseSqlMigration('CREATE TABLE a ();\nCOMMIT;\nCREATE TABLE b ();', 'supabase');
    expect(middle.ok && middle.up.statements.map((s) => s.transaction)).toEqual([null, 'commit', null]);
  });
});

describe('Supabase CLI migrations', () => {
  it('reads version and name from the file name as the CLI does', () => {
    expect(supabaseFileName('20240101120000_create_users.sql')).toEqual({ version: '20240101120000', name: 'create_users' });
    expect(supabaseFileName('1_a_b.sql')).toEqual({ version: '1', name: 'a_b' });
    expect(supabaseFileName('20240101120000.sql')).toBeNull();
    expect(supabaseFileName('create.sql')).toBeNull();
    expect(supabaseFileName('20240101120000_x.SQL')).toBeNull();
  });

  it('skips only early init dumps', () => {
    expect(supabaseSkipsAsInit('20211208235959_init.sql')).toBe(true);
    expect(supabaseSkipsAsInit('20211209000000_init.sql')).toBe(false);
    expect(supabaseSkipsAsInit('20211208235959_initial.sql')).toBe(false);
  });

  it('is up-only: the whole file, markers or not', () => {
    const parsed = parseSqlMigration('-- Up Migration\ncreate table a ();\n-- Down Migration\ndrop table a;', 'supabase');
    expect(parsed.ok && parsed.down).toBeNull();
    expect(parsed.ok && parsed.up.statements.map((s) => s.text)).toEqual(['-- Up Migration\ncreate table a ()', '-- Down Migration\ndrop table a']);
  });

  it('records statements as the CLI splits them: trimmed, comments kept, a trailing comment its own', () => {
    expect(supabaseHistoryStatements('create table a ();\n\n-- b\ncreate table b ();;\n-- end\n')).toEqual(['create table a ()', '-- b\ncreate table b ()', '-- end']);
    expect(supabaseHistoryStatements('begin;\nselect 1;\ncommit;')).toEqual(['begin', 'select 1', 'commit']);
  });
});

describe('checkSteps (the SQL a typed migration builds)', () => {
  it('finds COMMIT and ROLLBACK inside a step, and names the step', () => {
    expect(checkSteps(['CREATE TABLE a ();', 'INSERT INTO a DEFAULT VALUES; COMMIT;']).control).toEqual({ step: 2, statement: 'COMMIT', control: 'commit' });
    expect(checkSteps(["SELECT 'COMMIT';", '-- ROLLBACK\nSELECT 1;']).control).toBeNull();
    expect(checkSteps(['DO $$ BEGIN PERFORM 1; END $$;']).control).toBeNull();
  });

  it('lists steps it cannot parse instead of guessing', () => {
    expect(checkSteps(['SELEC 1;'])).toMatchObject({ control: null, unparsable: [{ step: 1 }] });
  });
});

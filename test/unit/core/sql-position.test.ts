import { describe, expect, it } from 'vitest';
import { lineAndColumn, locateInStatement } from '../../../src/core/sql-position.ts';

describe('lineAndColumn', () => {
  it('turns a 1-based offset into line and column', () => {
    const sql = 'CREATE TABLE a (id int);\nCREAT TABLE b (id int);';
    expect(lineAndColumn(sql, 1)).toEqual({ line: 1, column: 1, text: 'CREATE TABLE a (id int);' });
    expect(lineAndColumn(sql, 26)).toEqual({ line: 2, column: 1, text: 'CREAT TABLE b (id int);' });
    expect(lineAndColumn(sql, 32)).toEqual({ line: 2, column: 7, text: 'CREAT TABLE b (id int);' });
  });

  it('points at the newline itself as the end of its line', () => {
    expect(lineAndColumn('ab\ncd', 3)).toEqual({ line: 1, column: 3, text: 'ab' });
  });

  it('counts characters as Postgres does, not UTF-16 units', () => {
    // PostgreSQL 15 reports position 17 for "nope" here (checked with node-postgres)
    const sql = "SELECT '😀' FROM nope";
    expect(lineAndColumn(sql, 17)).toEqual({ line: 1, column: 17, text: sql });
    expect([...sql][16]).toBe('n');
  });

  it('treats 0 as the start', () => {
    expect(lineAndColumn('x\ny', 0)).toEqual({ line: 1, column: 1, text: 'x' });
  });
});

describe('locateInStatement', () => {
  it('shows the line with a caret under the column', () => {
    expect(locateInStatement('SELECT 1;\n  SELEC 2;', 13)).toBe('  at line 2, column 3 of the statement:\n      SELEC 2;\n      ^');
  });
});

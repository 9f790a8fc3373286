import { beforeAll, describe, expect, it } from 'vitest';
import { initSqlParser, statementTree } from '../../../src/migrations/statements.ts';
import { addedConstraints, adviceFor, statementKind } from '../../../src/rehearse/advice.ts';
import { namedRelations } from '../../../src/rehearse/touched.ts';
import type { LockHeld, RelationRef } from '../../../src/rehearse/model.ts';

beforeAll(async () => {
  await initSqlParser();
});

const contents: RelationRef = { oid: 16400, name: 'public.contents', kind: 'table', createdHere: false };
const lock = (mode: LockHeld['mode']): LockHeld => ({ mode, relation: contents, heldMs: 10, statementIndex: 0, observedBy: ['snapshot'], waited: false });

function advise(sql: string, observed: { locks?: LockHeld[]; rewrite?: boolean; scan?: boolean }) {
  const tree = statementTree(sql);
  return adviceFor({ kind: statementKind(tree), locks: observed.locks ?? [], rewrites: observed.rewrite ? [{ relation: contents, rows: 10 }] : [], scans: observed.scan ? [{ relation: contents, scans: 1, rows: 10 }] : [] }, tree);
}

describe('statement kinds', () => {
  it('names the node and the ALTER TABLE sub-commands', () => {
    expect(statementKind(statementTree('ALTER TABLE t ADD COLUMN a int, ALTER COLUMN b SET NOT NULL'))).toBe('AlterTableStmt:AT_AddColumn,AT_SetNotNull');
    expect(statementKind(statementTree('CREATE INDEX CONCURRENTLY i ON t (a)'))).toBe('IndexStmt:concurrent');
    expect(statementKind(null)).toBe('unparsed');
    expect(addedConstraints(statementTree('ALTER TABLE t ADD CONSTRAINT f FOREIGN KEY (a) REFERENCES u (id) NOT VALID'))).toEqual([{ type: 'CONSTR_FOREIGN', notValid: true }]);
  });
});

describe('safer rewrites, from what was observed', () => {
  it('CREATE INDEX that blocked writes: CONCURRENTLY', () => {
    expect(advise('CREATE INDEX i ON items (a)', { locks: [lock('ShareLock')], scan: true })[0]).toMatch(/^CREATE INDEX CONCURRENTLY/);
  });
  it('a foreign key that scanned: NOT VALID then VALIDATE; none once NOT VALID is used', () => {
    expect(advise('ALTER TABLE items ADD CONSTRAINT f FOREIGN KEY (a) REFERENCES accounts (id)', { locks: [lock('ShareRowExclusiveLock')], scan: true })).toEqual([expect.stringMatching(/NOT VALID \(no scan\), then VALIDATE CONSTRAINT/)]);
    expect(advise('ALTER TABLE items ADD CONSTRAINT f FOREIGN KEY (a) REFERENCES accounts (id) NOT VALID', { locks: [lock('ShareRowExclusiveLock')] })).toEqual([]);
  });
  it('a type change that rewrote, and one that did not', () => {
    expect(advise('ALTER TABLE items ALTER COLUMN a TYPE bigint', { locks: [lock('AccessExclusiveLock')], rewrite: true })).toEqual([expect.stringMatching(/^add a new column of the new type/)]);
    expect(advise('ALTER TABLE items ALTER COLUMN n TYPE varchar(100)', { locks: [lock('AccessExclusiveLock')] })).toEqual([]);
  });
  it('ANALYZE is not VACUUM FULL', () => {
    expect(advise('ANALYZE items', {})).toEqual([]);
  });
});

describe('tables a migration names', () => {
  it('from the parse tree, and qualified names inside DO blocks', () => {
    expect(namedRelations('ALTER TABLE public.items ADD CONSTRAINT f FOREIGN KEY (a) REFERENCES accounts (id)')).toEqual([{ schema: 'public', name: 'items' }, { schema: null, name: 'accounts' }]);
    expect(namedRelations('ALTER TABLE "We""ird" ADD COLUMN x int')).toEqual([{ schema: null, name: 'We"ird' }]);
    expect(namedRelations("DO $$ BEGIN EXECUTE 'ALTER TABLE Public.Contents ADD COLUMN x int'; END $$")).toEqual([{ schema: 'public', name: 'contents' }]);
  });
});

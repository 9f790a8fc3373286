/**
 * A migration that builds a policy with createPolicySql (dbkit/migrate) run by the plain
 * node-pg-migrate CLI, as a teammate without dbkit would: it fails saying how to load the parser,
 * before anything of it runs; written to load the parser itself, it applies.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, query, testServers, type TestDatabase } from '../helpers/db.ts';
import { applySupabaseCompat, copyMigrations } from '../helpers/migrations.ts';
import { nodePgMigrate } from '../helpers/plain-tools.ts';

const policyMigration = (loadsParser: boolean) => `import { createPolicySql${loadsParser ? ', loadSqlParser' : ''} } from 'dbkit/migrate';
const policy = { name: 'notes_mine', table: 'public.notes', command: 'ALL', permissive: true, roles: ['authenticated'],
  using: 'owner = (select auth.uid())', withCheck: 'owner = (select auth.uid())', why: 'owners only' };
export ${loadsParser ? 'async ' : ''}function up(pgm) {
  ${loadsParser ? 'await loadSqlParser();' : ''}
  pgm.sql('CREATE TABLE public.notes (id int PRIMARY KEY, owner uuid NOT NULL)');
  pgm.sql('ALTER TABLE public.notes ENABLE ROW LEVEL SECURITY');
  pgm.sql(createPolicySql(policy));
}
export function down(pgm) { pgm.sql('DROP TABLE public.notes'); }
`;

describe.each(testServers())('createPolicySql under the plain node-pg-migrate CLI, on $name', (server) => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase(server, 'plainpol');
    await applySupabaseCompat(db.url);
  });
  afterAll(async () => db?.drop());

  for (const loadsParser of [false, true]) {
    it(loadsParser ? 'a migration that awaits loadSqlParser() applies, policy included' : 'without the parser: one message saying how to load it, nothing of the migration applied', async () => {
      const folder = copyMigrations({ count: 0 });
      try {
        folder.add('20990101000000_notes', policyMigration(loadsParser));
        const result = await nodePgMigrate(db.url, ['up', '-m', folder.dir, '-t', 'plain_history', '--no-verbose'], folder.root);
        const tables = await query<{ n: number }>(db.url, "SELECT count(*)::int AS n FROM pg_class WHERE oid = to_regclass('public.notes')");
        if (!loadsParser) {
          expect(result.code, result.output).not.toBe(0);
          expect(result.output).toContain("make up/down async and `await loadSqlParser()` from 'dbkit/migrate' first");
          expect(tables[0]!.n).toBe(0);
        } else {
          expect(result.code, result.output).toBe(0);
          const policies = await query<{ policyname: string }>(db.url, "SELECT policyname FROM pg_policies WHERE tablename = 'notes'");
          expect(policies.map((p) => p.policyname)).toEqual(['notes_mine']);
          await query(db.url, 'DROP TABLE public.notes; DROP TABLE public.plain_history');
        }
      } finally {
        folder.cleanup();
      }
    });
  }
});

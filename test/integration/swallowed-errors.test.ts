/**
 * Errors that used to be swallowed, changing a result without a word: each is now reported (or
 * propagates), checked on the real servers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, query, testServers, type TestDatabase } from '../helpers/db.ts';
import { createRole, type TestRole } from '../helpers/roles.ts';
import { withClient } from '../../src/db/scoped.ts';
import { readSequences } from '../../src/audit/impersonate.ts';

describe.each(testServers())('swallowed errors reported ($name)', (server) => {
  let db: TestDatabase;
  let role: TestRole;
  beforeAll(async () => {
    db = await createTestDatabase(server, 'swallow');
    role = await createRole(server, 'seq');
    await query(db.url, `CREATE TABLE t (id int GENERATED ALWAYS AS IDENTITY, x text); GRANT SELECT, INSERT ON t TO ${role.name}`);
  });
  afterAll(async () => {
    await db?.drop();
    await role?.drop();
  });

  it("rls-audit's residue check: a sequence the role may not read is reported unread, not 'did not advance'", async () => {
    await withClient(role.url(db.name), {}, async (client) => {
      // The role can insert (an identity column needs no USAGE on its sequence) ...
      await client.query("INSERT INTO t (x) VALUES ('a')");
      // ... but not read the sequence: the old code returned an empty map here, so "nothing advanced".
      const read = await readSequences(client, ['public.t']);
      expect(read.values.size).toBe(0);
      expect(read.unreadable).toMatch(/permission denied for sequence t_id_seq/);
    });
    await withClient(db.url, {}, async (client) => {
      const read = await readSequences(client, ['public.t']);
      expect(read).toEqual({ values: new Map([['t_id_seq', '1']]), unreadable: null });
    });
  });

  it('any other failure while reading sequences propagates', async () => {
    await withClient(db.url, {}, async (client) => {
      await client.query('BEGIN');
      await client.query('SELECT 1/0').catch(() => {});
      await expect(readSequences(client, ['public.t'])).rejects.toMatchObject({ code: '25P02' });
      await client.query('ROLLBACK');
    });
  });
});

/**
 * Login roles for least-privilege tests: random names, a password (the embedded cluster
 * authenticates with scram), dropped afterwards. Drop the databases they were granted on first:
 * their grants there go with them.
 */
import { randomBytes } from 'node:crypto';
import { urlFor, withAdmin, type TestServer } from './db.ts';
import { quoteIdent, quoteLiteral } from '../../src/core/sql.ts';

export interface TestRole {
  name: string;
  /** The URL of `database` on the same server, as this role. */
  url(database: string): string;
  drop(): Promise<void>;
}

export async function createRole(server: TestServer, prefix: string, attributes = ''): Promise<TestRole> {
  const name = `dbkit_${prefix}_${randomBytes(4).toString('hex')}`;
  const password = randomBytes(12).toString('hex');
  await withAdmin(server.adminUrl, (c) => c.query(`CREATE ROLE ${quoteIdent(name)} LOGIN PASSWORD ${quoteLiteral(password)} ${attributes}`));
  return {
    name,
    url(database) {
      const url = new URL(urlFor(server.adminUrl, database));
      url.username = name;
      url.password = password;
      return url.toString();
    },
    drop: () => withAdmin(server.adminUrl, (c) => c.query(`DROP ROLE IF EXISTS ${quoteIdent(name)}`)).then(() => {}),
  };
}

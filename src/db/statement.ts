/**
 * Sending exactly one statement. The simple query protocol runs every statement of a text
 * (`a); COMMIT; DROP TABLE x; --` included); the extended protocol parses the text as one
 * prepared statement, which the server refuses when it holds more than one (42601, "cannot insert
 * multiple commands into a prepared statement"). Text dbkit did not build alone (policy
 * expressions from policies/, names from the catalog) is sent this way.
 */
import type pg from 'pg';

// node-postgres takes queryMode: 'extended' (since 8.12); @types/pg does not declare it yet.
type ExtendedQueryConfig = pg.QueryConfig & { queryMode: 'extended' };

export function queryOne<R extends pg.QueryResultRow = pg.QueryResultRow>(client: pg.ClientBase, text: string, values: unknown[] = []): Promise<pg.QueryResult<R>> {
  const config: ExtendedQueryConfig = { text, values, queryMode: 'extended' };
  return client.query<R>(config);
}

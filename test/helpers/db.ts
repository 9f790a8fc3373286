/**
 * Test databases on the real servers: each test creates its own, with a random name, and drops
 * it afterwards.
 */
import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { inject } from 'vitest';
import { withDatabase } from '../../src/db/connect.ts';
import { withClient } from '../../src/db/scoped.ts';
import { quoteIdent } from '../../src/core/sql.ts';

export interface TestServer {
  /** "embedded-17" or "external" */
  name: string;
  adminUrl: string;
}

/** The servers every integration suite runs against. */
export function testServers(): TestServer[] {
  const servers: TestServer[] = [{ name: 'embedded-17', adminUrl: inject('embeddedAdminUrl') }];
  const external = inject('externalAdminUrl');
  if (external) servers.push({ name: 'external', adminUrl: external });
  return servers;
}

/** The same server, another database. */
export const urlFor = withDatabase;

export function withAdmin<T>(adminUrl: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  return withClient(adminUrl, {}, fn);
}

export interface TestDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

export async function createTestDatabase(server: TestServer, prefix = 't'): Promise<TestDatabase> {
  const name = `dbkit_${prefix}_${randomBytes(4).toString('hex')}`;
  await withAdmin(server.adminUrl, (c) => c.query(`CREATE DATABASE ${quoteIdent(name)}`));
  return {
    name,
    url: urlFor(server.adminUrl, name),
    drop: () =>
      withAdmin(server.adminUrl, async (c) => {
        await c.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`);
        // template-copy backups of this database
        const { rows } = await c.query<{ datname: string }>(`SELECT datname FROM pg_database WHERE datname LIKE 'dbkit_bk_%' AND datname LIKE $1`, [`%${name.replace('dbkit_', '').replace(/_/g, '\\_')}%`]);
        for (const row of rows) await c.query(`DROP DATABASE IF EXISTS ${quoteIdent(row.datname)} WITH (FORCE)`);
      }),
  };
}

export function query<T extends pg.QueryResultRow = Record<string, unknown>>(url: string, sql: string, values: unknown[] = []): Promise<T[]> {
  return withClient(url, {}, async (client) => (await client.query<T>(sql, values)).rows);
}

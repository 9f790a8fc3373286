/**
 * Connections for the course commands: `count` clients to the target (one per worker), the
 * CreatorOS schema checked before any work, all released on every path.
 */
import type pg from 'pg';
import { connect } from '../db/connect.js';
import type { DatabaseTarget } from '../db/target.js';
import { assertCourseSchema } from './store.js';

export async function withCourseClients<T>(target: DatabaseTarget, count: number, application: string, fn: (clients: pg.Client[]) => Promise<T>): Promise<T> {
  const clients: pg.Client[] = [];
  try {
    clients.push(await connect(target.url, { connectTimeoutMs: target.connectTimeoutMs, applicationName: application }));
    await assertCourseSchema(clients[0]!);
    while (clients.length < count) clients.push(await connect(target.url, { connectTimeoutMs: target.connectTimeoutMs, applicationName: application }));
    return await fn(clients);
  } finally {
    await Promise.all(clients.map((c) => c.end().catch(() => {})));
  }
}

/**
 * Probing the connection path (the decision is core/pooler.ts): the backend pid of a connection
 * across transactions, the pid the server announced, and (only once something already looks
 * pooled) a second connection opened while the first stays connected, and whether a
 * statement_timeout startup parameter is refused the way PgBouncer refuses it.
 */
import type pg from 'pg';
import { loadPg } from '../lazy.js';
import { classifyConnection, DIRECT, type PoolerFacts, type PoolerProbe } from '../core/pooler.js';
import { connect } from './connect.js';

const backendPid = async (client: pg.ClientBase) => (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;

function hostAndPort(url: string): { host: string; port: number } {
  const parsed = new URL(url);
  const host = parsed.hostname || parsed.searchParams.get('host') || 'localhost';
  return { host, port: Number(parsed.port || parsed.searchParams.get('port') || 5432) };
}

/** Whether the pooler refuses a statement_timeout startup parameter (PgBouncer does, unless told to ignore it). */
async function rejectsStartupParameter(url: string, connectTimeoutMs: number): Promise<boolean> {
  const { Client } = await loadPg();
  const client = new Client({ connectionString: url, connectionTimeoutMillis: connectTimeoutMs, statement_timeout: 60_000, application_name: 'dbkit' });
  client.on('error', () => {});
  try {
    await client.connect();
    return false;
  } catch (error) {
    return /unsupported startup parameter/i.test(error instanceof Error ? error.message : String(error));
  } finally {
    await client.end().catch(() => {});
  }
}

/**
 * Says what sits between `client` (an open, idle connection to `url`) and the server. Costs two
 * round trips on a direct connection; two more connections when something looks pooled.
 */
export async function probeConnectionPath(client: pg.Client, url: string, options: { connectTimeoutMs?: number } = {}): Promise<PoolerFacts> {
  const { host, port } = hostAndPort(url);
  const announced = (client as unknown as { processID?: number | null }).processID ?? null;
  const probe: PoolerProbe = { host, port, announcedPid: announced, backendPids: [await backendPid(client), await backendPid(client)], secondConnectionPid: null, rejectsStartupParameter: null };
  const first = classifyConnection(probe);
  if (first.path === 'direct' && probe.announcedPid === probe.backendPids[0]) return DIRECT;
  const connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
  const second = await connect(url, { connectTimeoutMs }).catch(() => null);
  if (second) {
    try {
      probe.secondConnectionPid = await backendPid(second);
      // One more transaction on the first connection, now that the second one exists.
      probe.backendPids.push(await backendPid(client));
    } finally {
      await second.end().catch(() => {});
    }
  }
  probe.rejectsStartupParameter = await rejectsStartupParameter(url, connectTimeoutMs);
  return classifyConnection(probe);
}

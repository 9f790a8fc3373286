/**
 * --traffic: for every table a migration touches, a reader loop and a writer loop, each on its
 * own connection, timing every round trip. The reader reads one row by its physical address
 * (a TID scan: it takes ACCESS SHARE like any SELECT, and adds nothing to the seq-scan counters
 * the rehearsal measures); the writer updates that row to itself (ROW EXCLUSIVE, like any
 * UPDATE). The longest round trip while the migration ran is the stall the application would see.
 */
import type pg from 'pg';
import { connect } from '../db/connect.js';
import { quoteIdent } from '../db/catalog.js';
import { errorMessage } from '../errors.js';
import type { TrafficResult } from './model.js';

interface Loop {
  stop(): Promise<{ maxMs: number | null; ops: number; error: string | null }>;
}

function startLoop(client: pg.Client, sql: string, window: { from: number; to: number | null }): Loop {
  let running = true;
  let maxMs: number | null = null;
  let ops = 0;
  let error: string | null = null;
  const loop = (async () => {
    while (running) {
      const started = performance.now();
      try {
        await client.query(sql);
      } catch (e) {
        // After the migration the table may be renamed or the column dropped: the loop ends there.
        error = errorMessage(e).split('\n')[0] ?? 'error';
      }
      const ended = performance.now();
      ops += 1;
      // A round trip counts when it overlapped the migration.
      if (ended >= window.from && (window.to === null || started <= window.to)) maxMs = Math.max(maxMs ?? 0, ended - started);
      if (error) return;
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return { maxMs, ops, error };
    },
  };
}

export interface TrafficTable {
  oid: number;
  name: string;
  schema: string;
  table: string;
}

export interface Traffic {
  /** Marks the start of the migration (stalls are counted from here). */
  begin(): void;
  /** Marks its end, stops the loops and closes their connections. */
  end(): Promise<TrafficResult[]>;
}

/** A column the writer can set to itself: not generated, not an identity ALWAYS column. */
async function writableColumn(client: pg.ClientBase, oid: number): Promise<string | null> {
  const { rows } = await client.query<{ attname: string }>(
    `SELECT attname FROM pg_attribute WHERE attrelid = $1 AND attnum > 0 AND NOT attisdropped AND attgenerated = '' AND attidentity <> 'a' ORDER BY attnum LIMIT 1`,
    [oid],
  );
  return rows[0]?.attname ?? null;
}

export async function startTraffic(url: string, tables: readonly TrafficTable[], connectTimeoutMs: number): Promise<Traffic> {
  const window = { from: Number.POSITIVE_INFINITY, to: null as number | null };
  const running: { table: TrafficTable; reader: Loop | null; writer: Loop | null; clients: pg.Client[]; notes: string[] }[] = [];
  try {
    for (const table of tables) {
      const target = `${quoteIdent(table.schema)}.${quoteIdent(table.table)}`;
      const notes: string[] = [];
      const reader = await connect(url, { connectTimeoutMs, applicationName: 'dbkit-rehearse-reader' });
      const writer = await connect(url, { connectTimeoutMs, applicationName: 'dbkit-rehearse-writer' });
      const clients = [reader, writer];
      const entry = { table, reader: null as Loop | null, writer: null as Loop | null, clients, notes };
      running.push(entry);
      entry.reader = startLoop(reader, `SELECT 1 FROM ${target} WHERE ctid = '(0,1)'`, window);
      const column = await writableColumn(writer, table.oid);
      if (column) entry.writer = startLoop(writer, `UPDATE ${target} SET ${quoteIdent(column)} = ${quoteIdent(column)} WHERE ctid = '(0,1)'`, window);
      else notes.push('no column a writer can update: writer not run');
    }
  } catch (error) {
    for (const r of running) {
      await r.reader?.stop();
      await r.writer?.stop();
      for (const c of r.clients) await c.end().catch(() => {});
    }
    throw error;
  }
  return {
    begin() {
      window.from = performance.now();
    },
    async end() {
      window.to = performance.now();
      const results: TrafficResult[] = [];
      for (const r of running) {
        const read = r.reader ? await r.reader.stop() : null;
        const write = r.writer ? await r.writer.stop() : null;
        for (const c of r.clients) await c.end().catch(() => {});
        if (read?.error) r.notes.push(`reader stopped: ${read.error}`);
        if (write?.error) r.notes.push(`writer stopped: ${write.error}`);
        results.push({ table: r.table.name, readerStallMs: read?.maxMs ?? null, writerStallMs: write?.maxMs ?? null, readerOps: read?.ops ?? 0, writerOps: write?.ops ?? 0, notes: r.notes });
      }
      return results;
    },
  };
}

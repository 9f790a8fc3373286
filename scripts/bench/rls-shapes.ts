/**
 * The read shapes of `bench:rls`: what an API reads as one tenant, through RLS, against the same
 * rows read as service_role (no RLS) with the equivalent WHERE. Each pair runs in one session,
 * the RLS read and its baseline back to back (order alternating), each shape and each database
 * interleaved with the others, after an unmeasured read of the same rows (so neither pays for a
 * cold cache). Three timings of every read:
 * - server: `EXPLAIN (ANALYZE, TIMING OFF)` "Execution Time" (no network, no output, no planning:
 *   what RLS adds to the work of the executor; the measure);
 * - one-shot: wall time from the client of the query sent with its parameters and planned for
 *   them each time (parse, rewrite, plan, execute, every row sent and parsed);
 * - prepared: the same through a statement prepared once per session, as PostgREST sends its
 *   queries (PostgreSQL plans it for the first executions, then keeps a generic plan when that is
 *   no dearer): what an API process sees once its connections are warm.
 * Ratio = median of the per-pair ratios (robust to load that changes during the run).
 */
import type pg from 'pg';
import { median, table } from './support.ts';

export interface Tenant {
  userId: string;
  mindId: string;
  projectId: string;
  slug: string;
}

export interface Query {
  text: string;
  values: string[];
}

export interface Shape {
  id: string;
  label: string;
  target: number;
  rls: Query;
  baseline: Query;
}

const PUBLISHED = "(status = 'published' AND deleted_at IS NULL)";

export function shapes(t: Tenant, perProject = 1000): Shape[] {
  const same = (id: string, label: string, target: number, text: string, values: string[]): Shape => ({ id, label, target, rls: { text, values }, baseline: { text, values } });
  return [
    same('one', 'one row by key (project, slug)', 3, 'SELECT * FROM public.contents WHERE project_id = $1 AND slug = $2', [t.projectId, t.slug]),
    same('page', 'page of 20 (ORDER BY slug LIMIT 20)', 2.5, 'SELECT * FROM public.contents WHERE project_id = $1 ORDER BY slug LIMIT 20', [t.projectId]),
    same('project', `one project (${perProject.toLocaleString('en')} rows)`, 1.1, 'SELECT * FROM public.contents WHERE project_id = $1', [t.projectId]),
    {
      id: 'all',
      label: 'all it can see, no WHERE (own + published)',
      target: 1.2,
      rls: { text: 'SELECT * FROM public.contents', values: [] },
      baseline: { text: `SELECT * FROM public.contents WHERE project_id = ANY (ARRAY(SELECT p.id FROM public.content_projects p WHERE p.creator_mind_id = $1)) OR ${PUBLISHED}`, values: [t.mindId] },
    },
  ];
}

/** The cost of finding the caller at all: the one-row read as service_role plus `(SELECT auth.uid())`, against the same read without it. */
export const floorShape = (t: Tenant): Shape => {
  const one = shapes(t)[0]!;
  return { id: 'floor', label: 'floor: the one-row read + (SELECT auth.uid())', target: Number.NaN, rls: { ...one.rls, text: `${one.rls.text} AND (SELECT auth.uid()) IS NOT NULL` }, baseline: one.baseline };
};

export const TIMINGS = ['server', 'oneshot', 'prepared'] as const;
export type Timing = (typeof TIMINGS)[number];

export type Samples = Record<Timing, { rls: number[]; base: number[] }> & { rows: { rls: number; base: number } };

const claims = (t: Tenant) => JSON.stringify({ sub: t.userId, role: 'authenticated' });

/** Runs `fn` in a transaction as `role` with the tenant's JWT claims, as Supabase's API does; rolled back. */
async function as<T>(client: pg.Client, role: 'authenticated' | 'service_role', t: Tenant, fn: () => Promise<T>): Promise<T> {
  await client.query('BEGIN');
  try {
    await client.query(`SET LOCAL ROLE ${role}`);
    await client.query("SELECT set_config('request.jwt.claims', $1, true)", [claims(t)]);
    return await fn();
  } finally {
    await client.query('ROLLBACK');
  }
}

async function executionMs(client: pg.Client, q: Query): Promise<number> {
  const { rows } = await client.query<{ 'QUERY PLAN': [{ 'Execution Time': number }] }>(`EXPLAIN (ANALYZE, TIMING OFF, FORMAT JSON) ${q.text}`, q.values);
  return rows[0]!['QUERY PLAN'][0]['Execution Time'];
}

async function clientMs(client: pg.Client, q: Query, name?: string): Promise<{ ms: number; rows: number }> {
  const started = performance.now();
  const { rowCount } = await client.query(name === undefined ? { text: q.text, values: q.values } : { name, text: q.text, values: q.values });
  return { ms: performance.now() - started, rows: rowCount ?? 0 };
}

/** One measured pair of each timing for `shape` (the floor shape runs both sides as service_role). */
export async function measurePair(client: pg.Client, t: Tenant, shape: Shape, samples: Samples, rlsFirst: boolean): Promise<void> {
  const rlsRole = shape.id === 'floor' ? 'service_role' : 'authenticated';
  await as(client, 'service_role', t, () => clientMs(client, shape.baseline)); // warm the rows both sides read
  const side = async (which: 'rls' | 'base') => {
    const role = which === 'rls' ? rlsRole : 'service_role';
    const q = which === 'rls' ? shape.rls : shape.baseline;
    samples.server[which].push(await as(client, role, t, () => executionMs(client, q)));
    const once = await as(client, role, t, () => clientMs(client, q));
    samples.oneshot[which].push(once.ms);
    samples.rows[which] = once.rows;
    samples.prepared[which].push((await as(client, role, t, () => clientMs(client, q, `bench_${shape.id}_${which}`))).ms);
  };
  if (rlsFirst) {
    await side('rls');
    await side('base');
  } else {
    await side('base');
    await side('rls');
  }
}

export const emptySamples = (): Samples => ({ server: { rls: [], base: [] }, oneshot: { rls: [], base: [] }, prepared: { rls: [], base: [] }, rows: { rls: -1, base: -1 } });

/** The plan of a shape as the tenant reads it (EXPLAIN ANALYZE, COSTS OFF, TIMING OFF). */
export async function planOf(client: pg.Client, t: Tenant, shape: Shape): Promise<string> {
  const role = shape.id === 'floor' ? 'service_role' : 'authenticated';
  const { rows } = await as(client, role, t, () => client.query<{ 'QUERY PLAN': string }>(`EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) ${shape.rls.text}`, shape.rls.values));
  return rows.map((r) => `      ${r['QUERY PLAN']}`).join('\n');
}

const pairRatio = (rls: number[], base: number[]) => median(rls.map((r, i) => r / base[i]!));
const msFine = (x: number) => `${x < 1 ? x.toFixed(3) : x.toFixed(2)} ms`;

export interface ShapeResult {
  shape: Shape;
  state: string;
  samples: Samples;
}

export function shapeRatio(r: ShapeResult, timing: Timing): number {
  return pairRatio(r.samples[timing].rls, r.samples[timing].base);
}

/** The results as one table: per shape and state, the medians and ratio of each timing, and the target (judged on server time). */
export function renderShapes(results: readonly ShapeResult[]): string {
  const rows = results.map((r) => {
    const s = r.samples;
    const server = shapeRatio(r, 'server');
    const target = Number.isFinite(r.shape.target) ? `<= ${r.shape.target}x ${server <= r.shape.target ? 'met' : 'NOT met'}` : '';
    const rowsNote = s.rows.rls === s.rows.base ? String(s.rows.rls) : `${s.rows.rls} vs ${s.rows.base} (ROWS DIFFER!)`;
    const cells = TIMINGS.flatMap((t) => [`${msFine(median(s[t].rls))} / ${msFine(median(s[t].base))}`, `${shapeRatio(r, t).toFixed(2)}x`]);
    return [r.shape.label, r.state, rowsNote, ...cells, target];
  });
  return table(['shape', 'policies', 'rows', 'server: RLS / service_role', 'ratio', 'one-shot: RLS / service_role', 'ratio', 'prepared: RLS / service_role', 'ratio', 'target (server)'], rows);
}

/**
 * dbkit monitor: the rollout guide's monitoring queries as one read-only report. Recent writes
 * per project (lesson counts, average fidelity), hierarchy integrity (orphans, cycles, lessons
 * outside modules), mind attribution, data quality and RLS status. Hierarchy problems or a table
 * without RLS exit non-zero.
 */
import { Command, Option } from 'commander';
import type pg from 'pg';
import type { ResolvedConfig } from '../config.js';
import { DbkitError } from '../errors.js';
import { parseDuration } from '../core/duration.js';
import type { Reporter } from '../output/terminal.js';
import { withDatabaseTarget } from '../embedded/target.js';
import { type DatabaseTarget, databaseFacts } from '../db/target.js';
import { withReadOnly } from '../db/scoped.js';
import { withCourseClients } from '../courses/session.js';
import { errorDocument, type ErrorDocument } from '../output/errors.js';
import { printable } from '../output/text.js';
import { runtimeFor } from '../runtime.js';

const RLS_TABLES = ['public.content_projects', 'public.contents', 'public.audience_profiles', 'public.content_minds', 'public.content_tags', 'public.minds'];

export interface MonitorReport {
  command: 'monitor';
  ok: boolean;
  database: { url: string; kind: DatabaseTarget['kind']; name: string };
  sinceHours: number;
  recentWrites: { slug: string; name: string; contents: number; lessons: number; avgFidelity: number | null; lastWrite: string | null }[];
  hierarchy: { orphans: string[]; cycles: string[]; lessonsOutsideModules: string[]; modulesOutsideOutlines: string[]; duplicateOrder: string[] };
  attribution: { projects: number; withCreator: number; withPersona: number; linksByRole: Record<string, number>; topMinds: { slug: string; displayName: string; asCreator: number; asPersona: number; contentLinks: number }[] };
  quality: { lessons: number; emptyLessons: string[]; lessonsWithoutFidelity: number; fidelityOutOfRange: string[]; emptyTitles: string[]; projectsWithoutContents: string[]; projectsWithoutAudience: number };
  rls: { table: string; rls: boolean; forced: boolean; policies: number }[];
  error: ErrorDocument | null;
}

// Slugs are shown as project/content. The list queries stop at 50 rows: the count is what matters.
const ref = `p.slug || '/' || c.slug`;
const SQL = {
  recent: `SELECT p.slug, p.name, count(c.id)::int AS contents, (count(c.id) FILTER (WHERE c.content_type = 'course_lesson'))::int AS lessons,
                  avg(c.fidelity_score)::float8 AS "avgFidelity", max(greatest(c.updated_at, p.updated_at))::text AS "lastWrite"
             FROM public.content_projects p
             LEFT JOIN public.contents c ON c.project_id = p.id AND c.deleted_at IS NULL
            WHERE p.deleted_at IS NULL
            GROUP BY p.id, p.slug, p.name
           HAVING max(greatest(c.updated_at, p.updated_at)) > now() - make_interval(secs => $1) OR p.created_at > now() - make_interval(secs => $1)
            ORDER BY max(greatest(c.updated_at, p.updated_at)) DESC NULLS LAST LIMIT $2`,
  orphans: `SELECT ${ref} AS r FROM public.contents c JOIN public.content_projects p ON p.id = c.project_id JOIN public.contents parent ON parent.id = c.parent_content_id
             WHERE c.deleted_at IS NULL AND (parent.deleted_at IS NOT NULL OR parent.project_id <> c.project_id) ORDER BY 1 LIMIT 50`,
  cycles: `WITH RECURSIVE walk(start_id, next_id, path, cycle) AS (
             SELECT c.id, c.parent_content_id, ARRAY[c.id], false FROM public.contents c WHERE c.parent_content_id IS NOT NULL
             UNION ALL
             SELECT w.start_id, c.parent_content_id, w.path || c.id, c.id = ANY (w.path)
               FROM walk w JOIN public.contents c ON c.id = w.next_id WHERE NOT w.cycle
           )
           SELECT DISTINCT ${ref} AS r FROM walk w JOIN public.contents c ON c.id = w.start_id JOIN public.content_projects p ON p.id = c.project_id
            WHERE w.cycle AND w.path[array_length(w.path, 1)] = w.start_id ORDER BY 1 LIMIT 50`,
  misplaced: `SELECT ${ref} AS r FROM public.contents c JOIN public.content_projects p ON p.id = c.project_id LEFT JOIN public.contents parent ON parent.id = c.parent_content_id
               WHERE c.deleted_at IS NULL AND c.content_type = $1 AND (parent.id IS NULL OR parent.content_type <> $2) ORDER BY 1 LIMIT 50`,
  duplicateOrder: `SELECT min(p.slug || '/' || parent.slug) || ' #' || c.sequence_order AS r
                     FROM public.contents c JOIN public.contents parent ON parent.id = c.parent_content_id JOIN public.content_projects p ON p.id = c.project_id
                    WHERE c.deleted_at IS NULL AND c.sequence_order IS NOT NULL
                    GROUP BY c.parent_content_id, c.content_type, c.sequence_order HAVING count(*) > 1 ORDER BY 1 LIMIT 50`,
  attribution: `SELECT count(*)::int AS projects, count(creator_mind_id)::int AS "withCreator", count(persona_mind_id)::int AS "withPersona"
                  FROM public.content_projects WHERE deleted_at IS NULL`,
  links: `SELECT role, count(*)::int AS n FROM public.content_minds GROUP BY role ORDER BY role`,
  topMinds: `SELECT m.slug, m.display_name AS "displayName",
                    (SELECT count(*) FROM public.content_projects p WHERE p.creator_mind_id = m.id AND p.deleted_at IS NULL)::int AS "asCreator",
                    (SELECT count(*) FROM public.content_projects p WHERE p.persona_mind_id = m.id AND p.deleted_at IS NULL)::int AS "asPersona",
                    (SELECT count(*) FROM public.content_minds l WHERE l.mind_id = m.id)::int AS "contentLinks"
               FROM public.minds m ORDER BY 3 DESC, 4 DESC, 5 DESC, m.slug LIMIT 10`,
  quality: `SELECT (count(*) FILTER (WHERE content_type = 'course_lesson'))::int AS lessons,
                   (count(*) FILTER (WHERE content_type = 'course_lesson' AND fidelity_score IS NULL))::int AS "lessonsWithoutFidelity"
              FROM public.contents WHERE deleted_at IS NULL`,
  emptyLessons: `SELECT ${ref} AS r FROM public.contents c JOIN public.content_projects p ON p.id = c.project_id
                  WHERE c.deleted_at IS NULL AND c.content_type = 'course_lesson' AND coalesce(btrim(c.content), '') = '' ORDER BY 1 LIMIT 50`,
  fidelityRange: `SELECT ${ref} AS r FROM public.contents c JOIN public.content_projects p ON p.id = c.project_id
                   WHERE c.deleted_at IS NULL AND (c.fidelity_score < 0 OR c.fidelity_score > 1) ORDER BY 1 LIMIT 50`,
  emptyTitles: `SELECT ${ref} AS r FROM public.contents c JOIN public.content_projects p ON p.id = c.project_id
                 WHERE c.deleted_at IS NULL AND btrim(c.title) = '' ORDER BY 1 LIMIT 50`,
  emptyProjects: `SELECT p.slug AS r FROM public.content_projects p WHERE p.deleted_at IS NULL
                    AND NOT EXISTS (SELECT 1 FROM public.contents c WHERE c.project_id = p.id AND c.deleted_at IS NULL) ORDER BY 1 LIMIT 50`,
  noAudience: `SELECT count(*)::int AS n FROM public.content_projects p WHERE p.deleted_at IS NULL
                 AND NOT EXISTS (SELECT 1 FROM public.audience_profiles a WHERE a.project_id = p.id)`,
  rls: `SELECT t AS table, coalesce(c.relrowsecurity, false) AS rls, coalesce(c.relforcerowsecurity, false) AS forced,
               (SELECT count(*) FROM pg_policy pol WHERE pol.polrelid = c.oid)::int AS policies
          FROM unnest($1::text[]) WITH ORDINALITY u(t, i) LEFT JOIN pg_class c ON c.oid = to_regclass(t) ORDER BY i`,
};

async function list(client: pg.ClientBase, text: string, values: unknown[] = []): Promise<string[]> {
  return (await client.query<{ r: string }>(text, values)).rows.map((row) => row.r);
}

export async function readMonitor(client: pg.ClientBase, options: { sinceMs: number; limit: number }): Promise<Omit<MonitorReport, 'database' | 'ok' | 'error'>> {
  const recent = await client.query<MonitorReport['recentWrites'][number]>(SQL.recent, [options.sinceMs / 1000, options.limit]);
  const attribution = (await client.query<{ projects: number; withCreator: number; withPersona: number }>(SQL.attribution)).rows[0]!;
  const quality = (await client.query<{ lessons: number; lessonsWithoutFidelity: number }>(SQL.quality)).rows[0]!;
  return {
    command: 'monitor',
    sinceHours: options.sinceMs / 3_600_000,
    recentWrites: recent.rows,
    hierarchy: {
      orphans: await list(client, SQL.orphans),
      cycles: await list(client, SQL.cycles),
      lessonsOutsideModules: await list(client, SQL.misplaced, ['course_lesson', 'course_module']),
      modulesOutsideOutlines: await list(client, SQL.misplaced, ['course_module', 'course_outline']),
      duplicateOrder: await list(client, SQL.duplicateOrder),
    },
    attribution: {
      ...attribution,
      linksByRole: Object.fromEntries((await client.query<{ role: string; n: number }>(SQL.links)).rows.map((r) => [r.role, r.n])),
      topMinds: (await client.query<MonitorReport['attribution']['topMinds'][number]>(SQL.topMinds)).rows,
    },
    quality: {
      ...quality,
      emptyLessons: await list(client, SQL.emptyLessons),
      fidelityOutOfRange: await list(client, SQL.fidelityRange),
      emptyTitles: await list(client, SQL.emptyTitles),
      projectsWithoutContents: await list(client, SQL.emptyProjects),
      projectsWithoutAudience: (await client.query<{ n: number }>(SQL.noAudience)).rows[0]!.n,
    },
    rls: (await client.query<MonitorReport['rls'][number]>(SQL.rls, [RLS_TABLES])).rows,
  };
}

export async function monitor(config: ResolvedConfig, options: { sinceMs: number; limit: number }, reporter: Reporter): Promise<MonitorReport> {
  return withDatabaseTarget(config, reporter, (target) =>
    withCourseClients(target, 1, 'dbkit monitor', async ([client]) => {
      const data = await withReadOnly(client!, (ro) => readMonitor(ro, options));
      const h = data.hierarchy;
      const broken = [h.orphans.length && `${h.orphans.length} orphan(s)`, h.cycles.length && `${h.cycles.length} content(s) in parent cycles`, h.lessonsOutsideModules.length && `${h.lessonsOutsideModules.length} lesson(s) outside modules`, h.modulesOutsideOutlines.length && `${h.modulesOutsideOutlines.length} module(s) outside outlines`, data.rls.filter((t) => !t.rls).length && `RLS off on ${data.rls.filter((t) => !t.rls).map((t) => t.table).join(', ')}`].filter(Boolean);
      const error = broken.length > 0 ? errorDocument(new DbkitError('INTEGRITY', broken.join('; '), { hint: 'dbkit tree <project> shows a project; re-run dbkit sync on its folder to repair its hierarchy' })) : null;
      return { ...data, ok: error === null, database: databaseFacts(target), error };
    }),
  );
}

export function renderMonitor(report: MonitorReport, reporter: Reporter): void {
  const c = reporter.color;
  const mark = (n: number) => (n === 0 ? c.green('✓') : c.red('✗'));
  // Slugs, names and table names are rows' text: printed through printable.
  const listed = (items: string[]) => (items.length ? c.dim(`  ${printable(items.slice(0, 5).join(', '))}${items.length > 5 ? ', ...' : ''}`) : '');
  reporter.info(c.bold(`Recent writes (last ${report.sinceHours} h)`));
  if (report.recentWrites.length === 0) reporter.info('  none');
  for (const r of report.recentWrites) reporter.info(`  ${printable(r.slug).padEnd(32)} ${String(r.contents).padStart(5)} contents ${String(r.lessons).padStart(5)} lessons  avg fidelity ${r.avgFidelity === null ? '-' : r.avgFidelity.toFixed(3)}`);
  const h = report.hierarchy;
  reporter.info(c.bold('Hierarchy integrity'));
  for (const [label, items] of [['orphans (parent deleted or in another project)', h.orphans], ['contents in parent cycles', h.cycles], ['lessons outside modules', h.lessonsOutsideModules], ['modules outside outlines', h.modulesOutsideOutlines]] as const) reporter.info(`  ${mark(items.length)} ${items.length} ${label}${listed(items)}`);
  reporter.info(`  ${h.duplicateOrder.length ? c.yellow('!') : c.green('✓')} ${h.duplicateOrder.length} duplicate sibling positions${listed(h.duplicateOrder)}`);
  const a = report.attribution;
  reporter.info(c.bold('Mind attribution'));
  reporter.info(`  ${a.projects} projects: ${a.withCreator} with a creator, ${a.withPersona} with a persona; content links ${Object.entries(a.linksByRole).map(([r, n]) => `${printable(r)} ${n}`).join(', ') || 'none'}`);
  for (const m of a.topMinds.filter((m) => m.asCreator + m.asPersona + m.contentLinks > 0)) reporter.info(`  ${printable(m.slug).padEnd(24)} creator of ${m.asCreator}, persona of ${m.asPersona}, ${m.contentLinks} content links`);
  const q = report.quality;
  reporter.info(c.bold('Data quality'));
  reporter.info(`  ${q.lessons} lessons, ${q.lessonsWithoutFidelity} without a fidelity score; ${q.projectsWithoutAudience} project(s) without an audience profile`);
  for (const [label, items] of [['empty lessons', q.emptyLessons], ['fidelity scores outside 0..1', q.fidelityOutOfRange], ['empty titles', q.emptyTitles], ['projects without contents', q.projectsWithoutContents]] as const) reporter.info(`  ${items.length ? c.yellow('!') : c.green('✓')} ${items.length} ${label}${listed(items)}`);
  reporter.info(c.bold('Row-level security'));
  for (const t of report.rls) reporter.info(`  ${t.rls ? c.green('on ') : c.red('OFF')} ${t.forced ? 'forced' : '      '} ${String(t.policies).padStart(2)} policies  ${printable(t.table)}`);
}

export function registerMonitor(program: Command): void {
  program
    .command('monitor')
    .description('Report recent writes per project, hierarchy integrity, mind attribution, data quality and RLS status (read-only). Hierarchy problems or RLS off exit non-zero.')
    .addOption(new Option('--since <duration>', 'window for recent writes').default('24h'))
    .addOption(new Option('--limit <n>', 'projects listed under recent writes').default('20'))
    .option('--json', 'print one JSON document (shape in README)')
    .addHelpText('after', '\nExample:\n  $ npx dbkit monitor --since 2h --json')
    .action(async (opts: { since: string; limit: string }, cmd: Command) => {
      const runtime = runtimeFor(cmd);
      const since = parseDuration(opts.since);
      if (typeof since !== 'number' || since <= 0) throw new DbkitError('USAGE', `--since: ${typeof since === 'number' ? 'must be more than 0' : since.error}`);
      const limit = Number(opts.limit);
      if (!Number.isInteger(limit) || limit < 1) throw new DbkitError('USAGE', `--limit: '${opts.limit}' is not a whole number >= 1`);
      const report = await monitor(runtime.config, { sinceMs: since, limit }, runtime.reporter);
      runtime.finish(report, (r) => renderMonitor(r, runtime.reporter));
    });
}

/**
 * dbkit tree <project-slug>: the course → module → lesson tree of one project, from a recursive
 * query (the rollout guide's Step 4), with status and fidelity. Read-only.
 */
import type { Command } from 'commander';
import type pg from 'pg';
import type { ResolvedConfig } from '../config.js';
import { DbkitError } from '../errors.js';
import type { Reporter } from '../output/terminal.js';
import { withDatabaseTarget } from '../embedded/target.js';
import { withReadOnly } from '../db/scoped.js';
import { withCourseClients } from '../courses/session.js';
import { plural, printable } from '../output/text.js';
import { runtimeFor } from '../runtime.js';

export interface TreeNode {
  slug: string;
  title: string;
  type: string;
  status: string;
  order: number | null;
  fidelity: number | null;
  children: TreeNode[];
}

export interface TreeReport {
  command: 'tree';
  project: { slug: string; name: string; status: string; creator: string | null; persona: string | null };
  tree: TreeNode[];
  counts: Record<string, number>;
  /** Rows of the project the walk from the roots does not reach (their parent chain is broken or cyclic). */
  unreachable: string[];
}

// Depth-first order comes from sort_path; the path array stops a corrupt cycle from looping.
const TREE_SQL = `
WITH RECURSIVE project AS (
  SELECT id FROM public.content_projects WHERE slug = $1
), tree AS (
  SELECT c.id, c.parent_content_id, c.slug, c.title, c.content_type, c.status, c.sequence_order, c.fidelity_score,
         0 AS depth, ARRAY[c.id] AS path, ARRAY[lpad(coalesce(c.sequence_order, 0)::text, 10, '0') || ':' || c.slug] AS sort_path
    FROM public.contents c JOIN project p ON p.id = c.project_id
   WHERE c.parent_content_id IS NULL AND c.deleted_at IS NULL
  UNION ALL
  SELECT c.id, c.parent_content_id, c.slug, c.title, c.content_type, c.status, c.sequence_order, c.fidelity_score,
         t.depth + 1, t.path || c.id, t.sort_path || (lpad(coalesce(c.sequence_order, 0)::text, 10, '0') || ':' || c.slug)
    FROM public.contents c JOIN tree t ON c.parent_content_id = t.id
   WHERE c.deleted_at IS NULL AND NOT c.id = ANY (t.path)
)
SELECT id, parent_content_id AS parent, slug, title, content_type AS type, status, sequence_order AS "order",
       fidelity_score::float8 AS fidelity, depth
  FROM tree ORDER BY sort_path`;

interface TreeRow {
  id: string;
  parent: string | null;
  slug: string;
  title: string;
  type: string;
  status: string;
  order: number | null;
  fidelity: number | null;
  depth: number;
}

export async function readTree(client: pg.ClientBase, slug: string): Promise<TreeReport> {
  const { rows: projects } = await client.query<TreeReport['project'] & { id: string }>(
    `SELECT p.id, p.slug, p.name, p.status, cm.slug AS creator, pm.slug AS persona
       FROM public.content_projects p
       LEFT JOIN public.minds cm ON cm.id = p.creator_mind_id LEFT JOIN public.minds pm ON pm.id = p.persona_mind_id
      WHERE p.slug = $1 AND p.deleted_at IS NULL`,
    [slug],
  );
  const project = projects[0];
  if (!project) throw new DbkitError('NOT_FOUND', `project '${slug}' does not exist`, { hint: 'dbkit monitor lists the projects; the slug is content_projects.slug' });
  const { rows } = await client.query<TreeRow>(TREE_SQL, [slug]);
  const byId = new Map<string, TreeNode>();
  const roots: TreeNode[] = [];
  const counts: Record<string, number> = {};
  for (const row of rows) {
    const node: TreeNode = { slug: row.slug, title: row.title, type: row.type, status: row.status, order: row.order, fidelity: row.fidelity, children: [] };
    byId.set(row.id, node);
    counts[row.type] = (counts[row.type] ?? 0) + 1;
    const parent = row.parent ? byId.get(row.parent) : undefined;
    if (parent) parent.children.push(node);
    else roots.push(node);
  }
  const { rows: unreachable } = await client.query<{ slug: string }>(
    `SELECT c.slug FROM public.contents c WHERE c.project_id = $1 AND c.deleted_at IS NULL AND NOT c.id = ANY ($2::uuid[]) ORDER BY c.slug`,
    [project.id, rows.map((r) => r.id)],
  );
  const { id: _id, ...info } = project;
  return { command: 'tree', project: info, tree: roots, counts, unreachable: unreachable.map((r) => r.slug) };
}

export async function showTree(config: ResolvedConfig, slug: string, reporter: Reporter): Promise<TreeReport> {
  return withDatabaseTarget(config, reporter, (target) => withCourseClients(target, 1, 'dbkit tree', ([client]) => withReadOnly(client!, (ro) => readTree(ro, slug))));
}

export function renderTree(report: TreeReport, reporter: Reporter): void {
  const c = reporter.color;
  const p = report.project;
  // Every name and title is a row's text: printed through printable.
  reporter.info(`${c.bold(printable(p.slug))}  ${printable(p.name)}  ${c.dim(printable(`(${p.status}${p.creator ? `, creator ${p.creator}` : ''}${p.persona ? `, persona ${p.persona}` : ''})`))}`);
  const walk = (nodes: TreeNode[], prefix: string) => {
    nodes.forEach((n, i) => {
      const last = i === nodes.length - 1;
      const fidelity = n.fidelity === null ? '' : `  fidelity ${n.fidelity.toFixed(2)}`;
      reporter.info(`${prefix}${last ? '└─ ' : '├─ '}${n.order ? `${n.order}. ` : ''}${printable(n.title)}  ${c.dim(printable(`${n.slug} · ${n.type} · ${n.status}${fidelity}`))}`);
      walk(n.children, `${prefix}${last ? '   ' : '│  '}`);
    });
  };
  walk(report.tree, '');
  reporter.info(c.dim(printable(Object.entries(report.counts).map(([type, n]) => `${n} ${type}`).join(', ')) || 'no contents'));
  if (report.unreachable.length > 0) reporter.warn(`${plural(report.unreachable.length, 'content')} not reachable from the course root (broken or cyclic parents): ${printable(report.unreachable.slice(0, 5).join(', '))}; see dbkit monitor`);
}

export function registerTree(program: Command): void {
  program
    .command('tree')
    .description('Show a project\'s course → module → lesson tree (recursive query) with status and fidelity (read-only).')
    .argument('<project-slug>', 'content_projects.slug')
    .option('--json', 'print JSON: { command, project, tree: [{ slug, title, type, status, order, fidelity, children }], counts, unreachable }')
    .addHelpText('after', '\nExample:\n  $ npx dbkit tree my-course')
    .action(async (slug: string, _opts: unknown, cmd: Command) => {
      const runtime = runtimeFor(cmd);
      const report = await showTree(runtime.config, slug, runtime.reporter);
      if (runtime.json) runtime.printJson(report);
      else renderTree(report, runtime.reporter);
    });
}

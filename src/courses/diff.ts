/**
 * A course folder against its rows in the database, as data: what dbkit sync would write and what
 * dbkit verify reports. Pure: both sides are already read.
 */
import type { JsonObject } from '../core/course-sql.js';
import type { AudienceProfile, CourseModel, CourseNode } from './model.js';

export interface DbNode {
  slug: string;
  type: string;
  parent: string | null;
  order: number | null;
  title: string;
  contentSha256: string | null;
  metadata: JsonObject;
  fidelityScore: number | null;
  deleted: boolean;
}

export interface DbProject {
  name: string;
  description: string | null;
  metadata: JsonObject;
  creatorMind: string | null;
  personaMind: string | null;
  deleted: boolean;
}

export interface DbCourseState {
  project: DbProject | null;
  nodes: DbNode[];
  profiles: AudienceProfile[];
  links: { slug: string; mind: string; role: string }[];
}

export const NODE_FIELDS = ['type', 'parent', 'order', 'title', 'content', 'metadata', 'fidelity'] as const;
export type NodeField = (typeof NODE_FIELDS)[number];

/** Stable JSON: key order does not matter (jsonb does not keep it). */
export function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}

/** Every key the folder sets has that value in the row (keys added by others are fine). */
export function metadataCovers(actual: JsonObject, desired: JsonObject): boolean {
  return Object.entries(desired).every(([k, v]) => canonical(actual[k]) === canonical(v));
}

export function nodeDifferences(desired: CourseNode, actual: DbNode): NodeField[] {
  const out: NodeField[] = [];
  if (desired.type !== actual.type) out.push('type');
  if (desired.parent !== actual.parent) out.push('parent');
  if (desired.order !== actual.order) out.push('order');
  if (desired.title !== actual.title) out.push('title');
  if (desired.contentSha256 !== actual.contentSha256) out.push('content');
  if (!metadataCovers(actual.metadata, desired.metadata)) out.push('metadata');
  if (desired.fidelityScore !== null && desired.fidelityScore !== actual.fidelityScore) out.push('fidelity');
  return out;
}

export interface Attribution {
  creator: string | null;
  persona: string | null;
}

export type ProjectChange = 'create' | 'update' | 'unchanged';

export interface SyncPlan {
  project: ProjectChange;
  create: CourseNode[];
  update: { node: CourseNode; fields: NodeField[] }[];
  unchanged: number;
  /** Rows of the project that no file stands for (left as they are; dbkit verify lists them). */
  extra: string[];
  profile: ProjectChange | 'none';
  links: { slug: string; mind: string; role: 'creator' | 'persona' }[];
}

export function planSync(desired: CourseModel, actual: DbCourseState, attribution: Attribution): SyncPlan {
  const p = actual.project;
  let project: ProjectChange = 'unchanged';
  if (!p || p.deleted) project = 'create';
  else if (
    p.name !== desired.name ||
    (desired.description !== null && p.description !== desired.description) ||
    !metadataCovers(p.metadata, desired.metadata) ||
    (attribution.creator !== null && p.creatorMind !== attribution.creator) ||
    (attribution.persona !== null && p.personaMind !== attribution.persona)
  ) project = 'update';

  const rows = new Map(actual.nodes.filter((n) => !n.deleted).map((n) => [n.slug, n]));
  const plan: SyncPlan = { project, create: [], update: [], unchanged: 0, extra: [], profile: 'none', links: [] };
  for (const node of desired.nodes) {
    const row = rows.get(node.slug);
    if (!row) plan.create.push(node);
    else {
      const fields = nodeDifferences(node, row);
      if (fields.length > 0) plan.update.push({ node, fields });
      else plan.unchanged += 1;
    }
  }
  const wanted = new Set(desired.nodes.map((n) => n.slug));
  plan.extra = [...rows.keys()].filter((slug) => !wanted.has(slug)).sort();

  if (desired.profile) {
    const stored = actual.profiles.find((a) => a.name === desired.profile!.name);
    plan.profile = !stored ? 'create' : canonical(stored.profile) === canonical(desired.profile.profile) ? 'unchanged' : 'update';
  }
  const outline = desired.nodes.find((n) => n.parent === null);
  for (const role of ['creator', 'persona'] as const) {
    const mind = attribution[role];
    if (mind && outline && !actual.links.some((l) => l.slug === outline.slug && l.mind === mind && l.role === role)) plan.links.push({ slug: outline.slug, mind, role });
  }
  return plan;
}

export function planChanges(plan: SyncPlan): number {
  return (plan.project === 'unchanged' ? 0 : 1) + plan.create.length + plan.update.length + (plan.profile === 'create' || plan.profile === 'update' ? 1 : 0) + plan.links.length;
}

export const MISMATCH_KINDS = ['project-not-in-database', 'not-in-database', 'not-in-folder', 'file-missing', 'content-differs', 'title-differs', 'type-differs', 'parent-differs', 'order-differs'] as const;
export type MismatchKind = (typeof MISMATCH_KINDS)[number];

export interface Mismatch {
  kind: MismatchKind;
  slug: string;
  detail: string;
}

const VERIFIED: Partial<Record<NodeField, MismatchKind>> = { content: 'content-differs', title: 'title-differs', type: 'type-differs', parent: 'parent-differs', order: 'order-differs' };

/**
 * What verify reports: rows missing on either side, content (by SHA-256), title, type, parent and
 * order. A lesson the curriculum lists whose file is gone is `file-missing`.
 */
export function verifyCourse(desired: CourseModel, actual: DbCourseState): Mismatch[] {
  if (!actual.project || actual.project.deleted) return [{ kind: 'project-not-in-database', slug: desired.slug, detail: `project '${desired.slug}' is not in the database` }];
  const rows = new Map(actual.nodes.filter((n) => !n.deleted).map((n) => [n.slug, n]));
  const out: Mismatch[] = [];
  for (const node of desired.nodes) {
    const row = rows.get(node.slug);
    if (node.content === null && node.type === 'course_lesson') {
      out.push({ kind: 'file-missing', slug: node.slug, detail: `the curriculum lists ${node.slug} but its lesson file is missing${row ? ' (the database has the row)' : ''}` });
      continue;
    }
    if (!row) {
      out.push({ kind: 'not-in-database', slug: node.slug, detail: `${node.file ?? node.slug} has no row in the database` });
      continue;
    }
    for (const field of nodeDifferences(node, row)) {
      const kind = VERIFIED[field];
      if (!kind) continue;
      const detail = field === 'content' ? `${node.file ?? node.slug}: content differs (file sha256 ${node.contentSha256?.slice(0, 12)}, row ${row.contentSha256?.slice(0, 12) ?? 'null'})`
        : field === 'parent' ? `parent is '${row.parent ?? '(none)'}' in the database, '${node.parent ?? '(none)'}' in the folder`
        : field === 'order' ? `sequence_order is ${row.order ?? 'null'} in the database, ${node.order} in the folder`
        : field === 'type' ? `content_type is ${row.type} in the database, ${node.type} in the folder`
        : `title is ${JSON.stringify(row.title)} in the database, ${JSON.stringify(node.title)} in the folder`;
      out.push({ kind, slug: node.slug, detail });
    }
  }
  const wanted = new Set(desired.nodes.map((n) => n.slug));
  for (const slug of [...rows.keys()].sort()) if (!wanted.has(slug)) out.push({ kind: 'not-in-folder', slug, detail: `row ${slug} (${rows.get(slug)!.type}) has no file in the folder` });
  return out;
}

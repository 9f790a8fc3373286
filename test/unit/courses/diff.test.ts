import { describe, expect, it } from 'vitest';
import { canonical, planChanges, planSync, verifyCourse, type DbCourseState, type DbNode } from '../../../src/courses/diff.ts';
import { sha256, type CourseModel, type CourseNode } from '../../../src/courses/model.ts';

const node = (slug: string, parent: string | null, order: number, content: string | null = `body of ${slug}`): CourseNode => ({
  slug, type: parent === null ? 'course_outline' : parent === 'outline' ? 'course_module' : 'course_lesson', parent, order, title: slug.toUpperCase(),
  content, contentSha256: content === null ? null : sha256(content), metadata: { lesson_id: slug }, fidelityScore: null, file: `lessons/${slug}.md`,
});
const model: CourseModel = {
  dir: 'c', slug: 'c', name: 'C', description: 'd', metadata: { source: 'dbkit sync' }, profile: { name: 'ICP', profile: { a: 1 } },
  nodes: [node('outline', null, 0), node('m1', 'outline', 1), node('l1', 'm1', 1), node('l2', 'm1', 2)],
};
const row = (n: CourseNode, patch: Partial<DbNode> = {}): DbNode => ({ slug: n.slug, type: n.type, parent: n.parent, order: n.order, title: n.title, contentSha256: n.contentSha256, metadata: { ...n.metadata, other: 'kept' }, fidelityScore: 0.5, deleted: false, ...patch });
const inSync = (): DbCourseState => ({
  project: { name: 'C', description: 'd', metadata: { source: 'dbkit sync', extra: 1 }, creatorMind: 'alan', personaMind: null, deleted: false },
  nodes: model.nodes.map((n) => row(n)),
  profiles: [{ name: 'ICP', profile: { a: 1 } }],
  links: [{ slug: 'outline', mind: 'alan', role: 'creator' }],
});

describe('planSync', () => {
  it('plans nothing when the database matches (keys others added are fine)', () => {
    const plan = planSync(model, inSync(), { creator: 'alan', persona: null });
    expect(planChanges(plan)).toBe(0);
    expect(plan.unchanged).toBe(4);
  });

  it('plans everything for a new project', () => {
    const plan = planSync(model, { project: null, nodes: [], profiles: [], links: [] }, { creator: 'alan', persona: 'voice' });
    expect(plan.project).toBe('create');
    expect(plan.create.map((n) => n.slug)).toEqual(['outline', 'm1', 'l1', 'l2']);
    expect(plan.profile).toBe('create');
    expect(plan.links).toEqual([{ slug: 'outline', mind: 'alan', role: 'creator' }, { slug: 'outline', mind: 'voice', role: 'persona' }]);
    expect(planChanges(plan)).toBe(8);
  });

  it('names the changed fields and the rows without a file; soft-deleted rows count as absent', () => {
    const state = inSync();
    state.nodes[2] = row(model.nodes[2]!, { contentSha256: 'x', order: 7 });
    state.nodes[3] = row(model.nodes[3]!, { deleted: true });
    state.nodes.push(row(node('old', 'm1', 9)));
    state.profiles[0] = { name: 'ICP', profile: { a: 2 } };
    const plan = planSync(model, state, { creator: null, persona: null });
    expect(plan.update).toEqual([{ node: model.nodes[2], fields: ['order', 'content'] }]);
    expect(plan.create.map((n) => n.slug)).toEqual(['l2']);
    expect(plan.extra).toEqual(['old']);
    expect(plan.profile).toBe('update');
    expect(plan.project).toBe('unchanged');
  });
});

describe('verifyCourse', () => {
  it('reports nothing when folder and rows agree', () => {
    expect(verifyCourse(model, inSync())).toEqual([]);
  });

  it('reports each kind of mismatch once, by slug', () => {
    const state = inSync();
    state.nodes[1] = row(model.nodes[1]!, { title: 'other' });
    state.nodes[2] = row(model.nodes[2]!, { parent: 'outline', contentSha256: 'abc' });
    state.nodes.splice(3, 1);
    state.nodes.push(row(node('stray', 'm1', 3)));
    expect(verifyCourse(model, state).map((m) => [m.kind, m.slug])).toEqual([
      ['title-differs', 'm1'],
      ['parent-differs', 'l1'],
      ['content-differs', 'l1'],
      ['not-in-database', 'l2'],
      ['not-in-folder', 'stray'],
    ]);
  });

  it('reports a listed lesson whose file is gone as file-missing', () => {
    const withMissing: CourseModel = { ...model, nodes: model.nodes.map((n) => (n.slug === 'l2' ? { ...n, content: null, contentSha256: null } : n)) };
    expect(verifyCourse(withMissing, inSync())).toEqual([{ kind: 'file-missing', slug: 'l2', detail: 'the curriculum lists l2 but its lesson file is missing (the database has the row)' }]);
  });

  it('reports a project that is not in the database once', () => {
    expect(verifyCourse(model, { project: null, nodes: [], profiles: [], links: [] }).map((m) => m.kind)).toEqual(['project-not-in-database']);
  });
});

describe('canonical', () => {
  it('ignores key order', () => {
    expect(canonical({ b: 1, a: [{ d: 1, c: 2 }] })).toBe(canonical({ a: [{ c: 2, d: 1 }], b: 1 }));
  });
});

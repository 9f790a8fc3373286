/**
 * dbkit sync, verify, tree and monitor as users run them, against real PostgreSQL servers, on
 * course folders written by scripts/generate-courses.ts.
 */
import { readFileSync, renameSync, rmSync, writeFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cleanEnv, parseJson, runCli, type CliResult } from '../helpers/cli.ts';
import { createTestDatabase, query, testServers, type TestDatabase } from '../helpers/db.ts';
import { migrate, tempDir } from '../helpers/courses.ts';
import { generateCourses } from '../../scripts/generate-courses.ts';
import type { SyncReport } from '../../src/commands/sync.ts';
import type { VerifyReport } from '../../src/commands/verify.ts';
import type { TreeReport } from '../../src/commands/tree.ts';
import type { MonitorReport } from '../../src/commands/monitor.ts';
import { ERROR_CODES } from '../../src/errors.ts';

const CONTENTS_PER_COURSE = 27; // outline + 4 modules + 2 research + 20 lessons

async function counts(url: string): Promise<Record<string, number>> {
  const rows = await query<{ t: string; n: number }>(url, `SELECT 'projects' t, count(*)::int n FROM content_projects UNION ALL SELECT 'contents', count(*)::int FROM contents
    UNION ALL SELECT 'profiles', count(*)::int FROM audience_profiles UNION ALL SELECT 'links', count(*)::int FROM content_minds`);
  return Object.fromEntries(rows.map((r) => [r.t, r.n]));
}

const rowVersions = (url: string) => query<{ v: string }>(url, `SELECT string_agg(c.id || ':' || c.updated_at || ':' || c.xmin, ',' ORDER BY c.id) AS v FROM contents c`);

describe.each(testServers())('dbkit sync and verify on $name', (server) => {
  let db: TestDatabase;
  let work: ReturnType<typeof tempDir>;
  const env = () => cleanEnv();
  const cli = (args: string[]) => runCli([...args, '--db', db.url], { env: env() });
  beforeEach(async () => {
    db = await createTestDatabase(server, 'sync');
    await migrate(db);
    work = tempDir('courses');
  });
  afterEach(async () => {
    work.cleanup();
    await db.drop();
  });

  it('syncs 50 generated courses, verify finds no mismatch, and a second sync changes nothing and says so', async () => {
    generateCourses(work.dir, { count: 50 });
    const dry = await cli(['sync', work.dir, '--dry-run', '--json']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(parseJson<SyncReport>(dry).totals).toMatchObject({ courses: 50, planned: 50, rowsWritten: 0 });
    expect((await counts(db.url)).projects).toBe(0);

    const first = await cli(['sync', work.dir, '--creator', 'alan', '--persona', 'alan-voice', '--json']);
    expect(first.code, first.stderr).toBe(0);
    const report = parseJson<SyncReport>(first);
    expect(report.totals).toMatchObject({ courses: 50, created: 50, failed: 0, rowsWritten: 50 * (1 + CONTENTS_PER_COURSE + 1 + 2) });
    expect(await counts(db.url)).toEqual({ projects: 50, contents: 50 * CONTENTS_PER_COURSE, profiles: 50, links: 100 });

    const verify = await cli(['verify', work.dir, '--json']);
    expect(verify.code, verify.stdout).toBe(0);
    expect(parseJson<VerifyReport>(verify).totals).toEqual({ courses: 50, match: 50, mismatch: 0, invalid: 0, mismatches: 0 });

    const before = await rowVersions(db.url);
    const again = await cli(['sync', work.dir]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain('Nothing to change: all 50 courses match the database.');
    expect(await rowVersions(db.url)).toEqual(before);

    const tree = parseJson<TreeReport>(await cli(['tree', 'course-0007', '--json']));
    expect(tree.project).toMatchObject({ slug: 'course-0007', creator: 'alan', persona: 'alan-voice' });
    expect(tree.tree.map((n) => n.type)).toEqual(['course_outline']);
    expect(tree.tree[0]!.children.map((n) => [n.order, n.type])).toEqual([[1, 'course_module'], [2, 'course_module'], [3, 'course_module'], [4, 'course_module'], [5, 'course_research'], [6, 'course_research']]);
    expect(tree.tree[0]!.children[0]!.children.map((l) => l.order)).toEqual([1, 2, 3, 4, 5]);
    expect(tree.counts).toEqual({ course_outline: 1, course_module: 4, course_research: 2, course_lesson: 20 });
    expect(tree.unreachable).toEqual([]);

    const monitor = await cli(['monitor', '--json', '--limit', '100']);
    expect(monitor.code, monitor.stdout).toBe(0);
    const m = parseJson<MonitorReport>(monitor);
    expect(m.recentWrites).toHaveLength(50);
    expect(m.recentWrites.every((r) => r.lessons === 20 && r.contents === CONTENTS_PER_COURSE && r.avgFidelity! > 0.6 && r.avgFidelity! < 1)).toBe(true);
    expect(m.hierarchy).toEqual({ orphans: [], cycles: [], lessonsOutsideModules: [], modulesOutsideOutlines: [], duplicateOrder: [] });
    expect(m.attribution).toMatchObject({ projects: 50, withCreator: 50, withPersona: 50, linksByRole: { creator: 50, persona: 50 } });
    expect(m.quality).toMatchObject({ lessons: 1000, lessonsWithoutFidelity: 0, emptyLessons: [], projectsWithoutAudience: 0 });
    expect(m.rls.every((t) => t.rls && t.forced)).toBe(true);
  });

  it('verify reports exactly a deleted lesson file, and exactly an edited row', async () => {
    generateCourses(work.dir, { count: 3 });
    expect((await cli(['sync', work.dir])).code).toBe(0);
    const lessonFile = readdirSync(path.join(work.dir, 'course-0002', 'lessons')).find((f) => f.startsWith('1.2-'))!;
    const full = path.join(work.dir, 'course-0002', 'lessons', lessonFile);
    const body = readFileSync(full, 'utf8');
    rmSync(full);
    const missing = await cli(['verify', work.dir, '--json']);
    expect(missing.code).toBe(ERROR_CODES.MISMATCH.exit);
    const r1 = parseJson<VerifyReport>(missing);
    expect(r1.courses.map((c) => [c.slug, c.status, c.mismatches.map((m) => [m.kind, m.slug])])).toEqual([
      ['course-0001', 'match', []],
      ['course-0002', 'mismatch', [['file-missing', 'lesson-1-2']]],
      ['course-0003', 'match', []],
    ]);
    writeFileSync(full, body);

    await query(db.url, `UPDATE contents c SET content = c.content || ' (edited)' FROM content_projects p WHERE p.id = c.project_id AND p.slug = 'course-0003' AND c.slug = 'lesson-2-1'`);
    await query(db.url, `UPDATE contents c SET sequence_order = 9 FROM content_projects p WHERE p.id = c.project_id AND p.slug = 'course-0001' AND c.slug = 'lesson-3-2'`);
    const edited = await cli(['verify', work.dir]);
    expect(edited.code).toBe(ERROR_CODES.MISMATCH.exit);
    expect(edited.stdout).toMatch(/content-differs {2}lesson-2-1: lessons\/2\.1-.*\.md: content differs/);
    expect(edited.stdout).toContain('order-differs  lesson-3-2: sequence_order is 9 in the database, 2 in the folder');
    expect(edited.stdout.match(/-differs/g)).toHaveLength(2);
    expect(edited.stderr).toContain('error: 2 mismatches in 2 of 3 courses');
    // sync repairs both, and verify agrees
    expect((await cli(['sync', work.dir])).code).toBe(0);
    expect((await cli(['verify', work.dir])).code).toBe(0);
  });

  it('a malformed course is reported file by file, nothing of it is written, and the others still sync', async () => {
    generateCourses(work.dir, { count: 5 });
    const c = (n: number) => path.join(work.dir, `course-000${n}`);
    writeFileSync(path.join(c(1), 'curriculum.yaml'), 'course:\n  slug: course-0001\nmodules: [\n  - title: x\n');
    rmSync(path.join(c(2), 'lessons', readdirSync(path.join(c(2), 'lessons')).find((f) => f.startsWith('2.3-'))!));
    const yaml = readFileSync(path.join(c(3), 'curriculum.yaml'), 'utf8');
    writeFileSync(path.join(c(3), 'curriculum.yaml'), yaml.replace('slug: lesson-1-2', 'slug: lesson-1-1'));
    const result = await cli(['sync', work.dir]);
    expect(result.code).toBe(ERROR_CODES.COURSE_INVALID.exit);
    expect(result.stdout).toMatch(/✗ .*course-0001: not synced\n {4}.*course-0001\/curriculum\.yaml:\d+:\d+: invalid YAML/);
    expect(result.stdout).toMatch(/course-0002\/curriculum\.yaml:\d+: lesson 2\.3 is listed but no lessons\/2\.3-\*\.md exists/);
    expect(result.stdout).toMatch(/course-0003\/curriculum\.yaml:\d+: slug 'lesson-1-1' is used twice in this course/);
    expect(result.stderr).toContain('error: 3 of 5 courses could not be synced; the other 2 were');
    const projects = await query<{ slug: string; n: number }>(db.url, `SELECT p.slug, count(c.id)::int AS n FROM content_projects p LEFT JOIN contents c ON c.project_id = p.id GROUP BY p.slug ORDER BY p.slug`);
    expect(projects).toEqual([{ slug: 'course-0004', n: CONTENTS_PER_COURSE }, { slug: 'course-0005', n: CONTENTS_PER_COURSE }]);
  });

  it('two syncs of the same courses at once leave no duplicates', async () => {
    generateCourses(work.dir, { count: 6 });
    const args = ['sync', work.dir, '--creator', 'alan', '--persona', 'alan-voice', '--concurrency', '3', '--json'];
    const [a, b] = await Promise.all([cli(args), cli(args)]);
    expect(a.code, a.stderr).toBe(0);
    expect(b.code, b.stderr).toBe(0);
    const created = parseJson<SyncReport>(a).totals.created + parseJson<SyncReport>(b).totals.created;
    expect(created).toBe(6);
    expect(await counts(db.url)).toEqual({ projects: 6, contents: 6 * CONTENTS_PER_COURSE, profiles: 6, links: 12 });
  });

  it('SIGKILL mid-run leaves every course whole or absent, and the next sync completes', async () => {
    generateCourses(work.dir, { count: 300, lessons: 20 });
    let killed = false;
    const poll = async (child: import('node:child_process').ChildProcess) => {
      for (let i = 0; i < 2000 && child.exitCode === null; i++) {
        const [row] = await query<{ n: number }>(db.url, 'SELECT count(*)::int AS n FROM content_projects');
        if (row!.n >= 5) {
          killed = child.kill('SIGKILL');
          return;
        }
        await new Promise((r) => setTimeout(r, 10));
      }
    };
    const result: CliResult = await runCli(['sync', work.dir, '--db', db.url, '--concurrency', '2'], { env: env(), onSpawn: (child) => void poll(child) });
    expect(killed).toBe(true);
    expect(result.signal).toBe('SIGKILL');
    const perProject = await query<{ slug: string; n: number; profiles: number }>(db.url, `SELECT p.slug, (SELECT count(*) FROM contents c WHERE c.project_id = p.id)::int AS n,
      (SELECT count(*) FROM audience_profiles a WHERE a.project_id = p.id)::int AS profiles FROM content_projects p`);
    expect(perProject.length).toBeGreaterThanOrEqual(5);
    expect(perProject.length).toBeLessThan(300);
    expect(perProject.filter((p) => p.n !== CONTENTS_PER_COURSE || p.profiles !== 1)).toEqual([]);
    const rest = await cli(['sync', work.dir, '--json']);
    expect(rest.code, rest.stderr).toBe(0);
    expect(parseJson<SyncReport>(rest).totals).toMatchObject({ created: 300 - perProject.length, unchanged: perProject.length });
    expect((await cli(['verify', work.dir])).code).toBe(0);
  });

  it('bad input gives one-line errors with distinct exit codes and writes nothing', async () => {
    generateCourses(work.dir, { count: 1 });
    const one = path.join(work.dir, 'course-0001');
    const noDir = await cli(['sync', path.join(work.dir, 'nope')]);
    expect([noDir.code, noDir.stderr.split('\n')[0]]).toEqual([15, `error: course folder ${path.join(work.dir, 'nope')} does not exist`]);
    const noMind = await cli(['sync', one, '--creator', 'ghost']);
    expect([noMind.code, noMind.stderr.split('\n')[0]]).toEqual([15, "error: mind 'ghost' does not exist: nothing was written"]);
    writeFileSync(path.join(one, 'curriculum.yaml'), 'modules: {{{\n');
    const badYaml = await cli(['sync', one]);
    expect(badYaml.code).toBe(ERROR_CODES.COURSE_INVALID.exit);
    expect(badYaml.stdout.match(/course-0001\/curriculum\.yaml:\d+:\d+: invalid YAML: /g)).toHaveLength(1);
    const unreachable = await runCli(['sync', one, '--db', 'postgres://postgres@127.0.0.1:1/x'], { env: env() });
    expect(unreachable.code).toBe(4);
    const fresh = await createTestDatabase(server, 'nomig');
    try {
      const noSchema = await runCli(['sync', one, '--db', fresh.url], { env: env() });
      expect([noSchema.code, noSchema.stderr.split('\n')[0]]).toEqual([7, 'error: the CreatorOS tables are missing (public.minds, public.content_projects, public.contents, public.audience_profiles, public.content_minds): nothing was read or written']);
    } finally {
      await fresh.drop();
    }
    for (const r of [noDir, noMind, badYaml, unreachable]) expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(await counts(db.url)).toEqual({ projects: 0, contents: 0, profiles: 0, links: 0 });
    const noProject = await cli(['tree', 'nope']);
    expect([noProject.code, noProject.stderr.split('\n')[0]]).toEqual([15, "error: project 'nope' does not exist"]);
  });

  it('titles and bodies with quotes, backslashes, emoji, right-to-left text and a 1 MB lesson survive sync and verify exactly', async () => {
    const dir = path.join(work.dir, 'tricky');
    generateCourses(work.dir, { count: 1, lessons: 2, modules: 1, prefix: 'tricky-src' });
    const src = path.join(work.dir, 'tricky-src-0001');
    const titles = [`Quote ' "double" \\ back\\slash 🎓`, 'עברית: שיעור ראשון — العربية'];
    const bodies = [`# ${titles[0]}\n\n${'Línea con emoji 👩🏽‍💻 y \\n literal; '.repeat(30000)}`, `# ${titles[1]}\r\n\r\n\u202Eמימין לשמאל\u202C\n`];
    const lessons = readdirSync(path.join(src, 'lessons')).sort();
    bodies.forEach((b, i) => writeFileSync(path.join(src, 'lessons', lessons[i]!), b));
    const yaml = readFileSync(path.join(src, 'curriculum.yaml'), 'utf8').replace(/title: .*\n(\s+slug: lesson-1-1)/, `title: ${JSON.stringify(titles[0])}\n$1`).replace(/title: .*\n(\s+slug: lesson-1-2)/, `title: ${JSON.stringify(titles[1])}\n$1`);
    writeFileSync(path.join(src, 'curriculum.yaml'), yaml);
    renameSync(src, dir);
    const result = await cli(['sync', dir]);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    const rows = await query<{ slug: string; title: string; content: string }>(db.url, `SELECT slug, title, content FROM contents WHERE content_type = 'course_lesson' ORDER BY slug`);
    expect(rows.map((r) => r.title)).toEqual(titles);
    expect(rows[0]!.content === bodies[0]).toBe(true);
    expect(Buffer.byteLength(rows[0]!.content)).toBeGreaterThan(1024 * 1024);
    expect(rows[1]!.content === bodies[1]).toBe(true);
    expect((await cli(['verify', dir])).code).toBe(0);
  });

  it('monitor and tree report a broken hierarchy', async () => {
    generateCourses(work.dir, { count: 1 });
    expect((await cli(['sync', work.dir])).code).toBe(0);
    await query(db.url, `UPDATE contents SET parent_content_id = (SELECT id FROM contents WHERE slug = 'outline') WHERE slug = 'lesson-1-1'`);
    await query(db.url, `UPDATE contents SET parent_content_id = (SELECT id FROM contents WHERE slug = 'lesson-2-1') WHERE slug = 'module-2'`);
    const result = await cli(['monitor', '--json']);
    expect(result.code).toBe(ERROR_CODES.INTEGRITY.exit);
    const m = parseJson<MonitorReport>(result);
    expect(m.hierarchy.lessonsOutsideModules).toEqual(['course-0001/lesson-1-1']);
    expect(m.hierarchy.cycles).toEqual(['course-0001/lesson-2-1', 'course-0001/module-2']);
    expect(m.hierarchy.modulesOutsideOutlines).toEqual(['course-0001/module-2']);
    const tree = parseJson<TreeReport>(await cli(['tree', 'course-0001', '--json']));
    expect(tree.unreachable).toContain('module-2');
    const human = await cli(['monitor']);
    expect(human.stdout).toContain('✗ 1 lessons outside modules');
    expect(human.stderr).toContain('error: 1 content(s) in parent cycles'.replace('1 content', '2 content'));
  });
});

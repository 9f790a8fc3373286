/**
 * Attacks on dbkit sync and verify through course folders (issue 9, items 7, 8 and 11): links
 * that lead out of the folder, YAML bombs, bytes that are not UTF-8. Each test performs the attack
 * with the built CLI against real PostgreSQL and checks what was written.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, readdirSync, readFileSync, renameSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { cleanEnv, parseJson, runCli } from '../helpers/cli.ts';
import { createTestDatabase, query, testServers, type TestDatabase } from '../helpers/db.ts';
import { migrate, tempDir } from '../helpers/courses.ts';
import { generateCourses } from '../../scripts/generate-courses.ts';
import type { SyncReport } from '../../src/commands/sync.ts';
import type { VerifyReport } from '../../src/commands/verify.ts';
import { ERROR_CODES } from '../../src/errors.ts';

const lessonFile = (course: string, id: string) => path.join(course, 'lessons', readdirSync(path.join(course, 'lessons')).find((f) => f.startsWith(`${id}-`))!);

describe.each(testServers())('attacks through course folders on $name', (server) => {
  let db: TestDatabase;
  let work: ReturnType<typeof tempDir>;
  let outside: ReturnType<typeof tempDir>;
  const cli = (args: string[]) => runCli([...args, '--db', db.url], { env: cleanEnv() });
  const projects = async (prefix: string) => (await query<{ slug: string }>(db.url, `SELECT slug FROM content_projects WHERE slug LIKE $1 ORDER BY slug`, [`${prefix}-%`])).map((r) => r.slug);

  beforeAll(async () => {
    db = await createTestDatabase(server, 'atk_course');
    await migrate(db);
  });
  afterAll(async () => {
    await db.drop();
  });
  beforeEach(() => {
    work = tempDir('attack-courses');
    outside = tempDir('attack-outside');
  });
  afterEach(() => {
    work.cleanup();
    outside.cleanup();
  });

  it('9.7: a brief, a lesson or a research/ or lessons/ folder that links outside the course folder is refused (exit 25), and nothing outside is imported', async () => {
    const canary = `root-only-canary-${randomBytes(6).toString('hex')}`;
    const secret = path.join(outside.dir, 'secret.md');
    writeFileSync(secret, `# Secret\n\n${canary}\n`);
    chmodSync(secret, 0o600);
    mkdirSync(path.join(outside.dir, 'notes'));
    writeFileSync(path.join(outside.dir, 'notes', 'notes.md'), `# Notes\n\n${canary}\n`);
    generateCourses(work.dir, { count: 6, lessons: 4, modules: 2, prefix: 'link' });
    const c = (n: number) => path.join(work.dir, `link-000${n}`);

    // 1: the brief is a link to a file outside
    unlinkSync(path.join(c(1), 'COURSE-BRIEF.md'));
    symlinkSync(secret, path.join(c(1), 'COURSE-BRIEF.md'));
    // 2: research/ is a link to a folder outside
    execFileSync('rm', ['-r', path.join(c(2), 'research')]);
    symlinkSync(path.join(outside.dir, 'notes'), path.join(c(2), 'research'));
    // 3: lessons/ is a link to a folder outside (holding this course's own lessons)
    renameSync(path.join(c(3), 'lessons'), path.join(outside.dir, 'lessons-3'));
    symlinkSync(path.join(outside.dir, 'lessons-3'), path.join(c(3), 'lessons'));
    // 4: a listed lesson is a relative link that climbs out
    const lesson4 = lessonFile(c(4), '1.1');
    unlinkSync(lesson4);
    symlinkSync(path.relative(path.dirname(lesson4), secret), lesson4);
    // 5: a research file is a link to a link to a file outside
    symlinkSync(secret, path.join(outside.dir, 'hop.md'));
    symlinkSync(path.join(outside.dir, 'hop.md'), path.join(c(5), 'research', '03-hop.md'));
    // 6: control: a lesson that links to a file inside the course folder is fine
    const lesson6 = lessonFile(c(6), '1.1');
    mkdirSync(path.join(c(6), 'shared'));
    renameSync(lesson6, path.join(c(6), 'shared', 'lesson.md'));
    symlinkSync(path.join('..', 'shared', 'lesson.md'), lesson6);

    const result = await cli(['sync', work.dir, '--json']);
    expect(result.code, result.stderr).toBe(ERROR_CODES.COURSE_INVALID.exit);
    const report = parseJson<SyncReport>(result);
    const byDir = Object.fromEntries(report.courses.map((x) => [path.basename(x.dir), x]));
    const refused = (n: number) => byDir[`link-000${n}`]!.problems.map((p) => [p.kind, p.file]);
    expect(refused(1)).toEqual([['outside-folder', 'COURSE-BRIEF.md']]);
    expect(refused(2)).toEqual([['outside-folder', 'research/']]);
    expect(refused(3)).toEqual([['outside-folder', 'lessons/']]);
    expect(refused(4)).toEqual([['outside-folder', `lessons/${path.basename(lesson4)}`]]);
    expect(refused(5)).toEqual([['outside-folder', 'research/03-hop.md']]);
    expect(byDir['link-0006']!.status).toBe('created');
    expect(report.totals).toMatchObject({ courses: 6, created: 1, failed: 5 });
    expect(await projects('link')).toEqual(['link-0006']);
    const leaked = await query<{ n: number }>(db.url, `SELECT count(*)::int AS n FROM contents WHERE content LIKE $1 OR title LIKE $1`, [`%${canary}%`]);
    expect(leaked[0]!.n).toBe(0);

    const human = await cli(['sync', c(1), c(2)]);
    expect(human.code).toBe(ERROR_CODES.COURSE_INVALID.exit);
    expect(human.stdout).toContain(`link-0001/COURSE-BRIEF.md: leads outside the course folder (to ${secret})`);
    expect(human.stdout).toContain('link-0002/research/: leads outside the course folder');
    expect(human.stderr).not.toMatch(/\n\s+at /);

    // verify holds files to the same rule
    const verify = parseJson<VerifyReport>(await cli(['verify', c(4), '--json']));
    expect(verify.courses[0]).toMatchObject({ status: 'invalid', problems: [{ kind: 'outside-folder' }] });
  });

  it('9.7: a brief or a lesson that is a named pipe is refused at once (exit 25), not waited on for ever', async () => {
    generateCourses(work.dir, { count: 2, lessons: 4, modules: 2, prefix: 'fifo' });
    const c = (n: number) => path.join(work.dir, `fifo-000${n}`);
    unlinkSync(path.join(c(1), 'COURSE-BRIEF.md'));
    execFileSync('mkfifo', [path.join(c(1), 'COURSE-BRIEF.md')]);
    const lesson = lessonFile(c(2), '2.1');
    unlinkSync(lesson);
    execFileSync('mkfifo', [lesson]);
    // Before the fix the read blocked for ever: the child is killed rather than left behind.
    let timer: NodeJS.Timeout | undefined;
    const result = await runCli(['sync', work.dir, '--json', '--db', db.url], { env: cleanEnv(), onSpawn: (child) => (timer = setTimeout(() => child.kill('SIGKILL'), 60_000)) });
    clearTimeout(timer);
    expect(result.signal).toBeNull();
    expect(result.code).toBe(ERROR_CODES.COURSE_INVALID.exit);
    const report = parseJson<SyncReport>(result);
    expect(report.courses.map((x) => x.problems.map((p) => [p.kind, p.file]))).toEqual([[['not-a-file', 'COURSE-BRIEF.md']], [['not-a-file', `lessons/${path.basename(lesson)}`]]]);
    expect(await projects('fifo')).toEqual([]);
  });

  it('9.8: a billion-laughs curriculum, a recursive alias and an oversized file fail their own course (exit 25, not 1); the other courses sync', async () => {
    generateCourses(work.dir, { count: 4, lessons: 4, modules: 2, prefix: 'bomb' });
    const c = (n: number) => path.join(work.dir, `bomb-000${n}`);
    const laughs = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    for (const [i, name] of ['b', 'c', 'd', 'e', 'f', 'g', 'h', 'i'].entries()) laughs.push(`${name}: &${name} [${Array(9).fill(`*${'abcdefgh'[i]}`).join(',')}]`);
    writeFileSync(path.join(c(1), 'curriculum.yaml'), `${laughs.join('\n')}\n${readFileSync(path.join(c(1), 'curriculum.yaml'), 'utf8')}`);
    writeFileSync(path.join(c(2), 'curriculum.yaml'), `loop: &loop [1, *loop]\n${readFileSync(path.join(c(2), 'curriculum.yaml'), 'utf8')}`);
    writeFileSync(path.join(c(3), 'curriculum.yaml'), `${readFileSync(path.join(c(3), 'curriculum.yaml'), 'utf8')}padding: "${'x'.repeat(2 * 1024 * 1024)}"\n`);

    const result = await cli(['sync', work.dir, '--json']);
    expect(result.code, result.stderr).toBe(ERROR_CODES.COURSE_INVALID.exit);
    const report = parseJson<SyncReport>(result);
    expect(report.error?.code).toBe('COURSE_INVALID');
    expect(report.courses.map((x) => [path.basename(x.dir), x.status, x.problems.map((p) => p.kind)])).toEqual([
      ['bomb-0001', 'failed', ['yaml']],
      ['bomb-0002', 'failed', ['yaml']],
      ['bomb-0003', 'failed', ['too-large']],
      ['bomb-0004', 'created', []],
    ]);
    expect(report.courses[0]!.problems[0]!.message).toMatch(/aliases expand too far/);
    expect(await projects('bomb')).toEqual(['bomb-0004']);
  });

  it('a heading line built to make the parser backtrack (a long run of blanks) does not stall the run', async () => {
    generateCourses(work.dir, { count: 2, lessons: 4, modules: 2, prefix: 'redos' });
    const course = path.join(work.dir, 'redos-0001');
    const heading = `# a${' '.repeat(64 * 1024)}b\n`;
    writeFileSync(path.join(course, 'COURSE-BRIEF.md'), `${heading}${readFileSync(path.join(course, 'COURSE-BRIEF.md'), 'utf8')}`);
    writeFileSync(path.join(course, 'research', '01-market-analysis.md'), `${heading}\nbody\n`);
    // Before the fix this took hours (cubic backtracking): the child is killed rather than left behind.
    let timer: NodeJS.Timeout | undefined;
    const result = await runCli(['sync', work.dir, '--json', '--db', db.url], { env: cleanEnv(), onSpawn: (child) => (timer = setTimeout(() => child.kill('SIGKILL'), 60_000)) });
    clearTimeout(timer);
    expect(result.signal).toBeNull();
    expect(result.code, result.stderr).toBe(0);
    expect(await projects('redos')).toEqual(['redos-0001', 'redos-0002']);
    const titles = await query<{ title: string }>(db.url, `SELECT c.title FROM contents c JOIN content_projects p ON p.id = c.project_id WHERE p.slug = 'redos-0001' AND c.slug = 'research-01-market-analysis'`);
    expect(titles[0]!.title).toBe(`a${' '.repeat(64 * 1024)}b`);
  });

  it('9.11: a lesson that is not valid UTF-8 is refused naming the byte offset (sync and verify exit 25), never stored as U+FFFD', async () => {
    generateCourses(work.dir, { count: 2, lessons: 4, modules: 2, prefix: 'utf' });
    const course = path.join(work.dir, 'utf-0001');
    const file = lessonFile(course, '1.2');
    const good = readFileSync(file);
    // "# Caf\xe9": Latin-1, after a U+FFFD written as valid UTF-8 (which is not the error)
    const bad = Buffer.concat([Buffer.from('# Caf\uFFFD '), Buffer.from([0xe9]), Buffer.from(' au lait\n')]);
    writeFileSync(file, bad);
    const result = await cli(['sync', work.dir]);
    expect(result.code).toBe(ERROR_CODES.COURSE_INVALID.exit);
    expect(result.stdout).toContain(`utf-0001/lessons/${path.basename(file)}: is not valid UTF-8 (first bad byte at offset 9)`);
    expect(await projects('utf')).toEqual(['utf-0002']);

    // synced while valid, then damaged: verify must not say "matches"
    writeFileSync(file, good);
    expect((await cli(['sync', course])).code).toBe(0);
    writeFileSync(file, Buffer.concat([good.subarray(0, 20), Buffer.from([0xc3, 0x28]), good.subarray(20)]));
    const verify = await cli(['verify', course, '--json']);
    expect(verify.code).toBe(ERROR_CODES.COURSE_INVALID.exit);
    expect(parseJson<VerifyReport>(verify).courses[0]).toMatchObject({ status: 'invalid', problems: [{ kind: 'invalid-utf8', message: expect.stringContaining('offset 20') }] });
    const stored = await query<{ n: number }>(db.url, `SELECT count(*)::int AS n FROM contents WHERE strpos(content, U&'\\FFFD') > 0`);
    expect(stored[0]!.n).toBe(0);
  });
});

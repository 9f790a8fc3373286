/**
 * Attack (issue 9, item 13, first half): terminal control sequences in data. Course files and
 * rows carry a window-title change (OSC), a screen clear, a "conceal" colour code that would hide
 * every line after it, a bell and a right-to-left override; every command that prints data must
 * show them escaped, never send them to the terminal.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { cleanEnv, runCli, type CliResult } from '../helpers/cli.ts';
import { createTestDatabase, query, testServers, type TestDatabase } from '../helpers/db.ts';
import { migrate, tempDir } from '../helpers/courses.ts';
import { generateCourses } from '../../scripts/generate-courses.ts';

const ESC = '\x1b';
/** What an attacker writes: retitle the window, clear the screen, hide what follows, ring, reverse. */
const EVIL = `${ESC}]0;pwned\x07${ESC}[2J${ESC}[8m\u202E`;

/** The part of curriculum.yaml this test edits (a test fixture written by generate-courses). */
interface Curriculum {
  course: { slug: string; title: string };
  modules: { lessons: { id: string; title: string }[] }[];
}

/** Output with colours off holds no control character but newlines. */
function expectNoControl(result: CliResult): void {
  const out = result.stdout + result.stderr;
  expect(out).not.toMatch(/[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/);
}

/** With colours on, only dbkit's own colour codes: no OSC, no clear, no conceal, no bell. */
function expectOnlyOwnColours(result: CliResult): void {
  const out = result.stdout + result.stderr;
  expect(out).toMatch(/\x1b\[\d+m/); // colours are on
  const sequences = out.match(/\x1b[^a-zA-Z]*[a-zA-Z]?/g) ?? [];
  expect(sequences.filter((s) => !/^\x1b\[(?:3[0-9]|2[2-9]|[0-2]|39|49|9[0-7])m$/.test(s))).toEqual([]);
  expect(out).not.toContain('\x07');
  expect(out).not.toContain('\u202E');
}

describe.each(testServers())('terminal escapes in data on $name', (server) => {
  let db: TestDatabase;
  let work: ReturnType<typeof tempDir>;
  const run = (args: string[], colour = false) => runCli([...args, '--db', db.url], { env: cleanEnv(colour ? { NO_COLOR: undefined, FORCE_COLOR: '1' } : {}) });

  beforeAll(async () => {
    db = await createTestDatabase(server, 'atk_escape');
    await migrate(db);
    work = tempDir('attack-escapes');
    generateCourses(work.dir, { count: 3, lessons: 2, modules: 1, prefix: 'esc' });
    const edit = (n: number, change: (doc: Curriculum) => void) => {
      const file = path.join(work.dir, `esc-000${n}`, 'curriculum.yaml');
      const doc = parse(readFileSync(file, 'utf8')) as Curriculum;
      change(doc);
      writeFileSync(file, stringify(doc));
    };
    // 1: hostile course and lesson titles; 2: a hostile project slug; 3: a hostile lesson id whose file is missing
    edit(1, (doc) => {
      doc.course.title = `Evil ${EVIL} course`;
      doc.modules[0]!.lessons[0]!.title = `Lesson ${EVIL}`;
    });
    edit(2, (doc) => {
      doc.course.slug = `esc-0002${EVIL}`;
    });
    edit(3, (doc) => {
      doc.modules[0]!.lessons[0]!.id = `9.9${EVIL}`;
    });
    await query(db.url, `INSERT INTO public.minds (slug, display_name) VALUES ($1, $2)`, [`mind${EVIL}`, `Name ${EVIL}`]);
    await query(db.url, `CREATE TABLE public."t${EVIL}" (id int)`);
  });
  afterAll(async () => {
    work.cleanup();
    await db.drop();
  });

  it('sync prints hostile slugs, ids and messages escaped (colours off and on), and stores the data as written', async () => {
    const plain = await run(['sync', work.dir, '--creator', `mind${EVIL}`]);
    expect(plain.code, plain.stderr).toBe(25);
    expectNoControl(plain);
    expect(plain.stdout).toContain('esc-0002\\x1b]0;pwned\\x07\\x1b[2J\\x1b[8m\\u202e');
    expect(plain.stdout).toContain('lesson 9.9\\x1b]0;pwned');
    const titles = await query<{ title: string }>(db.url, `SELECT title FROM contents WHERE strpos(title, $1) > 0`, [EVIL]);
    expect(titles.length).toBe(2); // outline and lesson: data is kept exactly; only printing escapes it

    await query(db.url, `UPDATE contents SET title = title || ' again' WHERE slug = 'outline' AND strpos(title, $1) > 0`, [EVIL]);
    const coloured = await run(['sync', work.dir], true);
    expect(coloured.code).toBe(25);
    expectOnlyOwnColours(coloured);
  });

  it('tree, verify, monitor, minds list, status and rls-audit print rows and catalog names escaped', async () => {
    await run(['sync', path.join(work.dir, 'esc-0001'), path.join(work.dir, 'esc-0002'), '--creator', `mind${EVIL}`]);
    await query(db.url, `UPDATE contents c SET title = $1 FROM content_projects p WHERE p.id = c.project_id AND p.slug = 'esc-0001' AND c.slug = 'lesson-1-2'`, [`Changed ${EVIL}`]);
    for (const args of [['tree', 'esc-0001'], ['verify', path.join(work.dir, 'esc-0001')], ['monitor'], ['minds', 'list'], ['status'], ['rls-audit', '--no-matrix']]) {
      const plain = await run(args);
      expect(plain.stdout.length, args.join(' ')).toBeGreaterThan(0);
      expectNoControl(plain);
      const coloured = await run(args, true);
      expectOnlyOwnColours(coloured);
    }
    const tree = await run(['tree', 'esc-0001']);
    expect(tree.stdout).toContain('Evil \\x1b]0;pwned\\x07\\x1b[2J\\x1b[8m\\u202e course');
    const minds = await run(['minds', 'list']);
    expect(minds.stdout).toContain('mind\\x1b]0;pwned');
    const status = await run(['status']);
    expect(status.stdout).toContain('public.t\\x1b]0;pwned');
  });

  it('an error line naming hostile input is escaped', async () => {
    const result = await run(['tree', `nope${EVIL}`]);
    expect(result.code).toBe(15);
    expectNoControl(result);
    expect(result.stderr).toContain("project 'nope\\x1b]0;pwned");
  });
});

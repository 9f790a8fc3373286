import { describe, expect, it } from 'vitest';
import { parseCourse } from '../../../src/courses/parse.ts';
import { atxHeading, parseBrief } from '../../../src/courses/brief.ts';
import { parseCurriculum } from '../../../src/courses/curriculum.ts';
import { sha256, type CourseFolder } from '../../../src/courses/model.ts';

const BRIEF = `# COURSE-BRIEF: Postgres for Creators

## 1. Basic Information
- **Title:** Postgres for Creators
- **Description:** Learn Postgres by building a course platform.

## 2. ICP (Ideal Customer Profile)
Solo creators who outgrew spreadsheets.
- **Level:** beginner

### Demographics
- Age: 25-40
- Role: creator

### Pain Points
- Data scattered across tools

## 3. Content
Not the ICP.
`;

const CURRICULUM = `course:
  slug: pg-creators
modules:
  - number: 1
    title: Foundations
    lessons:
      - id: "1.1"
        title: What is Postgres
        fidelity_score: 0.9
        objectives: [understand tables]
      - id: 1.10
        title: Tenth lesson
  - title: Second
    slug: mod-two
    lessons:
      - id: "2.1"
`;

function folder(overrides: Partial<CourseFolder> = {}): CourseFolder {
  return {
    dir: 'courses/pg',
    name: 'pg',
    brief: BRIEF,
    curriculum: CURRICULUM,
    lessons: { '1.1-intro.md': '# Intro\n\nbody 1', '1.10-tenth.md': 'body 10', '2.1-second.md': '# From the file\n\nbody 2' },
    research: { '01-market.md': '# Market\n\ntext' },
    ...overrides,
  };
}

describe('parseBrief', () => {
  it('reads the title, the description and the ICP section as an audience profile', () => {
    const brief = parseBrief(BRIEF);
    expect(brief.title).toBe('Postgres for Creators');
    expect(brief.description).toBe('Learn Postgres by building a course platform.');
    expect(brief.icp).toEqual({
      name: 'ICP (Ideal Customer Profile)',
      profile: {
        source: 'COURSE-BRIEF.md',
        heading: '2. ICP (Ideal Customer Profile)',
        summary: 'Solo creators who outgrew spreadsheets.',
        fields: { level: 'beginner' },
        sections: { demographics: ['Age: 25-40', 'Role: creator'], pain_points: ['Data scattered across tools'] },
      },
    });
  });

  it('reads headings as before, in linear time', () => {
    expect(['# Title ##', '## Sub #', '#NoSpace', '####### seven', '#\tTab  ', '# a # b #'].map(atxHeading)).toEqual([
      { level: 1, text: 'Title' }, { level: 2, text: 'Sub' }, null, null, { level: 1, text: 'Tab' }, { level: 1, text: 'a # b' },
    ]);
    const long = `# a${' '.repeat(1_000_000)}b`;
    expect(atxHeading(long)?.text.length).toBe(1_000_002);
  });

  it('has no profile when the brief has no ICP section', () => {
    expect(parseBrief('# Title\n\n## Basics\n- x\n').icp).toBeNull();
  });
});

describe('parseCurriculum', () => {
  it('keeps ids as written (1.10 is not 1.1)', () => {
    const { curriculum } = parseCurriculum(CURRICULUM);
    expect(curriculum?.modules[0]?.lessons.map((l) => l.id)).toEqual(['1.1', '1.10']);
    expect(curriculum?.modules[0]?.lessons[0]?.extra).toEqual({ objectives: ['understand tables'] });
  });

  it('names the line and column of invalid YAML', () => {
    const { curriculum, problems } = parseCurriculum('modules:\n  - title: [unclosed\n    lessons: x\n');
    expect(curriculum).toBeNull();
    expect(problems[0]).toMatchObject({ kind: 'yaml', file: 'curriculum.yaml', line: expect.any(Number) });
    expect(problems[0]?.message).toMatch(/^invalid YAML: /);
  });

  it('turns a billion-laughs document, a recursive alias and an oversized file into problems, not exceptions', () => {
    const laughs = ['a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]', ...'bcdefghi'.split('').map((n, i) => `${n}: &${n} [${Array(9).fill(`*${'abcdefgh'[i]}`).join(', ')}]`), 'modules: []'].join('\n');
    expect(parseCurriculum(laughs)).toMatchObject({ curriculum: null, problems: [{ kind: 'yaml', message: expect.stringMatching(/aliases expand too far/) }] });
    expect(parseCurriculum('loop: &x [1, *x]\nmodules: []\n')).toMatchObject({ curriculum: null, problems: [{ kind: 'yaml', message: expect.stringMatching(/refers to the mapping or list that contains it/) }] });
    expect(parseCurriculum(`modules: []\npad: "${'x'.repeat(1024 * 1024)}"\n`).problems[0]?.message).toMatch(/larger than 1048576 bytes/);
    expect(parseCurriculum(`${'['.repeat(5000)}${']'.repeat(5000)}`).problems[0]?.kind).toBe('yaml');
  });

  it('keeps a few aliases, expanded as the stored metadata has them', () => {
    const { curriculum } = parseCurriculum('common: &goals [plan, ship]\nmodules:\n  - title: A\n    lessons:\n      - { id: "1.1", title: x, objectives: *goals }\n');
    expect(curriculum?.modules[0]?.lessons[0]?.extra).toEqual({ objectives: ['plan', 'ship'] });
    expect(curriculum?.json.common).toEqual(['plan', 'ship']);
  });

  it('names the line of a shape problem', () => {
    const { problems } = parseCurriculum('modules:\n  - title: A\n    lessons:\n      - title: no id\n');
    expect(problems).toEqual([{ kind: 'shape', file: 'curriculum.yaml', line: 4, column: 9, message: 'lesson 1 of module 1 has no id (such as "1.1")' }]);
  });
});

describe('parseCourse', () => {
  it('turns a folder into outline, modules, research and lessons with order and parents', () => {
    const { model, problems, warnings } = parseCourse(folder());
    expect(problems).toEqual([]);
    expect(warnings).toEqual([]);
    expect(model?.slug).toBe('pg-creators');
    expect(model?.name).toBe('Postgres for Creators');
    expect(model?.profile?.name).toBe('ICP (Ideal Customer Profile)');
    expect(model?.nodes.map((n) => [n.slug, n.type, n.parent, n.order, n.title])).toEqual([
      ['outline', 'course_outline', null, 0, 'Postgres for Creators'],
      ['module-1', 'course_module', 'outline', 1, 'Foundations'],
      ['mod-two', 'course_module', 'outline', 2, 'Second'],
      ['research-01-market', 'course_research', 'outline', 3, 'Market'],
      ['1.1-intro', 'course_lesson', 'module-1', 1, 'What is Postgres'],
      ['1.10-tenth', 'course_lesson', 'module-1', 2, 'Tenth lesson'],
      ['2.1-second', 'course_lesson', 'mod-two', 1, 'From the file'],
    ]);
    const lesson = model!.nodes.find((n) => n.slug === '1.1-intro')!;
    expect(lesson.contentSha256).toBe(sha256('# Intro\n\nbody 1'));
    expect(lesson.fidelityScore).toBe(0.9);
    expect(lesson.metadata).toEqual({ lesson_id: '1.1', source_file: 'lessons/1.1-intro.md', objectives: ['understand tables'] });
  });

  it('reports a listed lesson whose file is missing, and keeps the rest of the model', () => {
    const lessons = { '1.1-intro.md': '# Intro', '2.1-second.md': '# Two' };
    const { model, problems } = parseCourse(folder({ lessons }));
    expect(problems).toEqual([{ kind: 'lesson-file-missing', file: 'curriculum.yaml', line: 11, message: 'lesson 1.10 is listed but no lessons/1.10-*.md exists' }]);
    expect(model?.nodes.find((n) => n.slug === 'lesson-1.10')?.content).toBeNull();
  });

  it('reports duplicate slugs, unlisted files as warnings, and NUL bytes', () => {
    const curriculum = 'modules:\n  - title: A\n    lessons:\n      - { id: "1.1", slug: same, title: x }\n      - { id: "1.2", slug: same, title: y }\n';
    const { problems, warnings } = parseCourse(folder({ curriculum, lessons: { '1.1-a.md': 'a', '1.2-b.md': 'b\u0000', '9.9-extra.md': 'z' } }));
    expect(problems.map((p) => [p.kind, p.file, p.line])).toEqual([
      ['duplicate-slug', 'curriculum.yaml', 5],
      ['nul-byte', 'lessons/1.2-b.md', undefined],
    ]);
    expect(warnings.map((w) => w.file)).toEqual(['lessons/9.9-extra.md']);
  });

  it('reports the files the reader refused, and not also as missing', () => {
    const refused = [
      { kind: 'outside-folder' as const, file: 'COURSE-BRIEF.md', message: 'leads outside the course folder' },
      { kind: 'invalid-utf8' as const, file: 'lessons/1.1-intro.md', message: 'is not valid UTF-8 (first bad byte at offset 3)' },
    ];
    expect(parseCourse(folder({ brief: null, refused })).problems).toEqual(refused);
    const lessons = { '1.10-tenth.md': 'body 10', '2.1-second.md': '# Two' };
    const { model, problems, warnings } = parseCourse(folder({ lessons, refused: [refused[1]!] }));
    expect(problems).toEqual([refused[1]]);
    expect(warnings).toEqual([]);
    expect(model?.nodes.find((n) => n.slug === '1.1-intro')?.content).toBeNull();
  });

  it('says a folder without curriculum.yaml or brief is not a course', () => {
    const { model, problems } = parseCourse(folder({ curriculum: null, brief: null }));
    expect(model).toBeNull();
    expect(problems.map((p) => p.file)).toEqual(['curriculum.yaml', 'COURSE-BRIEF.md']);
  });
});

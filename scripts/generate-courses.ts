/**
 * Writes N synthetic course folders in the seeds' layout (COURSE-BRIEF.md with an ICP section,
 * curriculum.yaml, lessons/<id>-<slug>.md, research/*.md), for tests and benchmarks. The text is
 * made up here from a small vocabulary and a seeded generator: the same arguments give the same
 * bytes.
 *
 *   npx tsx scripts/generate-courses.ts <out-dir> [--count 10] [--lessons 20] [--modules 4] [--seed 1] [--prefix course]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';

export interface GenerateOptions {
  count: number;
  lessons?: number;
  modules?: number;
  seed?: number;
  prefix?: string;
  /** Paragraphs per lesson (about 300 bytes each). */
  paragraphs?: number;
}

const WORDS = (
  'database schema table row column index query policy tenant project lesson module course outline brief audience creator persona voice ' +
  'fidelity score migration backup restore transaction lock batch insert update upsert commit rollback trigger function view grant role ' +
  'learn build ship test measure review deploy monitor verify secure design model explain practise apply compare choose avoid improve ' +
  'simple clear fast safe small careful honest useful real typical common rare modern classic practical hands-on step-by-step'
).split(' ');
const TOPICS = ['Postgres', 'Row-Level Security', 'Supabase', 'TypeScript', 'Migrations', 'Indexes', 'Backups', 'JSONB', 'Transactions', 'Auth'];

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function courseSlug(prefix: string, index: number): string {
  return `${prefix}-${String(index).padStart(4, '0')}`;
}

function writer(random: () => number) {
  const pick = <T>(items: readonly T[]) => items[Math.floor(random() * items.length)]!;
  const words = (n: number) => Array.from({ length: n }, () => pick(WORDS)).join(' ');
  const sentence = () => {
    const s = words(8 + Math.floor(random() * 10));
    return `${s[0]!.toUpperCase()}${s.slice(1)}.`;
  };
  const paragraph = () => Array.from({ length: 3 + Math.floor(random() * 3) }, sentence).join(' ');
  const title = () => {
    const t = `${words(2 + Math.floor(random() * 3))} ${pick(TOPICS)}`;
    return `${t[0]!.toUpperCase()}${t.slice(1)}`;
  };
  const slugOf = (text: string) => text.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');
  return { pick, words, sentence, paragraph, title, slugOf };
}

/** Writes one course folder; returns its slug. */
export function generateCourse(outDir: string, index: number, options: GenerateOptions): string {
  const lessonsPerCourse = options.lessons ?? 20;
  const moduleCount = Math.max(1, Math.min(options.modules ?? 4, lessonsPerCourse));
  const w = writer(rng((options.seed ?? 1) * 100_003 + index));
  const slug = courseSlug(options.prefix ?? 'course', index);
  const dir = path.join(outDir, slug);
  mkdirSync(path.join(dir, 'lessons'), { recursive: true });
  mkdirSync(path.join(dir, 'research'), { recursive: true });
  const courseTitle = `${w.title()} ${index}`;
  const description = w.sentence();
  writeFileSync(path.join(dir, 'COURSE-BRIEF.md'), [
    `# COURSE-BRIEF: ${courseTitle}`, '', '## 1. Basic Information', `- **Title:** ${courseTitle}`, `- **Slug:** ${slug}`, `- **Description:** ${description}`, '',
    '## 2. ICP (Ideal Customer Profile)', w.paragraph(), '', '### Demographics', `- Age: ${25 + (index % 10)}-${40 + (index % 10)}`, `- Role: ${w.words(2)}`, '',
    '### Pain Points', `- ${w.sentence()}`, `- ${w.sentence()}`, '', '### Goals', `- ${w.sentence()}`, `- ${w.sentence()}`, '',
    '## 3. Content & Pedagogy', w.paragraph(), '',
  ].join('\n'));
  const modules = [];
  let lessonIndex = 0;
  for (let m = 1; m <= moduleCount; m++) {
    const count = Math.floor(lessonsPerCourse / moduleCount) + (m <= lessonsPerCourse % moduleCount ? 1 : 0);
    const lessons = [];
    for (let l = 1; l <= count; l++) {
      lessonIndex += 1;
      const title = w.title();
      const id = `${m}.${l}`;
      const file = `${id}-${w.slugOf(title).slice(0, 40)}.md`;
      const body = [`# ${title}`, '', '## Goal', w.paragraph(), '', '## Lesson', ...Array.from({ length: options.paragraphs ?? 4 }, () => `${w.paragraph()}\n`), '## Practice', `1. ${w.sentence()}`, `2. ${w.sentence()}`, ''].join('\n');
      writeFileSync(path.join(dir, 'lessons', file), body);
      lessons.push({ id, title, slug: `lesson-${id.replace('.', '-')}`, fidelity_score: Math.round((0.7 + w.pick([0, 1, 2, 3, 4, 5]) * 0.05) * 100) / 100, duration_minutes: 5 + (lessonIndex % 4) * 5, objectives: [w.sentence(), w.sentence()] });
    }
    modules.push({ number: m, title: `Module ${m}: ${w.title()}`, lessons });
  }
  writeFileSync(path.join(dir, 'curriculum.yaml'), stringify({ course: { slug, title: courseTitle, description }, modules }));
  writeFileSync(path.join(dir, 'research', '01-market-analysis.md'), `# Market analysis\n\n${w.paragraph()}\n`);
  writeFileSync(path.join(dir, 'research', '02-gap-analysis.md'), `# Gap analysis\n\n${w.paragraph()}\n`);
  return slug;
}

export function generateCourses(outDir: string, options: GenerateOptions): string[] {
  return Array.from({ length: options.count }, (_, i) => generateCourse(outDir, i + 1, options));
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.filename)) {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { count: { type: 'string', default: '10' }, lessons: { type: 'string', default: '20' }, modules: { type: 'string', default: '4' }, seed: { type: 'string', default: '1' }, prefix: { type: 'string', default: 'course' } },
  });
  const out = positionals[0];
  if (!out) {
    process.stderr.write('usage: tsx scripts/generate-courses.ts <out-dir> [--count 10] [--lessons 20] [--modules 4] [--seed 1] [--prefix course]\n');
    process.exit(2);
  }
  const slugs = generateCourses(out, { count: Number(values.count), lessons: Number(values.lessons), modules: Number(values.modules), seed: Number(values.seed), prefix: values.prefix });
  process.stdout.write(`wrote ${slugs.length} course folders to ${out}\n`);
}

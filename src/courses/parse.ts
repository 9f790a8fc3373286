/**
 * A course folder (already read into memory) to the rows it stands for, with every problem named
 * by file and line. Pure: no filesystem, no database.
 *
 * Rows: the course outline (slug `outline`, the brief as its content), one course_module per
 * curriculum module (children of the outline, in order), one course_lesson per listed lesson
 * (children of their module, in order, the lesson file as content) and one course_research per
 * research/*.md (children of the outline, by file name).
 */
import path from 'node:path';
import { atxHeading, parseBrief } from './brief.js';
import { parseCurriculum, type CurriculumLesson } from './curriculum.js';
import { BRIEF_FILE, CURRICULUM_FILE, LESSONS_DIR, OUTLINE_SLUG, RESEARCH_DIR, sha256, type CourseFolder, type CourseNode, type CourseProblem, type ParsedCourse } from './model.js';

/** The text of the first level-1 heading, if it has any. */
function firstHeading(text: string): string | null {
  for (const line of text.split('\n')) {
    const heading = atxHeading(line);
    if (heading?.level === 1) return heading.text || null;
  }
  return null;
}
const stem = (file: string) => path.posix.basename(file).replace(/\.md$/i, '');

function node(fields: Omit<CourseNode, 'contentSha256'>): CourseNode {
  return { ...fields, contentSha256: fields.content === null ? null : sha256(fields.content) };
}

/** The lesson file a curriculum entry names, or the one lessons/<id>-*.md that matches its id. */
function lessonFile(lesson: CurriculumLesson, files: readonly string[]): { file: string } | { problem: Omit<CourseProblem, 'file'> } {
  if (lesson.file) {
    const normal = path.posix.normalize(lesson.file.replaceAll('\\', '/'));
    if (path.posix.dirname(normal) !== LESSONS_DIR) return { problem: { kind: 'shape', line: lesson.line, message: `lesson ${lesson.id}: file ${lesson.file} must be in ${LESSONS_DIR}/` } };
    const name = path.posix.basename(normal);
    return files.includes(name) ? { file: name } : { problem: { kind: 'lesson-file-missing', line: lesson.line, message: `lesson ${lesson.id} is listed but ${normal} does not exist` } };
  }
  const matches = files.filter((f) => f === `${lesson.id}.md` || (f.startsWith(`${lesson.id}-`) && f.endsWith('.md')));
  if (matches.length === 1) return { file: matches[0]! };
  if (matches.length > 1) return { problem: { kind: 'ambiguous-file', line: lesson.line, message: `lesson ${lesson.id} matches ${matches.length} files (${matches.map((m) => `${LESSONS_DIR}/${m}`).join(', ')}); name one with file:` } };
  return { problem: { kind: 'lesson-file-missing', line: lesson.line, message: `lesson ${lesson.id} is listed but no ${LESSONS_DIR}/${lesson.id}-*.md exists` } };
}

export function parseCourse(folder: CourseFolder): ParsedCourse {
  // Files the reader refused are problems of the course, and not also "missing".
  const problems: CourseProblem[] = [...(folder.refused ?? [])];
  const refused = new Set(problems.map((p) => p.file));
  const warnings: CourseProblem[] = [];
  if (folder.curriculum === null && !refused.has(CURRICULUM_FILE)) problems.push({ kind: 'not-a-course', file: CURRICULUM_FILE, message: `missing: ${folder.dir} is not a course folder (expected ${BRIEF_FILE}, ${CURRICULUM_FILE}, ${LESSONS_DIR}/*.md)` });
  if (folder.brief === null && !refused.has(BRIEF_FILE)) problems.push({ kind: 'not-a-course', file: BRIEF_FILE, message: 'missing: the course brief is the outline of the course' });
  if (folder.curriculum === null || folder.brief === null) return { model: null, problems, warnings };

  const parsed = parseCurriculum(folder.curriculum);
  if (!parsed.curriculum) return { model: null, problems: [...problems, ...parsed.problems], warnings };
  const { curriculum } = parsed;
  const brief = parseBrief(folder.brief);
  const slug = curriculum.course.slug ?? folder.name;
  const name = curriculum.course.title ?? brief.title ?? slug;
  const refusedLessons = [...refused].filter((f) => path.posix.dirname(f) === LESSONS_DIR).map((f) => path.posix.basename(f));
  const lessonFiles = [...new Set([...Object.keys(folder.lessons), ...refusedLessons])].sort();
  const used = new Set<string>();
  const totalLessons = curriculum.modules.reduce((n, m) => n + m.lessons.length, 0);

  const nodes: CourseNode[] = [
    node({ slug: OUTLINE_SLUG, type: 'course_outline', parent: null, order: 0, title: name, content: folder.brief, metadata: { source_file: BRIEF_FILE, total_modules: curriculum.modules.length, total_lessons: totalLessons }, fidelityScore: null, file: BRIEF_FILE }),
  ];
  const lessonNodes: CourseNode[] = [];
  const lines = new Map<string, number>();
  curriculum.modules.forEach((module, mi) => {
    const moduleSlug = module.slug ?? `module-${module.number}`;
    lines.set(moduleSlug, module.line);
    nodes.push(node({ slug: moduleSlug, type: 'course_module', parent: OUTLINE_SLUG, order: mi + 1, title: module.title, content: null, metadata: { module_number: module.number, ...module.extra }, fidelityScore: null, file: null }));
    module.lessons.forEach((lesson, li) => {
      const found = lessonFile(lesson, lessonFiles);
      const file = 'file' in found ? found.file : null;
      // With lessons/ refused as a whole, its files are not also "missing".
      if ('problem' in found && !(found.problem.kind === 'lesson-file-missing' && refused.has(`${LESSONS_DIR}/`))) problems.push({ ...found.problem, file: CURRICULUM_FILE });
      if (file) used.add(file);
      const content = file ? (folder.lessons[file] ?? null) : null;
      const lessonSlug = lesson.slug ?? (file ? stem(file) : `lesson-${lesson.id}`);
      const title = lesson.title ?? (content ? firstHeading(content) : null);
      if (!title && content !== null) problems.push({ kind: 'shape', file: CURRICULUM_FILE, line: lesson.line, message: `lesson ${lesson.id} has no title (give title: or start ${LESSONS_DIR}/${file} with a # heading)` });
      lines.set(lessonSlug, lesson.line);
      const relative = file ? `${LESSONS_DIR}/${file}` : null;
      lessonNodes.push(node({ slug: lessonSlug, type: 'course_lesson', parent: moduleSlug, order: li + 1, title: title ?? lesson.id, content, metadata: { lesson_id: lesson.id, ...(relative ? { source_file: relative } : {}), ...lesson.extra }, fidelityScore: lesson.fidelityScore, file: relative }));
    });
  });
  Object.keys(folder.research).sort().forEach((file, i) => {
    const content = folder.research[file]!;
    nodes.push(node({ slug: `research-${stem(file)}`, type: 'course_research', parent: OUTLINE_SLUG, order: curriculum.modules.length + i + 1, title: firstHeading(content) ?? stem(file), content, metadata: { source_file: `${RESEARCH_DIR}/${file}` }, fidelityScore: null, file: `${RESEARCH_DIR}/${file}` }));
  });
  nodes.push(...lessonNodes);

  const seen = new Set<string>();
  for (const n of nodes) {
    if (seen.has(n.slug)) problems.push({ kind: 'duplicate-slug', file: n.file?.startsWith(RESEARCH_DIR) ? n.file : CURRICULUM_FILE, ...(lines.has(n.slug) ? { line: lines.get(n.slug)! } : {}), slug: n.slug, message: `slug '${n.slug}' is used twice in this course (slugs are unique per project)` });
    seen.add(n.slug);
    if (n.content?.includes('\u0000')) problems.push({ kind: 'nul-byte', file: n.file ?? CURRICULUM_FILE, slug: n.slug, message: 'contains a NUL byte, which PostgreSQL text cannot store' });
  }
  for (const file of lessonFiles) {
    if (!used.has(file) && !refused.has(`${LESSONS_DIR}/${file}`)) warnings.push({ kind: 'unlisted-file', file: `${LESSONS_DIR}/${file}`, message: `not listed in ${CURRICULUM_FILE}: not synced` });
  }
  return {
    model: {
      dir: folder.dir,
      slug,
      name,
      description: curriculum.course.description ?? brief.description,
      metadata: { source: 'dbkit sync', brief_sha256: sha256(folder.brief), curriculum: curriculum.json, total_modules: curriculum.modules.length, total_lessons: totalLessons },
      profile: brief.icp,
      nodes,
    },
    problems,
    warnings,
  };
}

/**
 * The filesystem edge of course handling: which folders are courses, and reading one into memory.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { DbkitError } from '../errors.js';
import { BRIEF_FILE, CURRICULUM_FILE, CURRICULUM_MAX_BYTES, LESSONS_DIR, MARKDOWN_MAX_BYTES, RESEARCH_DIR, type CourseFolder, type CourseProblem } from './model.js';
import { courseRoot, readCourseFile, resolveSubfolder } from './files.js';

const looksLikeCourse = (dir: string) => [CURRICULUM_FILE, BRIEF_FILE, LESSONS_DIR].some((f) => existsSync(path.join(dir, f)));

/**
 * Each argument is a course folder, or a folder of course folders (such as outputs/courses).
 * A name that does not exist fails the whole command before anything is read or written.
 */
export function expandCourseDirs(args: readonly string[], cwd: string): string[] {
  if (args.length === 0) throw new DbkitError('USAGE', 'no course folder given', { hint: 'name one or more course folders, e.g. dbkit sync outputs/courses/my-course (or outputs/courses for all)' });
  const out: string[] = [];
  const seen = new Set<string>();
  const add = (dir: string) => {
    const key = path.resolve(cwd, dir);
    if (!seen.has(key)) {
      seen.add(key);
      out.push(dir);
    }
  };
  for (const arg of args) {
    const full = path.resolve(cwd, arg);
    if (!existsSync(full)) throw new DbkitError('NOT_FOUND', `course folder ${arg} does not exist`, { hint: 'check the path (course folders hold COURSE-BRIEF.md, curriculum.yaml and lessons/)' });
    if (!statSync(full).isDirectory()) throw new DbkitError('NOT_FOUND', `${arg} is not a folder`, { hint: 'name the course folder, not a file in it' });
    if (looksLikeCourse(full)) {
      add(arg);
      continue;
    }
    const children = readdirSync(full, { withFileTypes: true })
      .filter((d) => d.isDirectory() && looksLikeCourse(path.join(full, d.name)))
      .map((d) => path.join(arg, d.name))
      .sort();
    if (children.length === 0) add(arg);
    else children.forEach(add);
  }
  return out;
}

// Synchronous on purpose: a course is a few dozen small files, and the async calls' thread-pool
// round trips cost more than the reads (measured on 200 courses).
function readMarkdownDir(root: string, relative: string, refused: CourseProblem[]): Record<string, string> {
  const folder = resolveSubfolder(root, relative);
  if (folder.kind === 'absent') return {};
  if (folder.kind === 'refused') {
    refused.push(folder.problem);
    return {};
  }
  // Links are listed too: each is followed and held to the same rule as a plain file.
  const names = readdirSync(folder.path, { withFileTypes: true })
    .filter((d) => !d.isDirectory() && d.name.toLowerCase().endsWith('.md'))
    .map((d) => d.name)
    .sort();
  const out: Record<string, string> = {};
  for (const name of names) {
    const read = readCourseFile(root, `${relative}/${name}`, MARKDOWN_MAX_BYTES);
    if (read.kind === 'text') out[name] = read.text;
    else if (read.kind === 'refused') refused.push(read.problem);
  }
  return out;
}

function readTopFile(root: string, file: string, maxBytes: number, refused: CourseProblem[]): string | null {
  const read = readCourseFile(root, file, maxBytes);
  if (read.kind === 'text') return read.text;
  if (read.kind === 'refused') refused.push(read.problem);
  return null;
}

/**
 * Reads a course folder into memory. Every file read resolves inside the folder, is a regular
 * file within the size limit and valid UTF-8; a file that is not is left out and named in
 * `refused` (so the course is reported invalid, not synced without it).
 */
export async function readCourseFolder(dir: string, cwd: string): Promise<CourseFolder> {
  const full = path.resolve(cwd, dir);
  const root = courseRoot(full);
  const refused: CourseProblem[] = [];
  // Gone since it was listed: nothing to read, and parseCourse says it is not a course.
  if (root === null) return { dir, name: path.basename(full), brief: null, curriculum: null, lessons: {}, research: {}, refused };
  return {
    dir,
    name: path.basename(full),
    brief: readTopFile(root, BRIEF_FILE, MARKDOWN_MAX_BYTES, refused),
    curriculum: readTopFile(root, CURRICULUM_FILE, CURRICULUM_MAX_BYTES, refused),
    lessons: readMarkdownDir(root, LESSONS_DIR, refused),
    research: readMarkdownDir(root, RESEARCH_DIR, refused),
    refused,
  };
}

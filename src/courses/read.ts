/**
 * The filesystem edge of course handling: which folders are courses, and reading one into memory.
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { DbkitError } from '../errors.js';
import { BRIEF_FILE, CURRICULUM_FILE, LESSONS_DIR, RESEARCH_DIR, type CourseFolder } from './model.js';

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
function readOptional(file: string): string | null {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

function readMarkdownDir(dir: string): Record<string, string> {
  let names: string[];
  try {
    names = readdirSync(dir, { withFileTypes: true }).filter((d) => d.isFile() && d.name.toLowerCase().endsWith('.md')).map((d) => d.name);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw error;
  }
  return Object.fromEntries(names.sort().map((name) => [name, readFileSync(path.join(dir, name), 'utf8')]));
}

export async function readCourseFolder(dir: string, cwd: string): Promise<CourseFolder> {
  const full = path.resolve(cwd, dir);
  return {
    dir,
    name: path.basename(full),
    brief: readOptional(path.join(full, BRIEF_FILE)),
    curriculum: readOptional(path.join(full, CURRICULUM_FILE)),
    lessons: readMarkdownDir(path.join(full, LESSONS_DIR)),
    research: readMarkdownDir(path.join(full, RESEARCH_DIR)),
  };
}

/**
 * A course folder as the seeds lay it out (outputs/courses/<slug>/ with COURSE-BRIEF.md,
 * curriculum.yaml, lessons/*.md, research/*.md), and the database rows it stands for.
 */
import { createHash } from 'node:crypto';
import type { ContentType, JsonObject } from '../core/course-sql.js';

export const BRIEF_FILE = 'COURSE-BRIEF.md';
export const CURRICULUM_FILE = 'curriculum.yaml';
export const LESSONS_DIR = 'lessons';
export const RESEARCH_DIR = 'research';
export const OUTLINE_SLUG = 'outline';

/** What was read from one folder: file names to text, nothing interpreted yet. */
export interface CourseFolder {
  /** The folder as the user named it, for messages. */
  dir: string;
  name: string;
  brief: string | null;
  curriculum: string | null;
  lessons: Record<string, string>;
  research: Record<string, string>;
  /**
   * Files the reader refused, each with its problem (a link leading out of the folder, not a
   * regular file, too large, not UTF-8): they are absent from the fields above, and the course is
   * not written.
   */
  refused?: CourseProblem[];
}

/** The largest curriculum.yaml read (a curriculum is a few kilobytes), and the largest it may expand to. */
export const CURRICULUM_MAX_BYTES = 1024 * 1024;
export const CURRICULUM_MAX_JSON_CHARS = 4 * 1024 * 1024;
/** At most this many alias expansions (counted the `yaml` package's way, nested aliases multiply). */
export const CURRICULUM_MAX_ALIASES = 100;
/** The largest brief, lesson or research file read. */
export const MARKDOWN_MAX_BYTES = 16 * 1024 * 1024;

/** One row of `contents`, keyed by its slug within the project. */
export interface CourseNode {
  slug: string;
  type: ContentType;
  parent: string | null;
  order: number;
  title: string;
  /** Null when the file the curriculum lists is missing. */
  content: string | null;
  contentSha256: string | null;
  /** Keys dbkit sync owns in contents.metadata (other keys in the row are left alone). */
  metadata: JsonObject;
  /** Only when the curriculum gives one; otherwise the stored score is kept. */
  fidelityScore: number | null;
  /** Relative to the course folder. */
  file: string | null;
}

export interface AudienceProfile {
  name: string;
  profile: JsonObject;
}

export interface CourseModel {
  dir: string;
  slug: string;
  name: string;
  description: string | null;
  /** Keys dbkit sync owns in content_projects.project_metadata. */
  metadata: JsonObject;
  profile: AudienceProfile | null;
  /** Parents before children: the outline, then modules and research, then lessons. */
  nodes: CourseNode[];
}

export const PROBLEM_KINDS = [
  'not-a-course', 'yaml', 'shape', 'lesson-file-missing', 'ambiguous-file', 'duplicate-slug', 'unlisted-file', 'nul-byte',
  // refused by the reader
  'outside-folder', 'not-a-file', 'too-large', 'invalid-utf8', 'changed-while-read',
] as const;
export type ProblemKind = (typeof PROBLEM_KINDS)[number];

export interface CourseProblem {
  kind: ProblemKind;
  /** Relative to the course folder. */
  file: string;
  line?: number;
  column?: number;
  message: string;
  slug?: string;
}

export interface ParsedCourse {
  /** Null when the folder cannot be read as a course at all. */
  model: CourseModel | null;
  /** Any problem makes the course unsyncable. */
  problems: CourseProblem[];
  /** Worth saying, not blocking (a lesson file no curriculum entry lists). */
  warnings: CourseProblem[];
}

export function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

export function formatProblem(problem: CourseProblem): string {
  const where = problem.line ? `${problem.file}:${problem.line}${problem.column ? `:${problem.column}` : ''}` : problem.file;
  return `${where}: ${problem.message}`;
}

/** Depth of a node type in the tree (the write order of dbkit sync). */
export function levelOf(node: CourseNode): number {
  return node.parent === null ? 0 : node.type === 'course_lesson' ? 2 : 1;
}

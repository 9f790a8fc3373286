/**
 * curriculum.yaml: the modules of a course and their lessons, in order. Read with the `yaml`
 * package's document API so that every problem names its line and column, and so that a lesson id
 * such as 1.10 keeps its written form (as a YAML number it would become 1.1).
 *
 *   course: { slug, title, description }        # all optional
 *   modules:
 *     - number: 1                                # optional (default: position)
 *       slug: module-1                           # optional
 *       title: Foundations
 *       lessons:
 *         - id: "1.1"
 *           title: What is it
 *           slug: what-is-it                      # optional (default: the file name without .md)
 *           file: lessons/1.1-what-is-it.md       # optional (default: lessons/<id>-*.md)
 *           fidelity_score: 0.9                   # optional
 *           objectives: [...]                     # any other key is kept in the lesson's metadata
 */
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node as YamlNode, type YAMLMap } from 'yaml';
import { CURRICULUM_FILE, CURRICULUM_MAX_ALIASES, CURRICULUM_MAX_BYTES, CURRICULUM_MAX_JSON_CHARS, type CourseProblem } from './model.js';
import type { JsonObject } from '../core/course-sql.js';

export interface CurriculumLesson {
  id: string;
  title: string | null;
  slug: string | null;
  file: string | null;
  fidelityScore: number | null;
  extra: JsonObject;
  line: number;
}

export interface CurriculumModule {
  number: string;
  slug: string | null;
  title: string;
  extra: JsonObject;
  lessons: CurriculumLesson[];
  line: number;
}

export interface Curriculum {
  course: { slug: string | null; title: string | null; description: string | null };
  modules: CurriculumModule[];
  /** The whole document as JSON (kept in the project's metadata). */
  json: JsonObject;
}

const LESSON_KEYS = new Set(['id', 'title', 'slug', 'file', 'fidelity_score']);
const MODULE_KEYS = new Set(['number', 'slug', 'title', 'lessons', 'description']);

/**
 * Hostile input is expected: a file past CURRICULUM_MAX_BYTES, a document whose aliases expand
 * beyond CURRICULUM_MAX_ALIASES or CURRICULUM_MAX_JSON_CHARS (a "billion laughs"), a recursive
 * alias, or nesting too deep for the parser is a problem of this course, never an exception.
 */
export function parseCurriculum(text: string): { curriculum: Curriculum | null; problems: CourseProblem[] } {
  const fail = (message: string) => ({ curriculum: null, problems: [{ kind: 'yaml' as const, file: CURRICULUM_FILE, message }] });
  if (text.length > CURRICULUM_MAX_BYTES) return fail(`is larger than ${CURRICULUM_MAX_BYTES} bytes: a curriculum lists modules and lessons, not their text`);
  const lineCounter = new LineCounter();
  let doc: ReturnType<typeof parseDocument>;
  try {
    doc = parseDocument(text, { lineCounter, prettyErrors: true, uniqueKeys: true });
  } catch (error) {
    return fail(`invalid YAML: ${firstLine(error)}`);
  }
  const problems: CourseProblem[] = [];
  const at = (node: YamlNode | null | undefined) => {
    const offset = node?.range?.[0];
    if (offset === undefined) return {};
    const pos = lineCounter.linePos(offset);
    return { line: pos.line, column: pos.col };
  };
  const problem = (node: YamlNode | null | undefined, message: string) => problems.push({ kind: 'shape', file: CURRICULUM_FILE, ...at(node), message });
  if (doc.errors.length > 0) {
    const seen = new Set<string>();
    for (const error of doc.errors) {
      const pos = error.linePos?.[0];
      const key = `${pos?.line}:${pos?.col}:${error.code}`;
      if (seen.has(key)) continue; // the parser reports one unclosed bracket once per enclosing node
      seen.add(key);
      problems.push({ kind: 'yaml', file: CURRICULUM_FILE, ...(pos ? { line: pos.line, column: pos.col } : {}), message: `invalid YAML: ${error.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '')}` });
    }
    return { curriculum: null, problems };
  }
  const expanded = toPlainJson(doc);
  if (typeof expanded === 'string') return fail(expanded);
  const root = doc.contents;
  if (!isMap(root) || !isObject(expanded)) {
    problem(root, 'expected a mapping with a `modules:` list');
    return { curriculum: null, problems };
  }
  const course = root.get('course', true) as YamlNode | undefined;
  if (course !== undefined && !isMap(course)) problem(course, '`course:` must be a mapping (slug, title, description)');
  const modulesNode = root.get('modules', true) as YamlNode | undefined;
  if (!isSeq(modulesNode)) {
    problem(modulesNode ?? root, modulesNode ? '`modules:` must be a list' : 'no `modules:` list');
    return { curriculum: null, problems };
  }
  const modules: CurriculumModule[] = [];
  const modulesJson = Array.isArray(expanded.modules) ? expanded.modules : [];
  modulesNode.items.forEach((item, index) => {
    const node = item as YamlNode;
    const moduleJson = modulesJson[index];
    if (!isMap(node) || !isObject(moduleJson)) return problem(node, `module ${index + 1} must be a mapping with title and lessons`);
    const lessonsJson = Array.isArray(moduleJson.lessons) ? moduleJson.lessons : [];
    const title = stringAt(node, 'title');
    if (!title) problem(node, `module ${index + 1} has no title`);
    const lessonsNode = node.get('lessons', true) as YamlNode | undefined;
    if (!isSeq(lessonsNode)) return problem(lessonsNode ?? node, `module ${index + 1} (${title ?? 'untitled'}) needs a \`lessons:\` list`);
    const lessons: CurriculumLesson[] = [];
    lessonsNode.items.forEach((lessonItem, li) => {
      const ln = lessonItem as YamlNode;
      const lessonJson = lessonsJson[li];
      if (!isMap(ln) || !isObject(lessonJson)) return problem(ln, `lesson ${li + 1} of module ${index + 1} must be a mapping with an id`);
      const id = stringAt(ln, 'id');
      if (!id) return problem(ln, `lesson ${li + 1} of module ${index + 1} has no id (such as "${index + 1}.${li + 1}")`);
      const fidelity = ln.get('fidelity_score', true) as YamlNode | undefined;
      let fidelityScore: number | null = null;
      if (fidelity !== undefined) {
        const value = isScalar(fidelity) ? Number(fidelity.value) : Number.NaN;
        if (isScalar(fidelity) && typeof fidelity.value === 'number' && Number.isFinite(value)) fidelityScore = value;
        else problem(fidelity, `lesson ${id}: fidelity_score must be a number`);
      }
      lessons.push({ id, title: stringAt(ln, 'title'), slug: stringAt(ln, 'slug'), file: stringAt(ln, 'file'), fidelityScore, extra: extraOf(lessonJson, LESSON_KEYS), line: at(ln).line ?? 0 });
    });
    modules.push({ number: stringAt(node, 'number') ?? String(index + 1), slug: stringAt(node, 'slug'), title: title ?? '', extra: extraOf(moduleJson, MODULE_KEYS), lessons, line: at(node).line ?? 0 });
  });
  const courseMap = isMap(course) ? course : null;
  return {
    curriculum: problems.length > 0 ? null : {
      course: { slug: courseMap ? stringAt(courseMap, 'slug') : null, title: courseMap ? stringAt(courseMap, 'title') : null, description: courseMap ? stringAt(courseMap, 'description') : null },
      modules,
      json: expanded,
    },
    problems,
  };
}

/** A scalar as written in the file (so 1.10 stays "1.10"), trimmed; null when absent or empty. */
function stringAt(map: YAMLMap, key: string): string | null {
  const node = map.get(key, true) as YamlNode | undefined;
  if (!isScalar(node) || node.value === null || node.value === undefined) return null;
  const text = (typeof node.value === 'string' ? node.value : (node.source ?? String(node.value))).trim();
  return text === '' ? null : text;
}

function extraOf(value: JsonObject, known: ReadonlySet<string>): JsonObject {
  return Object.fromEntries(Object.entries(value).filter(([key]) => !known.has(key)));
}

const isObject = (value: unknown): value is JsonObject => typeof value === 'object' && value !== null && !Array.isArray(value);
const firstLine = (error: unknown) => (error instanceof Error ? error.message : String(error)).split('\n')[0]!;

/**
 * The document as plain JSON, aliases expanded within the bounds; a message when it cannot be
 * (too many aliases, a recursive alias, too large once expanded).
 */
function toPlainJson(doc: ReturnType<typeof parseDocument>): unknown {
  let text: string;
  try {
    text = JSON.stringify(doc.toJS({ maxAliasCount: CURRICULUM_MAX_ALIASES }) ?? null);
  } catch (error) {
    const message = firstLine(error);
    if (/alias/i.test(message)) return `its aliases expand too far (${message}): write the repeated parts out, or use fewer aliases`;
    if (/circular/i.test(message)) return 'an alias refers to the mapping or list that contains it, which has no end';
    return `cannot be read as data: ${message}`;
  }
  if (text.length > CURRICULUM_MAX_JSON_CHARS) return `expands to ${text.length} characters of data, more than ${CURRICULUM_MAX_JSON_CHARS}: a curriculum lists modules and lessons, not their text`;
  return JSON.parse(text) as unknown;
}

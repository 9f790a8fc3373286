/**
 * dbkit sync: course folders into the database. Each course is read and checked first (a
 * malformed one is reported file by file and not written), then compared with its rows and
 * written in one transaction under a per-project lock, so a course is whole or absent, two syncs
 * of one course never duplicate a row, and re-running changes nothing.
 */
import { Command, Option } from 'commander';
import type pg from 'pg';
import type { ResolvedConfig } from '../config.js';
import { DbkitError, pgErrorInfo } from '../errors.js';
import type { Reporter } from '../output/terminal.js';
import { withDatabaseTarget } from '../embedded/target.js';
import { type DatabaseTarget, databaseFacts } from '../db/target.js';
import { withTransaction } from '../db/scoped.js';
import { mapConcurrent } from '../core/concurrency.js';
import { formatDuration } from '../core/duration.js';
import { expandCourseDirs, readCourseFolder } from '../courses/read.js';
import { parseCourse } from '../courses/parse.js';
import { formatProblem, type CourseProblem } from '../courses/model.js';
import { planChanges, planSync, type Attribution, type NodeField, type ProjectChange } from '../courses/diff.js';
import { applySyncPlan, assertMindsExist, readCourseState } from '../courses/store.js';
import { withCourseClients } from '../courses/session.js';
import { classifyFailure } from '../persist/classify.js';
import { lockProject } from '../core/course-sql.js';
import { isPoolerError, poolerFailure } from '../core/pooler.js';
import { errorDocument, type ErrorDocument } from '../output/errors.js';
import { NO_PROGRESS, progressBar, type Progress } from '../output/progress.js';
import { plural, printable } from '../output/text.js';
import { runtimeFor } from '../runtime.js';

export interface SyncOptions {
  dirs: string[];
  dryRun: boolean;
  creator: string | null;
  persona: string | null;
  concurrency: number;
  onProgress?: (done: number, total: number) => void;
}

export const COURSE_SYNC_STATUSES = ['created', 'updated', 'unchanged', 'planned', 'failed'] as const;
export type CourseSyncStatus = (typeof COURSE_SYNC_STATUSES)[number];

export interface CourseSyncResult {
  dir: string;
  slug: string | null;
  status: CourseSyncStatus;
  problems: CourseProblem[];
  warnings: CourseProblem[];
  changes: { project: ProjectChange; create: string[]; update: { slug: string; fields: NodeField[] }[]; profile: ProjectChange | 'none'; links: string[] } | null;
  /** Rows of the project no file stands for: left as they are (dbkit verify lists them). */
  extra: string[];
  rowsWritten: number;
  error: ErrorDocument | null;
}

export interface SyncReport {
  command: 'sync';
  ok: boolean;
  dryRun: boolean;
  database: { url: string; kind: DatabaseTarget['kind']; name: string };
  courses: CourseSyncResult[];
  totals: Record<CourseSyncStatus, number> & { courses: number; rowsWritten: number };
  durationMs: number;
  rowsPerSecond: number;
  error: ErrorDocument | null;
}

async function syncOne(client: pg.ClientBase, dir: string, config: ResolvedConfig, options: SyncOptions): Promise<CourseSyncResult> {
  const parsed = parseCourse(await readCourseFolder(dir, config.cwd));
  const result: CourseSyncResult = { dir, slug: parsed.model?.slug ?? null, status: 'failed', problems: parsed.problems, warnings: parsed.warnings, changes: null, extra: [], rowsWritten: 0, error: null };
  if (!parsed.model || parsed.problems.length > 0) {
    result.error = errorDocument(new DbkitError('COURSE_INVALID', `${dir}: ${plural(parsed.problems.length, 'problem')}; nothing of this course was written`));
    return result;
  }
  const model = parsed.model;
  const attribution: Attribution = { creator: options.creator, persona: options.persona };
  try {
    await withTransaction(client, async (tx) => {
      await tx.query(lockProject(model.slug));
      const plan = planSync(model, await readCourseState(tx, model.slug), attribution);
      result.changes = {
        project: plan.project,
        create: plan.create.map((n) => n.slug),
        update: plan.update.map((u) => ({ slug: u.node.slug, fields: u.fields })),
        profile: plan.profile,
        links: plan.links.map((l) => `${l.role}:${l.mind}`),
      };
      result.extra = plan.extra;
      if (planChanges(plan) === 0) {
        result.status = 'unchanged';
        return;
      }
      if (options.dryRun) {
        result.status = 'planned';
        return;
      }
      result.rowsWritten = await applySyncPlan(tx, model, plan, attribution);
      result.status = plan.project === 'create' ? 'created' : 'updated';
    }, options.dryRun ? { readOnly: true } : {});
  } catch (error) {
    // Losing the server mid-run, or a privilege the role lacks, is not this course's fault:
    // stop the whole run (the top-level error names the GRANT).
    if (isPoolerError(error)) throw poolerFailure(error, `${dir}: nothing of this course was written`);
    if (classifyFailure(error, 'query') !== 'rejected' || pgErrorInfo(error)?.code === '42501') throw error;
    result.status = 'failed';
    result.rowsWritten = 0;
    result.error = errorDocument(new DbkitError('COURSE_INVALID', `${dir}: the database rejected the course (${(error as Error).message}); nothing of it was written`, { cause: error }));
  }
  return result;
}

export async function syncCourses(config: ResolvedConfig, options: SyncOptions, reporter: Reporter): Promise<SyncReport> {
  const started = performance.now();
  const dirs = expandCourseDirs(options.dirs, config.cwd);
  return withDatabaseTarget(config, reporter, async (target) => {
    const concurrency = Math.max(1, Math.min(options.concurrency, dirs.length));
    return withCourseClients(target, concurrency, 'dbkit sync', async (clients) => {
      await assertMindsExist(clients[0]!, { creator: options.creator, persona: options.persona });
      let done = 0;
      const courses = await mapConcurrent(dirs, concurrency, async (dir, _i, worker) => {
        const result = await syncOne(clients[worker]!, dir, config, options);
        options.onProgress?.(++done, dirs.length);
        return result;
      });
      const totals = { courses: courses.length, created: 0, updated: 0, unchanged: 0, planned: 0, failed: 0, rowsWritten: 0 };
      for (const c of courses) {
        totals[c.status] += 1;
        totals.rowsWritten += c.rowsWritten;
      }
      const durationMs = performance.now() - started;
      const error = totals.failed > 0 ? errorDocument(new DbkitError('COURSE_INVALID', failedMessage(totals.failed, totals.courses), { hint: 'fix the files named above and run dbkit sync again' })) : null;
      return {
        command: 'sync' as const,
        ok: error === null,
        dryRun: options.dryRun,
        database: databaseFacts(target),
        courses,
        totals,
        durationMs,
        rowsPerSecond: durationMs > 0 ? Math.round((totals.rowsWritten / durationMs) * 1000) : 0,
        error,
      };
    }, options.dryRun ? 'read' : 'write');
  });
}

/** "1 of 3 courses could not be synced; the other 2 were": the error line, its grammar agreeing with the counts. */
export function failedMessage(failed: number, courses: number): string {
  const others = courses - failed;
  if (courses === 1) return 'the course could not be synced';
  if (others === 0) return `none of the ${courses} courses could be synced`;
  return `${failed} of ${plural(courses, 'course')} could not be synced; the other ${others === 1 ? 'one was' : `${others} were`}`;
}

function describeChanges(c: CourseSyncResult): string {
  if (!c.changes) return '';
  const parts = [
    c.changes.project !== 'unchanged' ? `project ${c.changes.project === 'create' ? 'created' : 'updated'}` : '',
    c.changes.create.length ? `${plural(c.changes.create.length, 'new content', 'new contents')}` : '',
    c.changes.update.length ? `${c.changes.update.length} changed (${c.changes.update.slice(0, 3).map((u) => `${u.slug}: ${u.fields.join('+')}`).join(', ')}${c.changes.update.length > 3 ? ', ...' : ''})` : '',
    c.changes.profile === 'create' || c.changes.profile === 'update' ? `audience profile ${c.changes.profile === 'create' ? 'added' : 'updated'}` : '',
    c.changes.links.length ? `${c.changes.links.join(', ')} linked` : '',
  ].filter(Boolean);
  return printable(parts.join(', '));
}

export function renderSync(report: SyncReport, reporter: Reporter): void {
  const c = reporter.color;
  const many = report.courses.length > 20;
  for (const course of report.courses) {
    // Names, file names, messages and slugs come from course files and rows: printed through printable.
    const name = printable(course.slug ?? course.dir);
    const dir = printable(course.dir);
    if (course.status === 'failed') {
      reporter.info(`${c.red('✗')} ${dir}: not synced`);
      for (const p of course.problems) reporter.info(`    ${dir}/${printable(formatProblem(p))}`);
      if (course.problems.length === 0 && course.error) reporter.info(`    ${printable(course.error.message)}`);
      continue;
    }
    for (const w of course.warnings) reporter.warn(`${dir}/${printable(formatProblem(w))}`);
    if (many && course.status === 'unchanged') continue;
    const mark = course.status === 'unchanged' ? c.dim('=') : course.status === 'planned' ? c.yellow('~') : c.green('✓');
    const what = course.status === 'unchanged' ? 'unchanged' : `${report.dryRun ? 'would write: ' : ''}${describeChanges(course)}`;
    if (!many || course.status !== 'created') reporter.info(`${mark} ${name}  ${what}${course.extra.length ? c.yellow(`  (${plural(course.extra.length, 'row')} without a file kept: ${printable(course.extra.slice(0, 3).join(', '))})`) : ''}`);
  }
  const t = report.totals;
  const nothing = !report.dryRun && t.created + t.updated === 0 && t.failed === 0;
  reporter.info(nothing ? c.green(syncSummary(report)) : syncSummary(report));
}

/** The closing line of a sync, counts in words that agree with them. */
export function syncSummary(report: Pick<SyncReport, 'dryRun' | 'totals' | 'durationMs' | 'rowsPerSecond'>): string {
  const t = report.totals;
  const all = (n: number) => (n === 1 ? 'the course matches' : `all ${n} courses match`);
  if (report.dryRun) {
    if (t.planned === 0 && t.failed === 0) return `Dry run: nothing to change; ${all(t.unchanged)} the database.`;
    return `Dry run: ${plural(t.planned, 'course')} would change, ${t.unchanged} unchanged${t.failed ? `, ${t.failed} not readable` : ''}; nothing was written.`;
  }
  if (t.created + t.updated === 0 && t.failed === 0) return `Nothing to change: ${all(t.unchanged)} the database.`;
  const counts = `${t.created} created, ${t.updated} updated, ${t.unchanged} unchanged`;
  const what = t.failed === 0 ? `Synced ${plural(t.courses, 'course')}: ${counts}` : `${t.courses - t.failed} of ${plural(t.courses, 'course')} synced (${counts}), ${t.failed} not synced`;
  return `${what}; ${plural(t.rowsWritten, 'row')} written in ${formatDuration(report.durationMs)} (${report.rowsPerSecond} rows/s).`;
}

export function registerSync(program: Command): void {
  program
    .command('sync')
    .description('Import course folders (COURSE-BRIEF.md, curriculum.yaml, lessons/*.md, research/*.md) into the database: one transaction per course, idempotent.')
    .argument('<course-dir...>', 'course folders, or folders of course folders (such as outputs/courses)')
    .option('--dry-run', 'show what would change; write nothing', false)
    .option('--creator <mind-slug>', 'attribute the courses to this creator mind (minds.slug; dbkit minds add creates one)')
    .option('--persona <mind-slug>', 'the persona mind whose voice the courses use (minds.slug; dbkit minds add creates one)')
    .addOption(new Option('--concurrency <n>', 'courses synced at once, one connection each').default('4'))
    .option('--json', 'print one JSON document (shape in README) instead of progress lines')
    .addHelpText('after', '\nExamples:\n  $ npx dbkit sync outputs/courses/my-course --creator alan --persona alan-voice\n  $ npx dbkit sync outputs/courses --dry-run')
    .action(async (dirs: string[], opts: { dryRun: boolean; creator?: string; persona?: string; concurrency: string }, cmd: Command) => {
      const runtime = runtimeFor(cmd);
      const concurrency = Number(opts.concurrency);
      if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64) throw new DbkitError('USAGE', `--concurrency: '${opts.concurrency}' is not a whole number from 1 to 64`);
      let progress: Progress = NO_PROGRESS;
      const report = await syncCourses(runtime.config, {
        dirs, dryRun: opts.dryRun, creator: opts.creator ?? null, persona: opts.persona ?? null, concurrency,
        onProgress: (done, total) => {
          if (total < 2 || runtime.json) return;
          if (progress === NO_PROGRESS) progress = progressBar(process.stdout, total, 'courses');
          progress.update(done);
        },
      }, runtime.reporter);
      progress.finish();
      runtime.finish(report, (r) => renderSync(r, runtime.reporter));
    });
}

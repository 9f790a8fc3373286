/**
 * dbkit verify: course folders against the database, read-only. Missing, extra and changed
 * contents (by SHA-256 of the text), wrong titles, types, parents and order. Any mismatch is a
 * non-zero exit.
 */
import { Command, Option } from 'commander';
import type { ResolvedConfig } from '../config.js';
import { DbkitError } from '../errors.js';
import type { Reporter } from '../output/terminal.js';
import { withDatabaseTarget } from '../embedded/target.js';
import { type DatabaseTarget, databaseFacts } from '../db/target.js';
import { withReadOnly } from '../db/scoped.js';
import { mapConcurrent } from '../core/concurrency.js';
import { expandCourseDirs, readCourseFolder } from '../courses/read.js';
import { parseCourse } from '../courses/parse.js';
import { formatProblem, type CourseProblem } from '../courses/model.js';
import { verifyCourse, type Mismatch } from '../courses/diff.js';
import { readCourseState } from '../courses/store.js';
import { withCourseClients } from '../courses/session.js';
import { errorDocument, type ErrorDocument } from '../output/errors.js';
import { NO_PROGRESS, progressBar, type Progress } from '../output/progress.js';
import { plural, printable } from '../output/text.js';
import { runtimeFor } from '../runtime.js';

export const COURSE_VERIFY_STATUSES = ['match', 'mismatch', 'invalid'] as const;
export type CourseVerifyStatus = (typeof COURSE_VERIFY_STATUSES)[number];

export interface CourseVerifyResult {
  dir: string;
  slug: string | null;
  status: CourseVerifyStatus;
  mismatches: Mismatch[];
  problems: CourseProblem[];
}

export interface VerifyReport {
  command: 'verify';
  ok: boolean;
  database: { url: string; kind: DatabaseTarget['kind']; name: string };
  courses: CourseVerifyResult[];
  totals: Record<CourseVerifyStatus, number> & { courses: number; mismatches: number };
  error: ErrorDocument | null;
}

export async function verifyCourses(config: ResolvedConfig, options: { dirs: string[]; concurrency?: number; onProgress?: (done: number, total: number) => void }, reporter: Reporter): Promise<VerifyReport> {
  const dirs = expandCourseDirs(options.dirs, config.cwd);
  return withDatabaseTarget(config, reporter, async (target) => {
    const concurrency = Math.max(1, Math.min(options.concurrency ?? 4, dirs.length));
    return withCourseClients(target, concurrency, 'dbkit verify', async (clients) => {
      let done = 0;
      const courses = await mapConcurrent(dirs, concurrency, async (dir, _i, worker): Promise<CourseVerifyResult> => {
        const parsed = parseCourse(await readCourseFolder(dir, config.cwd));
        // A listed lesson whose file is gone is a mismatch (reported below), not a broken folder.
        const problems = parsed.problems.filter((p) => p.kind !== 'lesson-file-missing');
        let result: CourseVerifyResult;
        if (!parsed.model || problems.length > 0) {
          result = { dir, slug: parsed.model?.slug ?? null, status: 'invalid', mismatches: [], problems: parsed.problems };
        } else {
          const model = parsed.model;
          const state = await withReadOnly(clients[worker]!, (ro) => readCourseState(ro, model.slug));
          const mismatches = verifyCourse(model, state);
          result = { dir, slug: model.slug, status: mismatches.length > 0 ? 'mismatch' : 'match', mismatches, problems: [] };
        }
        options.onProgress?.(++done, dirs.length);
        return result;
      });
      const totals = { courses: courses.length, match: 0, mismatch: 0, invalid: 0, mismatches: 0 };
      for (const c of courses) {
        totals[c.status] += 1;
        totals.mismatches += c.mismatches.length;
      }
      const error = totals.mismatch > 0
        ? errorDocument(new DbkitError('MISMATCH', `${plural(totals.mismatches, 'mismatch', 'mismatches')} in ${totals.mismatch} of ${plural(totals.courses, 'course')}`, { hint: 'dbkit sync writes the folders to the database (rows without a file are kept: delete them yourself if they should go)' }))
        : totals.invalid > 0
          ? errorDocument(new DbkitError('COURSE_INVALID', totals.invalid === 1 ? 'a course folder could not be read as a course' : `${totals.invalid} course folders could not be read as courses`))
          : null;
      return { command: 'verify' as const, ok: error === null, database: databaseFacts(target), courses, totals, error };
    });
  });
}

export function renderVerify(report: VerifyReport, reporter: Reporter): void {
  const c = reporter.color;
  for (const course of report.courses) {
    // Slugs, folder names, problems and details come from course files and rows: printed through printable.
    if (course.status === 'match') {
      if (report.courses.length <= 20) reporter.info(`${c.green('✓')} ${printable(course.slug)}  matches`);
      continue;
    }
    if (course.status === 'invalid') {
      reporter.info(`${c.red('✗')} ${printable(course.dir)}: not a readable course`);
      for (const p of course.problems) reporter.info(`    ${printable(`${course.dir}/${formatProblem(p)}`)}`);
      continue;
    }
    reporter.info(`${c.red('✗')} ${printable(course.slug)}  ${plural(course.mismatches.length, 'mismatch', 'mismatches')}`);
    for (const m of course.mismatches) reporter.info(`    ${m.kind}  ${printable(`${m.slug}: ${m.detail}`)}`);
  }
  const t = report.totals;
  if (t.mismatch + t.invalid === 0) reporter.info(c.green(t.courses === 1 ? 'The course matches the database.' : `All ${t.courses} courses match the database.`));
  else reporter.info(`${t.match} of ${plural(t.courses, 'course')} ${t.match === 1 ? 'matches' : 'match'}; ${t.mismatch} with mismatches, ${t.invalid} unreadable.`);
}

export function registerVerify(program: Command): void {
  program
    .command('verify')
    .description('Compare course folders with the database (read-only): missing, extra and changed contents by SHA-256, wrong parent or order. Non-zero exit on any mismatch.')
    .argument('<course-dir...>', 'course folders, or folders of course folders')
    .addOption(new Option('--concurrency <n>', 'courses checked at once, one connection each').default('4'))
    .option('--json', 'print one JSON document (shape in README)')
    .addHelpText('after', '\nExample:\n  $ npx dbkit verify outputs/courses --json')
    .action(async (dirs: string[], opts: { concurrency: string }, cmd: Command) => {
      const runtime = runtimeFor(cmd);
      const concurrency = Number(opts.concurrency);
      if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64) throw new DbkitError('USAGE', `--concurrency: '${opts.concurrency}' is not a whole number from 1 to 64`);
      let progress: Progress = NO_PROGRESS;
      const report = await verifyCourses(runtime.config, {
        dirs, concurrency,
        onProgress: (done, total) => {
          if (total < 50 || runtime.json) return;
          if (progress === NO_PROGRESS) progress = progressBar(process.stdout, total, 'courses');
          progress.update(done);
        },
      }, runtime.reporter);
      progress.finish();
      runtime.finish(report, (r) => renderVerify(r, runtime.reporter));
    });
}

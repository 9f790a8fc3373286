/**
 * dbkit minds add|list: the creator and persona minds that `dbkit sync --creator/--persona` and
 * the persister attribute courses to. Needs the CreatorOS tables (dbkit apply first).
 */
import type { Command } from 'commander';
import type { ResolvedConfig } from '../config.js';
import type { Reporter } from '../output/terminal.js';
import { withDatabaseTarget } from '../embedded/target.js';
import { databaseFacts, type DatabaseFacts } from '../db/target.js';
import { withReadOnly } from '../db/scoped.js';
import { withCourseClients } from '../courses/session.js';
import { checkMindSlug, insertMind, selectMinds, parseUserRef, type Mind, type MindAddStatus } from '../courses/minds.js';
import type { ErrorDocument } from '../output/errors.js';
import { plural, printable } from '../output/text.js';
import { runtimeFor } from '../runtime.js';

export interface MindAddOptions {
  slug: string;
  /** Default: the slug. */
  name: string | null;
  /** A user id (UUID) or an email address of auth.users; null for a mind that belongs to no user. */
  user: string | null;
}

export interface MindAddReport {
  command: 'minds add';
  ok: boolean;
  database: DatabaseFacts;
  status: MindAddStatus;
  mind: Mind;
  userCreated: boolean;
  error: ErrorDocument | null;
}

export interface MindListReport {
  command: 'minds list';
  ok: boolean;
  database: DatabaseFacts;
  minds: Mind[];
  error: ErrorDocument | null;
}

export async function addMind(config: ResolvedConfig, options: MindAddOptions, reporter: Reporter): Promise<MindAddReport> {
  // The arguments are checked before any connection is made.
  checkMindSlug(options.slug);
  const user = options.user === null ? null : parseUserRef(options.user);
  return withDatabaseTarget(config, reporter, (target) =>
    withCourseClients(target, 1, 'dbkit minds', async ([client]) => {
      const result = await insertMind(client!, { slug: options.slug, displayName: options.name, user });
      return { command: 'minds add' as const, ok: true, database: databaseFacts(target), ...result, error: null };
    }),
  );
}

export async function listMinds(config: ResolvedConfig, reporter: Reporter): Promise<MindListReport> {
  return withDatabaseTarget(config, reporter, (target) =>
    withCourseClients(target, 1, 'dbkit minds', async ([client]) => {
      const minds = await withReadOnly(client!, (ro) => selectMinds(ro));
      return { command: 'minds list' as const, ok: true, database: databaseFacts(target), minds, error: null };
    }),
  );
}

const owner = (m: Mind) => (m.email ?? m.userId ?? 'no user');

export function renderMindAdd(report: MindAddReport, reporter: Reporter): void {
  const c = reporter.color;
  const m = report.mind;
  if (report.userCreated) reporter.info(`${c.green('✓')} user ${printable(owner(m))} added to auth.users (dbkit's minimal table on plain PostgreSQL)`);
  const what = report.status === 'created' ? `${c.green('✓')} mind ${c.bold(printable(m.slug))} added` : `${c.dim('=')} mind ${c.bold(printable(m.slug))} already exists, unchanged`;
  reporter.info(`${what}: ${printable(m.displayName)}, ${m.userId ? `user ${printable(owner(m))}` : 'belongs to no user'}`);
}

export function renderMindList(report: MindListReport, reporter: Reporter): void {
  const c = reporter.color;
  if (report.minds.length === 0) {
    reporter.info('No minds yet: dbkit minds add <slug> [--user <uuid|email>] adds one.');
    return;
  }
  const width = Math.max(...report.minds.map((m) => printable(m.slug).length), 4);
  reporter.info(c.bold(`${'slug'.padEnd(width)}  ${'user'.padEnd(28)}  projects  name`));
  for (const m of report.minds) {
    const projects = `${m.creatorOf}/${m.personaOf}`;
    reporter.info(`${printable(m.slug).padEnd(width)}  ${printable(owner(m)).padEnd(28)}  ${projects.padStart(8)}  ${printable(m.displayName)}`);
  }
  reporter.info(c.dim(`${plural(report.minds.length, 'mind')}; projects: as creator / as persona`));
}

export function registerMinds(program: Command): void {
  const minds = program.command('minds').description('Add and list the minds (creators, personas) that dbkit sync --creator/--persona and the persister attribute courses to.');
  minds.addHelpText('after', '\nExamples:\n  $ npx dbkit minds add alan --user alan@example.com --name "Alan"\n  $ npx dbkit minds add alan-voice --name "Alan (voice)"\n  $ npx dbkit minds list');

  minds.command('add')
    .description("add a mind (idempotent); with --user it belongs to that user of auth.users (one mind per user), which on plain PostgreSQL is added to dbkit's minimal auth.users when missing")
    .argument('<slug>', 'minds.slug: letters, digits, ".", "_" and "-"')
    .option('--user <uuid|email>', 'the user (auth.users id or email) the mind belongs to; omit for a mind of no user (a persona voice, say)')
    .option('--name <display-name>', 'minds.display_name (default: the slug)')
    .option('--json', 'print JSON: { command, ok, database, status: created|unchanged, mind: { slug, displayName, userId, email, createdAt, creatorOf, personaOf }, userCreated, error }')
    .addHelpText('after', '\nExamples:\n  $ npx dbkit minds add alan --user alan@example.com --name "Alan"\n  $ npx dbkit minds add alan-voice --name "Alan (voice)"')
    .action(async (slug: string, opts: { user?: string; name?: string }, cmd: Command) => {
      const runtime = runtimeFor(cmd);
      const report = await addMind(runtime.config, { slug, name: opts.name ?? null, user: opts.user ?? null }, runtime.reporter);
      runtime.finish(report, (r) => renderMindAdd(r, runtime.reporter));
    });

  minds.command('list')
    .description('list the minds: slug, user, projects as creator and as persona, display name (read-only)')
    .option('--json', 'print JSON: { command, ok, database, minds: [{ slug, displayName, userId, email, createdAt, creatorOf, personaOf }], error }')
    .addHelpText('after', '\nExample:\n  $ npx dbkit minds list --json')
    .action(async (_opts: unknown, cmd: Command) => {
      const runtime = runtimeFor(cmd);
      const report = await listMinds(runtime.config, runtime.reporter);
      runtime.finish(report, (r) => renderMindList(r, runtime.reporter));
    });
}

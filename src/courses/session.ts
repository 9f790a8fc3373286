/**
 * Connections for the course commands: `count` clients to the target (one per worker), the
 * privileges and the CreatorOS schema checked before any work, all released on every path.
 */
import type pg from 'pg';
import { connect } from '../db/connect.js';
import { assertPrivileges } from '../db/privileges.js';
import type { DatabaseTarget } from '../db/target.js';
import type { PrivilegeNeed } from '../core/privileges.js';
import { assertCourseSchema, COURSE_TABLES } from './store.js';
import { probeConnectionPath } from '../db/pooler.js';
import { DIRECT, withoutStatementNames } from '../core/pooler.js';

export const COURSE_ACCESS = ['read', 'write'] as const;
export type CourseAccess = (typeof COURSE_ACCESS)[number];

/** Tables sync writes (minds are only read: --creator/--persona name existing ones). */
const WRITTEN = ['public.content_projects', 'public.contents', 'public.audience_profiles', 'public.content_minds'] as const;

/**
 * verify, tree and monitor read every row of the course tables, and sync compares and writes
 * them: a role that row-level security filters would see (and report) a partial picture.
 */
export function courseNeeds(access: CourseAccess): PrivilegeNeed[] {
  const tables = [...COURSE_TABLES];
  return [
    ...tables.map((name): PrivilegeNeed => ({ on: 'table', name, privileges: access === 'write' && (WRITTEN as readonly string[]).includes(name) ? ['SELECT', 'INSERT', 'UPDATE'] : ['SELECT'] })),
    { on: 'rls-bypass', tables, why: access === 'write' ? 'its writes would be refused' : 'what it reports would leave rows out' },
  ];
}

/**
 * Through a transaction pooler the clients send their statements unnamed (store.ts and
 * persist/sql.ts prepare them by name on a direct connection, where that saves planning).
 */
export async function withCourseClients<T>(target: DatabaseTarget, count: number, application: string, fn: (clients: pg.Client[]) => Promise<T>, access: CourseAccess = 'read'): Promise<T> {
  const opened: pg.Client[] = [];
  try {
    opened.push(await connect(target.url, { connectTimeoutMs: target.connectTimeoutMs, applicationName: application }));
    await assertPrivileges(opened[0]!, courseNeeds(access), application);
    await assertCourseSchema(opened[0]!);
    const pooler = target.kind === 'embedded' ? DIRECT : await probeConnectionPath(opened[0]!, target.url, { connectTimeoutMs: target.connectTimeoutMs });
    while (opened.length < count) opened.push(await connect(target.url, { connectTimeoutMs: target.connectTimeoutMs, applicationName: application }));
    return await fn(pooler.path === 'transaction-pooler' ? opened.map((c) => withoutStatementNames(c)) : opened);
  } finally {
    await Promise.all(opened.map((c) => c.end().catch(() => {})));
  }
}

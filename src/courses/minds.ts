/**
 * Minds: the creators and personas courses are attributed to (public.minds). A mind may belong to
 * a user of auth.users (minds.user_id, one mind per user: the tenant of RLS), or to nobody (a
 * persona voice, say). Pure parsing of what the user typed, and the database edge: list, resolve a
 * user, add a mind in one transaction.
 */
import type pg from 'pg';
import { DbkitError } from '../errors.js';
import { withTransaction } from '../db/scoped.js';

export interface Mind {
  slug: string;
  displayName: string;
  userId: string | null;
  /** From auth.users, when the mind belongs to a user that has one. */
  email: string | null;
  createdAt: string;
  /** Projects (not deleted) whose creator / persona this mind is. */
  creatorOf: number;
  personaOf: number;
}

export type UserRef = { kind: 'id'; id: string } | { kind: 'email'; email: string };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const EMAIL = /^[^\s@]+@[^\s@]+$/;
/** The slugs dbkit creates: the ones a shell, a URL and a log line carry without quoting. */
const SLUG = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

export function parseUserRef(text: string): UserRef {
  const value = text.trim();
  if (UUID.test(value)) return { kind: 'id', id: value.toLowerCase() };
  if (EMAIL.test(value)) return { kind: 'email', email: value };
  throw new DbkitError('USAGE', `--user: '${value}' is neither a user id (a UUID) nor an email address`, { hint: 'pass the id or the email of a row of auth.users, e.g. --user alan@example.com' });
}

export function checkMindSlug(slug: string): string {
  if (!SLUG.test(slug)) throw new DbkitError('USAGE', `'${slug}' is not a mind slug: use letters, digits, '.', '_' and '-' (up to 100, starting with a letter or digit)`, { hint: 'e.g. dbkit minds add alan-voice' });
  return slug;
}

const MIND_COLUMNS = (withUsers: boolean) => `m.slug, m.display_name AS "displayName", m.user_id AS "userId", ${withUsers ? 'u.email' : 'NULL::text AS email'}, m.created_at::text AS "createdAt",
  (SELECT count(*) FROM public.content_projects p WHERE p.creator_mind_id = m.id AND p.deleted_at IS NULL)::int AS "creatorOf",
  (SELECT count(*) FROM public.content_projects p WHERE p.persona_mind_id = m.id AND p.deleted_at IS NULL)::int AS "personaOf"
  FROM public.minds m ${withUsers ? 'LEFT JOIN auth.users u ON u.id = m.user_id' : ''}`;

async function hasAuthUsers(client: pg.ClientBase): Promise<boolean> {
  const { rows } = await client.query<{ ok: boolean }>(`SELECT to_regclass('auth.users') IS NOT NULL AS ok`);
  return rows[0]!.ok;
}

export async function selectMinds(client: pg.ClientBase): Promise<Mind[]> {
  const users = await hasAuthUsers(client);
  return (await client.query<Mind>(`SELECT ${MIND_COLUMNS(users)} ORDER BY m.slug`)).rows;
}

async function readMind(client: pg.ClientBase, slug: string): Promise<Mind | null> {
  const users = await hasAuthUsers(client);
  return (await client.query<Mind>(`SELECT ${MIND_COLUMNS(users)} WHERE m.slug = $1`, [slug])).rows[0] ?? null;
}

/**
 * Whether auth.users is the minimal table dbkit's compatibility migration created (plain
 * PostgreSQL), recorded in its ledger, rather than Supabase Auth's own, which dbkit never writes.
 */
async function authUsersIsDbkits(client: pg.ClientBase): Promise<boolean> {
  const ledger = await client.query<{ ok: boolean }>(`SELECT to_regclass('dbkit.provisioned_objects') IS NOT NULL AS ok`);
  if (!ledger.rows[0]!.ok) return false;
  const { rows } = await client.query<{ ours: boolean }>(`SELECT EXISTS (SELECT 1 FROM dbkit.provisioned_objects WHERE kind = 'table' AND name = 'auth.users') AS ours`);
  return rows[0]!.ours;
}

type UserRow = { id: string; email: string | null };

/** By id; by email exactly, else ignoring case when that names one user. */
async function findUser(client: pg.ClientBase, ref: UserRef): Promise<UserRow | null> {
  if (ref.kind === 'id') return (await client.query<UserRow>(`SELECT id, email FROM auth.users WHERE id = $1`, [ref.id])).rows[0] ?? null;
  const exact = (await client.query<UserRow>(`SELECT id, email FROM auth.users WHERE email = $1`, [ref.email])).rows;
  if (exact.length === 1) return exact[0]!;
  const loose = (await client.query<UserRow>(`SELECT id, email FROM auth.users WHERE lower(email) = lower($1) LIMIT 2`, [ref.email])).rows;
  if (loose.length > 1 || exact.length > 1) throw new DbkitError('NOT_FOUND', `more than one user of auth.users has the email ${ref.email}`, { hint: 'pass the user id instead (--user <uuid>)' });
  return loose[0] ?? null;
}

export interface ResolvedUser {
  id: string;
  email: string | null;
  /** True when dbkit added the user to its own minimal auth.users. */
  created: boolean;
}

/**
 * The user a --user names: a row of auth.users, by id or by email (exactly, else ignoring case
 * when that names one user). On plain PostgreSQL, where auth.users is dbkit's own minimal table,
 * a user not found is added to it; Supabase's auth.users is only read.
 */
export async function resolveUser(client: pg.ClientBase, ref: UserRef): Promise<ResolvedUser> {
  if (!(await hasAuthUsers(client))) {
    if (ref.kind === 'id') return { id: ref.id, email: null, created: false };
    throw new DbkitError('NOT_FOUND', `there is no auth.users table to find ${ref.email} in`, { hint: 'run dbkit apply (it creates a minimal auth.users on plain PostgreSQL), or pass the user id' });
  }
  const found = await findUser(client, ref);
  if (found) return { ...found, created: false };
  const who = ref.kind === 'id' ? `id ${ref.id}` : `email ${ref.email}`;
  if (!(await authUsersIsDbkits(client))) {
    throw new DbkitError('NOT_FOUND', `no user with ${who} in auth.users: nothing was changed`, { hint: 'create the user in Supabase Auth first (dashboard, or auth.admin.createUser), then run this again' });
  }
  const { rows } = ref.kind === 'id'
    ? await client.query<UserRow>(`INSERT INTO auth.users (id) VALUES ($1) ON CONFLICT (id) DO UPDATE SET id = EXCLUDED.id RETURNING id, email`, [ref.id])
    : await client.query<UserRow>(`INSERT INTO auth.users (email) VALUES ($1) ON CONFLICT (email) DO UPDATE SET email = EXCLUDED.email RETURNING id, email`, [ref.email]);
  return { ...rows[0]!, created: true };
}

export const MIND_ADD_STATUSES = ['created', 'unchanged'] as const;
export type MindAddStatus = (typeof MIND_ADD_STATUSES)[number];

export interface MindAddResult {
  status: MindAddStatus;
  mind: Mind;
  /** True when the user was added to dbkit's minimal auth.users (plain PostgreSQL). */
  userCreated: boolean;
}

/**
 * Adds a mind, in one transaction with the user it needs. Adding the same mind again changes
 * nothing; a slug taken by a different mind, or a user who already has a mind, is refused and
 * nothing is changed.
 */
export async function insertMind(client: pg.ClientBase, input: { slug: string; displayName: string | null; user: UserRef | null }): Promise<MindAddResult> {
  const slug = checkMindSlug(input.slug);
  return withTransaction(client, async (tx) => {
    const user = input.user ? await resolveUser(tx, input.user) : null;
    const inserted = await tx.query(
      `INSERT INTO public.minds (slug, display_name, user_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING RETURNING id`,
      [slug, input.displayName ?? slug, user?.id ?? null],
    );
    const mind = await readMind(tx, slug);
    if (inserted.rowCount === 1 && mind) return { status: 'created' as const, mind, userCreated: user?.created ?? false };
    if (mind) {
      const sameUser = input.user === null || mind.userId === user?.id;
      const sameName = input.displayName === null || mind.displayName === input.displayName;
      if (sameUser && sameName) return { status: 'unchanged' as const, mind, userCreated: false };
      throw new DbkitError('MIND_CONFLICT', `mind '${slug}' already exists with ${sameUser ? `the name '${mind.displayName}'` : `another user (${mind.email ?? mind.userId ?? 'none'})`}: nothing was changed`, { hint: 'choose another slug (dbkit minds list shows the minds)' });
    }
    // Not inserted and no mind by that slug: the user already has a mind (minds.user_id is unique).
    const { rows } = await tx.query<{ slug: string }>(`SELECT slug FROM public.minds WHERE user_id = $1`, [user?.id ?? null]);
    if (rows[0]) throw new DbkitError('MIND_CONFLICT', `the user ${user?.email ?? user?.id} already has a mind ('${rows[0].slug}'): a user has one mind; nothing was changed`, { hint: 'add this mind without --user (a persona, say), or for another user' });
    throw new DbkitError('MIND_CONFLICT', `mind '${slug}' could not be added (another row of public.minds conflicts with it): nothing was changed`);
  });
}

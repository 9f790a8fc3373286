/**
 * CoursePersister: the database half of course generation's dual-write. The filesystem is the
 * source of truth and is always written first; the database follows when the feature flag is on.
 * A database problem never reaches the caller as an exception: each call returns what happened
 * (written | failed | skipped), logs one line with context (never a URL or password), and counts.
 * A connection failure or timeout is retried once after a short delay; after N consecutive
 * failures the circuit breaker skips database writes for a cool-down, said once, and closes again
 * when a trial write gets through.
 */
import type pg from 'pg';
import { loadPg } from '../lazy.js';
import { pgErrorInfo, errorMessage } from '../errors.js';
import { scrub, secretsOf } from '../core/redact.js';
import { admit, CLOSED, recordFailure, recordSuccess, type BreakerConfig, type BreakerEvent, type BreakerKind, type BreakerState } from './breaker.js';
import { classifyFailure, isRetryable, type FailureKind } from './classify.js';
import { DEFAULT_BREAKER, DEFAULT_RETRY_DELAY_MS, persistSettingsFromEnv, stderrLogger, systemClock, type Clock, type PersistLogger, type PersisterOptions } from './options.js';
import * as sql from '../core/course-sql.js';
import { batchProblem } from '../core/course-sql.js';
import { writeFileAtomic } from '../fs/atomic.js';
import { isPoolerError, withoutStatementNames } from '../core/pooler.js';

export const SKIP_REASONS = ['disabled', 'no-url', 'circuit-open'] as const;
export type SkipReason = (typeof SKIP_REASONS)[number];

export interface PersistFailure {
  kind: FailureKind;
  message: string;
  sqlstate: string | null;
  attempts: number;
}

export type PersistResult<T> =
  | { status: 'written'; value: T }
  | { status: 'failed'; failure: PersistFailure }
  | { status: 'skipped'; reason: SkipReason };

export interface PersisterStats {
  written: number;
  failed: number;
  skipped: number;
  retries: number;
  breaker: BreakerKind;
}

export interface Written {
  id: string;
  inserted: boolean;
}

type Context = Record<string, unknown> & { op: string };
type Outcome<T> = { ok: true; value: T } | { ok: false; kind: 'not-found' | 'rejected'; message: string };

export class CoursePersister {
  readonly enabled: boolean;
  private readonly offReason: SkipReason;
  private readonly logger: PersistLogger;
  private readonly clock: Clock;
  private readonly retryDelayMs: number;
  private readonly breakerConfig: BreakerConfig;
  private readonly secrets: string[];
  private poolConfig: pg.PoolConfig;
  private pool: pg.Pool | null = null;
  /** Behind a transaction pooler: statements unnamed, statement_timeout kept by the client (see adaptToPooler). */
  private pooled = false;
  private breaker: BreakerState = CLOSED;
  private counts = { written: 0, failed: 0, skipped: 0, retries: 0 };

  constructor(options: PersisterOptions) {
    this.logger = options.logger ?? stderrLogger();
    this.clock = options.clock ?? systemClock;
    this.retryDelayMs = options.retryDelayMs ?? DEFAULT_RETRY_DELAY_MS;
    this.breakerConfig = { ...DEFAULT_BREAKER, ...options.breaker };
    this.offReason = options.enabled ? 'no-url' : 'disabled';
    this.secrets = options.url ? secretsOf(options.url) : [];
    this.enabled = options.enabled && options.url !== null;
    this.poolConfig = {
      connectionString: options.url ?? undefined,
      max: options.poolSize ?? 4,
      connectionTimeoutMillis: options.connectTimeoutMs ?? 5_000,
      statement_timeout: options.statementTimeoutMs ?? 30_000,
      idleTimeoutMillis: 10_000,
      allowExitOnIdle: true,
      application_name: 'dbkit-persister',
    };
    if (!options.enabled) this.logger.info('database persistence disabled (CREATOR_OS_DB_PERSIST is off): files only');
    else if (!options.url) this.logger.warn('database persistence is on but no service connection URL is set (CREATOR_OS_DB_URL or DATABASE_URL): files only');
  }

  /** CREATOR_OS_DB_PERSIST and CREATOR_OS_DB_URL (else DATABASE_URL) from `env`. */
  static fromEnv(env: Readonly<Record<string, string | undefined>> = process.env, options: Omit<PersisterOptions, 'enabled' | 'url'> = {}): CoursePersister {
    const settings = persistSettingsFromEnv(env);
    const logger = options.logger ?? stderrLogger();
    for (const problem of settings.problems) logger.warn(problem);
    return new CoursePersister({ ...options, logger, enabled: settings.enabled, url: settings.url });
  }

  stats(): PersisterStats {
    return { ...this.counts, breaker: this.breaker.kind };
  }

  /** Writes the file (atomically: temp file + rename) and then runs the database write. A file error throws; a database error never does. */
  async dualWrite<T>(file: string, content: string | Uint8Array, persist: (persister: this) => Promise<PersistResult<T>>): Promise<{ file: string; db: PersistResult<T> }> {
    await writeFileAtomic(file, content, { createFolder: true });
    return { file, db: await persist(this) };
  }

  persistProject(input: sql.ProjectInput): Promise<PersistResult<Written>> {
    return this.run({ op: 'persistProject', project: input.slug }, async (client) => {
      const { rows } = await client.query<{ id: string | null; inserted: boolean | null; creator_found: boolean; persona_found: boolean }>(sql.upsertProject(input));
      const row = rows[0]!;
      if (row.id) return { ok: true, value: { id: row.id, inserted: Boolean(row.inserted) } };
      const missing = [!row.creator_found ? `creator mind '${input.creatorMind}'` : '', !row.persona_found ? `persona mind '${input.personaMind}'` : ''].filter(Boolean);
      return { ok: false, kind: 'not-found', message: `${missing.join(' and ')} not found` };
    });
  }

  async persistContent(projectSlug: string, input: sql.ContentInput): Promise<PersistResult<Written>> {
    const result = await this.writeNodes('persistContent', projectSlug, [sql.nodeRecord(input)], { slug: input.slug, type: input.contentType });
    return result.status === 'written' ? { status: 'written', value: result.value[0]! } : result;
  }

  /** All lessons of a module in one statement: all written, or none. */
  persistLessonsBatch(projectSlug: string, moduleSlug: string, lessons: readonly sql.LessonInput[]): Promise<PersistResult<Written[]>> {
    const records = lessons.map((l) => sql.nodeRecord({ ...l, contentType: l.contentType ?? 'course_lesson', parent: moduleSlug }));
    return this.writeNodes('persistLessonsBatch', projectSlug, records, { parent: moduleSlug, count: lessons.length });
  }

  updateContentMetadata(projectSlug: string, contentSlug: string, patch: sql.JsonObject): Promise<PersistResult<{ id: string }>> {
    return this.updateOne({ op: 'updateContentMetadata', project: projectSlug, slug: contentSlug }, sql.mergeContentMetadata(projectSlug, contentSlug, patch), projectSlug, contentSlug);
  }

  updateFidelityScore(projectSlug: string, contentSlug: string, score: number | null): Promise<PersistResult<{ id: string }>> {
    const context = { op: 'updateFidelityScore', project: projectSlug, slug: contentSlug };
    if (score !== null && !Number.isFinite(score)) return Promise.resolve(this.invalid(context, `fidelity score ${score} is not a finite number`));
    return this.updateOne(context, sql.setFidelityScore(projectSlug, contentSlug, score), projectSlug, contentSlug);
  }

  linkMindToContent(projectSlug: string, contentSlug: string, mindSlug: string, role: sql.MindRole): Promise<PersistResult<{ linked: boolean }>> {
    const context = { op: 'linkMindToContent', project: projectSlug, slug: contentSlug, mind: mindSlug, role };
    if (!sql.MIND_ROLES.includes(role)) return Promise.resolve(this.invalid(context, `role '${role}' is not one of ${sql.MIND_ROLES.join(', ')}`));
    return this.run(context, async (client) => {
      const { rows } = await client.query<{ found: number; inserted: number }>(sql.linkMind(projectSlug, contentSlug, mindSlug, role));
      if (rows[0]!.found === 0) return this.notFound(client, projectSlug, [contentSlug], [mindSlug]);
      return { ok: true, value: { linked: rows[0]!.inserted > 0 } };
    });
  }

  /** The project's audience profile of that name (e.g. the brief's ICP), updated in place or added. */
  persistAudienceProfile(projectSlug: string, name: string, profile: sql.JsonObject): Promise<PersistResult<Written>> {
    return this.run({ op: 'persistAudienceProfile', project: projectSlug, name }, async (client) => {
      await client.query('BEGIN');
      try {
        await client.query(sql.lockProject(projectSlug));
        const { rows } = await client.query<{ id: string; inserted: boolean }>(sql.upsertAudienceProfile(projectSlug, name, profile));
        await client.query('COMMIT');
        if (rows[0]) return { ok: true, value: rows[0] };
        return { ok: false, kind: 'not-found', message: `project '${projectSlug}' not found` };
      } catch (error) {
        await client.query('ROLLBACK').catch(() => {});
        throw error;
      }
    });
  }

  /** Closes the pool. Calls after close() reconnect. */
  async close(): Promise<void> {
    const pool = this.pool;
    this.pool = null;
    if (pool) await pool.end().catch(() => {});
  }

  private writeNodes(op: string, projectSlug: string, records: sql.NodeRecord[], extra: Record<string, unknown>): Promise<PersistResult<Written[]>> {
    const context = { op, project: projectSlug, ...extra };
    const problem = batchProblem(records);
    if (problem) return Promise.resolve(this.invalid(context, problem));
    if (records.length === 0) return Promise.resolve({ status: 'written', value: [] });
    return this.run(context, async (client) => {
      const { rows } = await client.query<{ id: string; slug: string; inserted: boolean }>(sql.upsertNodes(projectSlug, records));
      if (rows.length === 0) return this.notFound(client, projectSlug, [...new Set(records.flatMap((r) => (r.parent_slug ? [r.parent_slug] : [])))]);
      const bySlug = new Map(rows.map((r) => [r.slug, { id: r.id, inserted: r.inserted }]));
      return { ok: true, value: records.map((r) => bySlug.get(r.slug)!) };
    });
  }

  private updateOne(context: Context, statement: sql.Statement, projectSlug: string, contentSlug: string): Promise<PersistResult<{ id: string }>> {
    return this.run(context, async (client) => {
      const { rows } = await client.query<{ id: string }>(statement);
      if (rows[0]) return { ok: true, value: { id: rows[0].id } };
      return this.notFound(client, projectSlug, [contentSlug]);
    });
  }

  private async notFound(client: pg.ClientBase, projectSlug: string, contents: string[], minds: string[] = []): Promise<Outcome<never>> {
    const { rows } = await client.query<{ kind: string; slug: string }>(sql.missingReferences(projectSlug, contents, minds));
    const what = rows.map((r) => `${r.kind} '${r.slug}'`).join(', ');
    return { ok: false, kind: 'not-found', message: `${what || 'a referenced row'} not found` };
  }

  private invalid(context: Context, message: string): PersistResult<never> {
    this.counts.failed += 1;
    this.logger.error(`database write failed: ${message}`, { ...context, kind: 'rejected' });
    return { status: 'failed', failure: { kind: 'rejected', message, sqlstate: null, attempts: 0 } };
  }

  private async run<T>(context: Context, exec: (client: pg.ClientBase) => Promise<Outcome<T>>): Promise<PersistResult<T>> {
    if (!this.enabled) {
      this.counts.skipped += 1;
      return { status: 'skipped', reason: this.offReason };
    }
    const admission = admit(this.breaker, this.clock.now());
    this.breaker = admission.state;
    if (!admission.allow) {
      this.counts.skipped += 1;
      return { status: 'skipped', reason: 'circuit-open' };
    }
    let attempts = 0;
    for (;;) {
      attempts += 1;
      const outcome = await this.attempt(exec);
      if (outcome.ok) {
        this.onAnswered();
        this.counts.written += 1;
        return { status: 'written', value: outcome.value };
      }
      if (isRetryable(outcome.kind) && attempts === 1) {
        this.counts.retries += 1;
        this.logger.warn(`database write could not reach the database (${outcome.message}); retrying once in ${this.retryDelayMs} ms`, { ...context, kind: outcome.kind });
        await this.clock.sleep(this.retryDelayMs);
        continue;
      }
      if (isRetryable(outcome.kind)) this.onUnreachable();
      else this.onAnswered();
      this.counts.failed += 1;
      this.logger.error(`database write failed: ${outcome.message}`, { ...context, kind: outcome.kind, sqlstate: outcome.sqlstate ?? undefined, attempts });
      return { status: 'failed', failure: { kind: outcome.kind, message: outcome.message, sqlstate: outcome.sqlstate, attempts } };
    }
  }

  private async attempt<T>(exec: (client: pg.ClientBase) => Promise<Outcome<T>>, adapted = false): Promise<{ ok: true; value: T } | { ok: false; kind: FailureKind; message: string; sqlstate: string | null }> {
    let client: pg.PoolClient;
    const pool = await this.poolOf();
    try {
      client = await pool.connect();
    } catch (error) {
      // A concurrent write may have adapted already (and ended the pool this one waited on): this one then just goes again.
      if (!adapted && (pool !== this.pool || (isPoolerError(error) && (this.pooled || (await this.adaptToPooler(error)))))) return this.attempt(exec, true);
      return this.failureOf(error, 'connect');
    }
    let broken: Error | undefined;
    let poolerError: unknown;
    try {
      const outcome = await exec(this.pooled ? withoutStatementNames(client) : client);
      return outcome.ok ? outcome : { ok: false, kind: outcome.kind, message: outcome.message, sqlstate: null };
    } catch (error) {
      poolerError = !adapted && isPoolerError(error) ? error : undefined;
      const failure = this.failureOf(error, 'query');
      if (failure.kind !== 'rejected' || poolerError) broken = error instanceof Error ? error : new Error(String(error));
      if (!poolerError) return failure;
    } finally {
      client.release(broken);
    }
    // Nothing was written (the statement was refused before it ran): once more, adapted.
    await this.adaptToPooler(poolerError);
    return this.attempt(exec, true);
  }

  /**
   * A transaction pooler met on the way: PgBouncer refuses the statement_timeout startup
   * parameter, and a named statement prepared on one server session is missing (or taken) on the
   * next. From then on the pool connects without it (the client gives up on a statement after the
   * same time instead: query_timeout) and statements go unnamed. Said once. Returns whether it adapted.
   */
  private async adaptToPooler(error: unknown): Promise<boolean> {
    if (this.pooled || !isPoolerError(error)) return false;
    this.pooled = true;
    const { statement_timeout: timeout, ...rest } = this.poolConfig;
    this.poolConfig = { ...rest, ...(typeof timeout === 'number' && timeout > 0 ? { query_timeout: timeout } : {}) };
    const old = this.pool;
    this.pool = null;
    await old?.end().catch(() => {});
    this.logger.info(`a transaction pooler sits between the persister and the database (${scrub(errorMessage(error), this.secrets).split('\n')[0]}): writes go on with unnamed statements and a client-side statement timeout`);
    return true;
  }

  private failureOf(error: unknown, phase: 'connect' | 'query') {
    const info = pgErrorInfo(error);
    const detail = info?.constraint ? ` (constraint ${info.constraint})` : info?.detail ? ` (${info.detail})` : '';
    return { ok: false as const, kind: classifyFailure(error, phase), message: scrub(`${errorMessage(error)}${detail}`, this.secrets), sqlstate: info?.code ?? null };
  }

  private async poolOf(): Promise<pg.Pool> {
    if (!this.pool) {
      const { Pool } = await loadPg();
      // Another write may have created it while pg was loading.
      if (!this.pool) {
        const pool = new Pool(this.poolConfig);
        // An idle client whose server went away: the pool drops it; the next write reconnects.
        pool.on('error', () => {});
        this.pool = pool;
      }
    }
    return this.pool;
  }

  private onAnswered(): void {
    const { state, event } = recordSuccess(this.breaker);
    this.breaker = state;
    if (event) this.announce(event);
  }

  private onUnreachable(): void {
    const { state, event } = recordFailure(this.breaker, this.clock.now(), this.breakerConfig);
    this.breaker = state;
    if (event) this.announce(event);
  }

  private announce(event: BreakerEvent): void {
    switch (event.kind) {
      case 'opened':
        this.logger.error(`circuit breaker open: the database failed ${event.failures} writes in a row; skipping database writes for ${Math.round(this.breakerConfig.coolDownMs / 1000)} s (files are still written)`);
        break;
      case 'reopened':
        break; // said once when it opened; a failed trial only extends the cool-down
      case 'closed':
        this.logger.info(`circuit breaker closed: the database answers again; ${event.skipped} database write(s) were skipped while it was open (run dbkit sync on the course folders to fill them in)`);
        break;
      default: {
        const never: never = event;
        throw new Error(`unhandled breaker event ${JSON.stringify(never)}`);
      }
    }
  }
}

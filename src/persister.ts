/**
 * `dbkit/persister`: the course persister (dual-write with a flag, retry and circuit breaker) for
 * application code. Loading it loads pg (on first write) and nothing of the CLI: no commander,
 * node-pg-migrate or libpg-query.
 *
 *   import { CoursePersister } from 'dbkit/persister';
 */
export { CoursePersister, SKIP_REASONS, type PersistResult, type PersistFailure, type PersisterStats, type SkipReason, type Written } from './persist/persister.js';
export { persistSettingsFromEnv, stderrLogger, systemClock, DEFAULT_BREAKER, DEFAULT_RETRY_DELAY_MS, type PersisterOptions, type PersistLogger, type Clock } from './persist/options.js';
export { CONTENT_TYPES, MIND_ROLES, PROJECT_STATUSES, batchProblem, type ProjectInput, type ContentInput, type LessonInput, type ContentType, type MindRole, type JsonObject } from './core/course-sql.js';
export { BREAKER_KINDS, type BreakerKind, type BreakerConfig } from './persist/breaker.js';
export { FAILURE_KINDS, type FailureKind } from './persist/classify.js';
export { DbkitError, ERROR_CODES, type ErrorCode } from './errors.js';

/**
 * The circuit breaker of the persister, as a pure state machine: after `failureThreshold`
 * consecutive failures it opens and database writes are skipped for `coolDownMs`; then one trial
 * write is let through (half-open); its success closes the breaker, its failure opens it again.
 * The caller owns the clock and the logging: each transition returns the event to announce.
 */

export interface BreakerConfig {
  failureThreshold: number;
  coolDownMs: number;
}

export const BREAKER_KINDS = ['closed', 'open', 'half-open'] as const;
export type BreakerKind = (typeof BREAKER_KINDS)[number];

export type BreakerState =
  | { kind: 'closed'; consecutiveFailures: number }
  | { kind: 'open'; until: number; skipped: number }
  | { kind: 'half-open'; skipped: number };

/** What the caller should say: once when the breaker opens, once when it closes. */
export type BreakerEvent =
  | { kind: 'opened'; failures: number; until: number }
  | { kind: 'closed'; skipped: number }
  | { kind: 'reopened'; until: number };

export const CLOSED: BreakerState = { kind: 'closed', consecutiveFailures: 0 };

export interface Admission {
  allow: boolean;
  state: BreakerState;
}

/** May a write go to the database now? In the half-open state only the one trial write may. */
export function admit(state: BreakerState, now: number): Admission {
  switch (state.kind) {
    case 'closed':
      return { allow: true, state };
    case 'open':
      if (now >= state.until) return { allow: true, state: { kind: 'half-open', skipped: state.skipped } };
      return { allow: false, state: { ...state, skipped: state.skipped + 1 } };
    case 'half-open':
      // A trial is in flight: the others skip until it answers.
      return { allow: false, state: { ...state, skipped: state.skipped + 1 } };
    default:
      return assertNever(state);
  }
}

/** The database answered (a constraint violation counts: the server is there). */
export function recordSuccess(state: BreakerState): { state: BreakerState; event: BreakerEvent | null } {
  switch (state.kind) {
    case 'closed':
      return { state: CLOSED, event: null };
    case 'open':
    case 'half-open':
      return { state: CLOSED, event: { kind: 'closed', skipped: state.skipped } };
    default:
      return assertNever(state);
  }
}

/** The database could not be reached (after the retry). */
export function recordFailure(state: BreakerState, now: number, config: BreakerConfig): { state: BreakerState; event: BreakerEvent | null } {
  switch (state.kind) {
    case 'closed': {
      const failures = state.consecutiveFailures + 1;
      if (failures < config.failureThreshold) return { state: { kind: 'closed', consecutiveFailures: failures }, event: null };
      const until = now + config.coolDownMs;
      return { state: { kind: 'open', until, skipped: 0 }, event: { kind: 'opened', failures, until } };
    }
    case 'half-open':
    case 'open': {
      const until = now + config.coolDownMs;
      return { state: { kind: 'open', until, skipped: state.skipped }, event: { kind: 'reopened', until } };
    }
    default:
      return assertNever(state);
  }
}

function assertNever(value: never): never {
  throw new Error(`unhandled breaker state ${JSON.stringify(value)}`);
}

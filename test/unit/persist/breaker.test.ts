import { describe, expect, it } from 'vitest';
import { admit, CLOSED, recordFailure, recordSuccess, type BreakerState } from '../../../src/persist/breaker.ts';

const config = { failureThreshold: 3, coolDownMs: 1000 };

function fail(state: BreakerState, now: number) {
  return recordFailure(state, now, config);
}

describe('circuit breaker', () => {
  it('stays closed below the threshold and a success resets the count', () => {
    let s = fail(CLOSED, 0).state;
    s = fail(s, 1).state;
    expect(s).toEqual({ kind: 'closed', consecutiveFailures: 2 });
    const ok = recordSuccess(s);
    expect(ok).toEqual({ state: CLOSED, event: null });
    expect(fail(ok.state, 2).state).toEqual({ kind: 'closed', consecutiveFailures: 1 });
  });

  it('opens at the threshold (announced once), skips during the cool-down, then lets one trial through', () => {
    let s = fail(fail(CLOSED, 0).state, 0).state;
    const opened = fail(s, 100);
    expect(opened.event).toEqual({ kind: 'opened', failures: 3, until: 1100 });
    s = opened.state;
    const a = admit(s, 500);
    expect(a.allow).toBe(false);
    const b = admit(a.state, 1099);
    expect(b.allow).toBe(false);
    expect(b.state).toEqual({ kind: 'open', until: 1100, skipped: 2 });
    const trial = admit(b.state, 1100);
    expect(trial).toEqual({ allow: true, state: { kind: 'half-open', skipped: 2 } });
    // while the trial is in flight, others skip
    const other = admit(trial.state, 1101);
    expect(other.allow).toBe(false);
    expect(recordSuccess(other.state)).toEqual({ state: CLOSED, event: { kind: 'closed', skipped: 3 } });
  });

  it('a failed trial opens it again for another cool-down, as a quiet re-open', () => {
    const open = fail(fail(fail(CLOSED, 0).state, 0).state, 0).state;
    const trial = admit(open, 1000).state;
    const again = fail(trial, 1000);
    expect(again.event).toEqual({ kind: 'reopened', until: 2000 });
    expect(admit(again.state, 1500).allow).toBe(false);
    expect(admit(again.state, 2000).allow).toBe(true);
  });

  it('admits everything while closed', () => {
    expect(admit(CLOSED, 0)).toEqual({ allow: true, state: CLOSED });
  });
});

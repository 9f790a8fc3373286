import { describe, expect, it } from 'vitest';
import { CoursePersister } from '../../../src/persist/persister.ts';

function capture() {
  const lines: string[] = [];
  return { lines, logger: { info: (m: string) => lines.push(`info: ${m}`), warn: (m: string) => lines.push(`warn: ${m}`), error: (m: string) => lines.push(`error: ${m}`) } };
}

describe('CoursePersister.fromEnv', () => {
  it('is off by default: calls are skipped without trying the (unreachable) URL, and one line says so', async () => {
    const log = capture();
    const p = CoursePersister.fromEnv({ DATABASE_URL: 'postgres://u:secret-pw@127.0.0.1:1/x' }, { logger: log.logger });
    expect(p.enabled).toBe(false);
    expect(await p.persistProject({ slug: 'a', name: 'A' })).toEqual({ status: 'skipped', reason: 'disabled' });
    expect(await p.persistLessonsBatch('a', 'm', [{ slug: 'l', title: 'L' }])).toEqual({ status: 'skipped', reason: 'disabled' });
    expect(log.lines).toEqual(['info: database persistence disabled (CREATOR_OS_DB_PERSIST is off): files only']);
    expect(p.stats()).toEqual({ written: 0, failed: 0, skipped: 2, retries: 0, breaker: 'closed' });
  });

  it('with the flag on but no URL, skips and warns once', async () => {
    const log = capture();
    const p = CoursePersister.fromEnv({ CREATOR_OS_DB_PERSIST: 'true' }, { logger: log.logger });
    expect(await p.updateFidelityScore('a', 'b', 0.5)).toEqual({ status: 'skipped', reason: 'no-url' });
    expect(log.lines).toHaveLength(1);
    expect(log.lines[0]).toMatch(/^warn: database persistence is on but no service connection URL is set/);
  });

  it('warns about an unreadable flag value and stays off', () => {
    const log = capture();
    const p = CoursePersister.fromEnv({ CREATOR_OS_DB_PERSIST: 'yes please', CREATOR_OS_DB_URL: 'postgres://x@127.0.0.1:1/x' }, { logger: log.logger });
    expect(p.enabled).toBe(false);
    expect(log.lines[0]).toMatch(/^warn: CREATOR_OS_DB_PERSIST: 'yes please' is not a boolean/);
  });

  it('rejects an invalid fidelity score or role without touching the database', async () => {
    const log = capture();
    const p = new CoursePersister({ enabled: true, url: 'postgres://u:secret-pw@127.0.0.1:1/x', logger: log.logger });
    expect((await p.updateFidelityScore('a', 'b', Number.NaN)).status).toBe('failed');
    expect((await p.linkMindToContent('a', 'b', 'm', 'owner' as 'creator')).status).toBe('failed');
    expect(p.stats()).toMatchObject({ failed: 2, retries: 0 });
    expect(log.lines.join('\n')).not.toContain('secret-pw');
  });

  it('a port nothing listens on: retried once, counted as failed, and the password is in no log line', async () => {
    const log = capture();
    const sleeps: number[] = [];
    const p = new CoursePersister({ enabled: true, url: 'postgres://u:secret-pw@127.0.0.1:1/x', logger: log.logger, clock: { now: () => 0, sleep: async (ms) => void sleeps.push(ms) } });
    const result = await p.persistProject({ slug: 'a', name: 'A' });
    expect(result.status === 'failed' && [result.failure.kind, result.failure.attempts]).toEqual(['unavailable', 2]);
    expect(sleeps).toEqual([2000]);
    expect(log.lines).toHaveLength(2);
    expect(log.lines.join('\n')).not.toContain('secret-pw');
    await p.close();
  });
});

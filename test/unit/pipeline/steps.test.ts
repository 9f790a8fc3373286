import { Chalk } from 'chalk';
import { describe, expect, it } from 'vitest';
import type { Reporter } from '../../../src/output/terminal.ts';
import { backupPlanNote, inStep } from '../../../src/pipeline/steps.ts';

function recording(): { reporter: Reporter; events: string[] } {
  const events: string[] = [];
  const reporter: Reporter = {
    color: new Chalk({ level: 0 }),
    step: (name) => ({ done: (d) => events.push(`${name} done ${d ?? ''}`.trim()), fail: (d) => events.push(`${name} failed ${d ?? ''}`.trim()), skip: () => events.push(`${name} skipped`) }),
    info: () => {},
    warn: () => {},
    block: () => {},
  };
  return { reporter, events };
}

describe('inStep', () => {
  it('marks the step done with the detail of what the work returned', async () => {
    const { reporter, events } = recording();
    expect(await inStep(reporter, 'pre-flight', async () => 3, (n) => `${n} migrations`)).toBe(3);
    expect(events).toEqual(['pre-flight done 3 migrations']);
  });

  it('marks the step failed and rethrows the same error when the work throws', async () => {
    const { reporter, events } = recording();
    const boom = new Error('boom');
    await expect(inStep(reporter, 'plan', async () => Promise.reject(boom))).rejects.toBe(boom);
    expect(events).toEqual(['plan failed']);
  });
});

describe('backupPlanNote', () => {
  it('names the strategy for the pre-flight line, nothing without a backup', () => {
    expect(backupPlanNote(null)).toBe('');
    expect(backupPlanNote({ strategy: 'template' })).toBe('; backup by template copy');
  });
});

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadExpectations } from '../../../src/migrations/session.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'dbkit-expectations-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('loadExpectations', () => {
  it('looks again on every call: expectations added after a first call are seen by the next (no process-wide cache)', async () => {
    expect(await loadExpectations(dir)).toEqual({});
    mkdirSync(path.join(dir, 'support'));
    writeFileSync(path.join(dir, 'support', 'expectations.ts'), "export const expectations = { '001_init': { applied: [] } };\n");
    expect(await loadExpectations(dir)).toEqual({ '001_init': { applied: [] } });
  });
});

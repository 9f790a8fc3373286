import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '../..');
const depcruise = path.join(root, 'node_modules/dependency-cruiser/bin/dependency-cruise.mjs');
const config = path.join(root, '.dependency-cruiser.cjs');

/** dependency-cruiser over `src` in `cwd` with the project's layer rules (docs/ARCHITECTURE.md, "Layers"). */
function cruise(cwd: string): { status: number | null; output: string } {
  const run = spawnSync(process.execPath, [depcruise, 'src', '--config', config, '--output-type', 'err'], { cwd, encoding: 'utf8' });
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

describe('layers', () => {
  it('src/ has no import cycle and no import pointing up or sideways', () => {
    const { status, output } = cruise(root);
    // On failure the output names each offending import and the rule it breaks.
    expect(output).toContain('no dependency violations found');
    expect(status).toBe(0);
  });

  it('each rule catches what it forbids (a tree that breaks every one)', () => {
    const { status, output } = cruise(path.join(root, 'test/fixtures/layers'));
    expect(status).not.toBe(0);
    expect(output).toContain('core-imports-down: src/core/upward.ts → src/commands/apply.ts');
    expect(output).toContain('no-command-imports-a-command: src/commands/restore.ts → src/commands/apply.ts');
    expect(output).toContain('domains-no-sideways: src/audit/sideways.ts → src/backup/take.ts');
    expect(output).toMatch(/no-circular: src\/db\/cycle-[ab]\.ts/);
    expect(output).toContain('core-is-pure: src/core/io.ts → fs');
  });
});

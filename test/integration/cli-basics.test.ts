/**
 * The CLI surface: help with an example for every command, version, usage errors (also as JSON),
 * and a closed stdout pipe (dbkit ... | head) ending quietly.
 */
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import type { Command } from 'commander';
import { buildProgram } from '../../src/cli.ts';
import { BIN, cleanEnv, parseJson, ROOT, runCli } from '../helpers/cli.ts';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

function allCommands(command: Command, prefix: string[] = []): string[][] {
  return command.commands
    .filter((c) => c.name() !== 'help')
    .flatMap((c) => [[...prefix, c.name()], ...allCommands(c, [...prefix, c.name()])]);
}

describe('dbkit CLI surface', () => {
  it('every command has help text with an example', async () => {
    const commands = allCommands(await buildProgram());
    expect(commands.length).toBeGreaterThanOrEqual(8);
    for (const path of commands) {
      const result = await runCli([...path, '--help']);
      expect(result.code, path.join(' ')).toBe(0);
      expect(result.stdout, path.join(' ')).toMatch(/Examples?:\n\s+\$ npx dbkit/);
    }
  });

  it('prints its version and rejects unknown commands and options with exit 2', async () => {
    const version = await runCli(['--version']);
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
    const unknown = await runCli(['frobnicate']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("unknown command 'frobnicate'");
    const json = await runCli(['status', '--bogus', '--json']);
    expect(json.code).toBe(2);
    expect(parseJson<{ ok: boolean; error: { code: string } }>(json).error.code).toBe('USAGE');
  });

  it('does not load the database driver, the migration engine or the SQL parser just to start (dbkit --help stays fast)', async () => {
    const cli = pathToFileURL(path.join(ROOT, 'dist', 'src', 'cli.js')).href;
    // With every command registered, as for `dbkit --help`.
    const probe = `import(${JSON.stringify(cli)}).then((m) => m.buildProgram()).then(() => {
      const heavy = ['/node_modules/pg/', '/node_modules/jiti/', '/node_modules/libpg-query/'];
      const loaded = Object.keys(require('module')._cache).filter((k) => heavy.some((h) => k.includes(h)));
      console.log(JSON.stringify(loaded));
    })`;
    const child = spawn(process.execPath, ['-e', probe], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    await new Promise((resolve) => child.on('close', resolve));
    expect(JSON.parse(out)).toEqual([]);
  });

  it('ends quietly when stdout is closed early', async () => {
    const env = Object.fromEntries(Object.entries(cleanEnv()).filter(([, v]) => v !== undefined)) as Record<string, string>;
    const child = spawn(process.execPath, [BIN, '--help'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(stderr).not.toContain('EPIPE');
    expect(code).toBe(0);
  });
});

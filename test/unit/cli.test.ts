import { describe, expect, it } from 'vitest';
import { COMMANDS, commandsFor } from '../../src/cli.ts';

describe('commandsFor: which command modules a command line loads', () => {
  it('loads only the command named, wherever the global options put it', () => {
    expect(commandsFor(['status'])).toEqual(['status']);
    expect(commandsFor(['--db', 'postgres://x@h/db', 'status', '--json'])).toEqual(['status']);
    expect(commandsFor(['--db=postgres://x@h/db', '--config', 'c.json', 'db', 'start'])).toEqual(['db']);
    expect(commandsFor(['rls-audit', '--help'])).toEqual(['rls-audit']);
  });

  it('loads none for --version, and all for --help, no arguments, help or an unknown command (for "Did you mean")', () => {
    expect(commandsFor(['--version'])).toEqual([]);
    expect(commandsFor(['-V'])).toEqual([]);
    for (const args of [[], ['--help'], ['-h'], ['help', 'status'], ['statsu'], ['constructor']]) expect(commandsFor(args), args.join(' ')).toBeUndefined();
  });

  it('knows every command by the name it registers', async () => {
    for (const [name, load] of Object.entries(COMMANDS)) {
      const { Command } = await import('commander');
      const program = new Command();
      (await load())(program);
      expect(program.commands.map((c) => c.name())).toEqual([name]);
    }
  });
});

import { describe, expect, it } from 'vitest';
import { buildProgram, COMMANDS, commandsFor } from '../../src/cli.ts';

const commands = (...names: string[]) => ({ kind: 'commands', names });

describe('commandsFor: which command modules a command line loads', () => {
  it('loads only the command named, wherever the global options put it', () => {
    expect(commandsFor(['status'])).toEqual(commands('status'));
    expect(commandsFor(['--db', 'postgres://x@h/db', 'status', '--json'])).toEqual(commands('status'));
    expect(commandsFor(['--db=postgres://x@h/db', '--config', 'c.json', 'db', 'start'])).toEqual(commands('db'));
    expect(commandsFor(['rls-audit', '--help'])).toEqual(commands('rls-audit'));
    expect(commandsFor(['help', 'test'])).toEqual(commands('test'));
  });

  it('loads none for --version, and lists without loading for --help, no command or an unknown one', () => {
    expect(commandsFor(['--version'])).toEqual(commands());
    expect(commandsFor(['-V'])).toEqual(commands());
    for (const args of [[], ['--help'], ['-h'], ['--version', '--help'], ['help'], ['statsu'], ['constructor'], ['--db', 'x']]) expect(commandsFor(args), args.join(' ')).toEqual({ kind: 'listing' });
  });

  it('lists every command exactly as the fully loaded program does (name, usage, summary)', async () => {
    const full = await buildProgram();
    const listing = await buildProgram({ kind: 'listing' });
    expect(full.commands.map((c) => c.name())).toEqual(Object.keys(COMMANDS));
    expect(listing.helpInformation()).toBe(full.helpInformation());
    for (const command of full.commands) expect(command.usage(), command.name()).toBe(COMMANDS[command.name()]!.usage);
  });
});

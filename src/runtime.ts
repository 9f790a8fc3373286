/**
 * What every command adapter needs from the CLI: the resolved config, a reporter that matches
 * the output mode, and a way to print the final result. Kept apart from the commands so that the
 * commands' work functions stay usable as a library.
 */
import type { Command } from 'commander';
import { loadConfig, SETTINGS, type ResolvedConfig, type SettingName } from './config.js';
import { humanReporter, quietReporter, type Reporter } from './output/terminal.js';
import { scrubKnownSecrets } from './output/secrets.js';

export interface GlobalOptions {
  db?: string;
  config?: string;
  json?: boolean;
}

export interface CommandRuntime {
  config: ResolvedConfig;
  reporter: Reporter;
  json: boolean;
  /** Prints the final document (JSON mode) and returns the exit code to use. */
  printJson(document: unknown): void;
}

/** Collects the setting flags a command declared (commander camelCases them) plus the global ones. */
export function runtimeFor(command: Command, env: Record<string, string | undefined> = process.env): CommandRuntime {
  const opts = command.optsWithGlobals() as GlobalOptions & Record<string, unknown>;
  const flags: Partial<Record<SettingName, string>> = {};
  for (const name of Object.keys(SETTINGS) as SettingName[]) {
    const flagName = name === 'databaseUrl' ? 'db' : name;
    const value = opts[flagName];
    if (typeof value === 'string') flags[name] = value;
  }
  const config = loadConfig({ flags, ...(opts.config ? { configPath: opts.config } : {}), env });
  const json = Boolean(opts.json);
  return {
    config,
    json,
    reporter: json ? quietReporter() : humanReporter(),
    printJson(document) {
      process.stdout.write(`${scrubKnownSecrets(JSON.stringify(document, null, 2))}\n`);
    },
  };
}

/** Adds a setting's flag (as declared in SETTINGS) to a command. */
export function settingOption(command: Command, name: SettingName): Command {
  const spec = SETTINGS[name];
  if (!spec.flag) throw new Error(`setting ${name} has no flag`);
  return command.option(spec.flag, `${spec.description} [env ${spec.env}; default ${spec.defaultText}]`);
}

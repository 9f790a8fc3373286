/**
 * What every command adapter needs from the CLI: the resolved config, a reporter that matches
 * the output mode, and a way to print the final result. Kept apart from the commands so that the
 * commands' work functions stay usable as a library.
 */
import { Option, type Command } from 'commander';
import { loadConfig, SETTINGS, type ResolvedConfig, type SettingName, type SettingSpec } from './config.js';
import { humanReporter, quietReporter, type Reporter } from './output/terminal.js';
import { scrubKnownSecrets } from './output/secrets.js';
import { printError, type ErrorDocument } from './output/errors.js';

export interface GlobalOptions {
  db?: string;
  config?: string;
  json?: boolean;
}

export interface CommandRuntime {
  config: ResolvedConfig;
  reporter: Reporter;
  json: boolean;
  /** Prints the final document (JSON mode). */
  printJson(document: unknown): void;
  /**
   * Ends a command: the report as JSON, or `render` for humans; then, when the report carries an
   * error, that error (humans) and its exit code.
   */
  finish<R extends { error: ErrorDocument | null }>(report: R, render: (report: R) => void): void;
}

/** Collects the setting flags a command declared (commander camelCases them) plus the global ones. */
export function runtimeFor(command: Command, env: Record<string, string | undefined> = process.env): CommandRuntime {
  const opts = command.optsWithGlobals() as GlobalOptions & Record<string, unknown>;
  const flags: Partial<Record<SettingName, string>> = {};
  // A setting's flag, where this command (or the program) declares it; an option of the same
  // name declared otherwise (rls-audit's --fail-on <level>, say) is not that setting.
  const declared = new Map<string, string>();
  for (let c: Command | null = command; c; c = c.parent) for (const o of c.options) if (!declared.has(o.flags)) declared.set(o.flags, o.attributeName());
  for (const name of Object.keys(SETTINGS) as SettingName[]) {
    const spec: SettingSpec<unknown> = SETTINGS[name];
    const attribute = spec.flag ? declared.get(spec.flag) : undefined;
    const value = attribute ? opts[attribute] : undefined;
    if (typeof value === 'string') flags[name] = value;
  }
  const config = loadConfig({ flags, ...(opts.config ? { configPath: opts.config } : {}), env });
  const json = Boolean(opts.json);
  const printJson = (document: unknown) => {
    process.stdout.write(`${scrubKnownSecrets(JSON.stringify(document, null, 2))}\n`);
  };
  return {
    config,
    json,
    reporter: json ? quietReporter() : humanReporter(),
    printJson,
    finish(report, render) {
      if (json) printJson(report);
      else render(report);
      if (report.error) {
        if (!json) printError(report.error);
        process.exitCode = report.error.exitCode;
      }
    },
  };
}

/** Adds a setting's flag (as declared in SETTINGS) to a command. */
export function settingOption(command: Command, name: SettingName): Command {
  const spec: SettingSpec<unknown> = SETTINGS[name];
  if (!spec.flag) throw new Error(`setting ${name} has no flag`);
  const option = new Option(spec.flag, `${spec.description} [env ${spec.env}; default ${spec.defaultText}]`);
  if (spec.choices) option.choices(spec.choices);
  return command.addOption(option);
}

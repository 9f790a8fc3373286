/**
 * Regenerates the reference sections of README.md from the code, so that they never drift:
 * every command's --help, the exit code table (ERROR_CODES) and the settings table (SETTINGS).
 *
 *   npm run readme          rewrite README.md
 *   npm run readme -- --check   exit 1 when README.md is out of date (run by the test suite)
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { buildProgram } from '../src/cli.ts';
import { ERROR_CODES } from '../src/errors.ts';
import { SETTINGS } from '../src/config.ts';

const README = path.resolve(import.meta.dirname, '..', 'README.md');

function helpOf(command: Command): string {
  let text = '';
  command.configureOutput({ writeOut: (s) => (text += s), writeErr: (s) => (text += s), getOutHelpWidth: () => 100, getErrHelpWidth: () => 100 });
  command.outputHelp();
  return text.trimEnd();
}

function walk(command: Command, out: { name: string; help: string }[], prefix: string): void {
  for (const sub of command.commands) {
    if ((sub as unknown as { _hidden?: boolean })._hidden || sub.name() === 'help') continue;
    const name = `${prefix} ${sub.name()}`.trim();
    out.push({ name, help: helpOf(sub) });
    walk(sub, out, name);
  }
}

export async function usageSection(): Promise<string> {
  const program = await buildProgram();
  const commands: { name: string; help: string }[] = [];
  walk(program, commands, 'dbkit');
  const blocks = [`### dbkit\n\n\`\`\`text\n${helpOf(program)}\n\`\`\``, ...commands.map((c) => `### ${c.name}\n\n\`\`\`text\n${c.help}\n\`\`\``)];
  return blocks.join('\n\n');
}

export function exitCodeSection(): string {
  const rows = [['0', 'OK', 'Success.'], ...Object.entries(ERROR_CODES).map(([code, { exit, summary }]) => [String(exit), code, summary])];
  return ['| exit | code | meaning |', '| --- | --- | --- |', ...rows.map((r) => `| ${r[0]} | \`${r[1]}\` | ${r[2]} |`)].join('\n');
}

export function settingsSection(): string {
  const rows = Object.values(SETTINGS).map((s) => [`\`${s.env}\``, s.flag ? `\`${s.flag}\`` : '', `\`${s.key}\``, s.defaultText, s.description]);
  return ['| environment | flag | dbkit.config.json key | default | meaning |', '| --- | --- | --- | --- | --- |', ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

function replaceBlock(text: string, name: string, content: string): string {
  const start = `<!-- ${name}:start -->`;
  const end = `<!-- ${name}:end -->`;
  const i = text.indexOf(start);
  const j = text.indexOf(end);
  if (i < 0 || j < 0) throw new Error(`README.md lacks the ${start} ... ${end} markers`);
  return `${text.slice(0, i + start.length)}\n${content}\n${text.slice(j)}`;
}

export async function renderReadme(current: string): Promise<string> {
  let text = replaceBlock(current, 'usage', await usageSection());
  text = replaceBlock(text, 'exit-codes', exitCodeSection());
  text = replaceBlock(text, 'settings', settingsSection());
  return text;
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.filename)) {
  const current = readFileSync(README, 'utf8');
  const next = await renderReadme(current);
  if (process.argv.includes('--check')) {
    if (next !== current) {
      process.stderr.write('README.md is out of date: run npm run readme\n');
      process.exit(1);
    }
  } else {
    writeFileSync(README, next);
  }
}

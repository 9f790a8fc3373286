/**
 * Confirmation for destructive commands: --yes skips it; an interactive terminal gets a prompt
 * that names what will happen; a non-interactive run without --yes is refused.
 */
import readline from 'node:readline/promises';
import { DbkitError } from '../errors.js';

export interface ConfirmOptions {
  yes: boolean;
  input?: NodeJS.ReadStream;
  output?: NodeJS.WriteStream;
}

export async function confirm(question: string, options: ConfirmOptions): Promise<void> {
  if (options.yes) return;
  const input = options.input ?? process.stdin;
  const output = options.output ?? process.stderr;
  if (!input.isTTY) {
    throw new DbkitError('CONFIRMATION_REQUIRED', `refusing to continue without confirmation: ${question.split('\n')[0]}`, {
      hint: 'this is not an interactive terminal; pass --yes to confirm',
    });
  }
  const rl = readline.createInterface({ input, output });
  try {
    const answer = await rl.question(`${question}\nType "yes" to continue: `);
    if (answer.trim().toLowerCase() !== 'yes') throw new DbkitError('CONFIRMATION_REQUIRED', 'not confirmed: nothing was changed');
  } finally {
    rl.close();
  }
}

/**
 * How errors leave dbkit: one line (plus a hint) for humans on stderr, a stable object in JSON
 * documents, secrets scrubbed either way.
 */
import { DbkitError, ERROR_CODES, errorMessage, type ErrorCode } from '../errors.js';
import { colorFor } from './terminal.js';
import { scrubKnownSecrets } from './secrets.js';
import { terminalSafe } from './text.js';

export interface ErrorDocument {
  code: ErrorCode;
  exitCode: number;
  message: string;
  hint: string | null;
  /** Postgres's SQLSTATE, when the server raised it. */
  sqlstate: string | null;
}

export function errorDocument(error: unknown): ErrorDocument {
  if (error instanceof DbkitError) {
    return {
      code: error.code,
      exitCode: error.exitCode,
      message: scrubKnownSecrets(error.message),
      hint: error.hint ? scrubKnownSecrets(error.hint) : null,
      sqlstate: error.pg?.code ?? null,
    };
  }
  return { code: 'INTERNAL', exitCode: ERROR_CODES.INTERNAL.exit, message: scrubKnownSecrets(errorMessage(error)), hint: 'this is a bug in dbkit; please report it with the command you ran', sqlstate: null };
}

export function printError(doc: ErrorDocument, stream: NodeJS.WriteStream = process.stderr): void {
  const c = colorFor(stream);
  stream.write(`${c.red('error:')} ${terminalSafe(doc.message, false)}\n`);
  if (doc.hint) stream.write(`  ${c.dim('hint:')} ${terminalSafe(doc.hint, false)}\n`);
}

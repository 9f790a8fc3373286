/**
 * How errors leave dbkit: one line (plus a hint) for humans on stderr, a stable object in JSON
 * documents, secrets scrubbed either way.
 */
import { DbkitError, ERROR_CODES, errorMessage, pgErrorInfo, type ErrorCode } from '../errors.js';
import { permissionHint } from '../core/privileges.js';
import { connectedRole } from './role.js';
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

const INSUFFICIENT_PRIVILEGE = '42501';

export function errorDocument(error: unknown): ErrorDocument {
  if (error instanceof DbkitError) {
    // A wrapped permission error (a migration refused by the server, say) keeps its code and
    // gains the GRANT; errors dbkit built from its own privilege checks already name it.
    const grant = error.pg?.code === INSUFFICIENT_PRIVILEGE && error.code !== 'PREFLIGHT_FAILED' && error.code !== 'PERMISSION_DENIED' ? permissionHint(error.message, connectedRole()) : null;
    const hint = [error.hint, grant].filter(Boolean).join('; ');
    return {
      code: error.code,
      exitCode: error.exitCode,
      message: scrubKnownSecrets(error.message),
      hint: hint ? scrubKnownSecrets(hint) : null,
      sqlstate: error.pg?.code ?? null,
    };
  }
  // The server refused for lack of a privilege: the user's to fix, never a bug in dbkit (also
  // when a library wrapped the server's error in its own).
  const refused = serverRefusal(error);
  if (refused) {
    const message = errorMessage(refused).split('\n')[0] ?? '';
    return { code: 'PERMISSION_DENIED', exitCode: ERROR_CODES.PERMISSION_DENIED.exit, message: scrubKnownSecrets(message), hint: scrubKnownSecrets(permissionHint(message, connectedRole())), sqlstate: INSUFFICIENT_PRIVILEGE };
  }
  return { code: 'INTERNAL', exitCode: ERROR_CODES.INTERNAL.exit, message: scrubKnownSecrets(errorMessage(error)), hint: 'this is a bug in dbkit; please report it with the command you ran', sqlstate: null };
}

/** The permission error (SQLSTATE 42501) behind `error`, following `cause` a few levels. */
function serverRefusal(error: unknown): unknown {
  let current = error;
  for (let depth = 0; depth < 4 && current; depth++) {
    if (pgErrorInfo(current)?.code === INSUFFICIENT_PRIVILEGE) return current;
    current = current instanceof Error ? current.cause : undefined;
  }
  return null;
}

export function printError(doc: ErrorDocument, stream: NodeJS.WriteStream = process.stderr): void {
  const c = colorFor(stream);
  stream.write(`${c.red('error:')} ${terminalSafe(doc.message, false)}\n`);
  if (doc.hint) stream.write(`  ${c.dim('hint:')} ${terminalSafe(doc.hint, false)}\n`);
}

/**
 * The secrets a command has seen (connection passwords, full URLs). The error printer and the
 * JSON printer scrub every message with them, as a last line of defence behind redactUrl.
 *
 * Known secrets belong to one call, not to the process: a library user who runs two commands
 * against two databases gets each call's own set. `withSecretScope` opens the set (the CLI opens
 * one around the whole command, printing included; withDatabaseTarget opens one when called
 * without it) and nested scopes share the outer one.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { scrub } from '../core/redact.js';

const scopes = new AsyncLocalStorage<Set<string>>();

export function withSecretScope<T>(fn: () => Promise<T>): Promise<T> {
  return scopes.getStore() ? fn() : scopes.run(new Set(), fn);
}

/** Whether a secret scope is open here (withDatabaseTarget scrubs errors leaving the one it opened). */
export const inSecretScope = (): boolean => scopes.getStore() !== undefined;

export function registerSecrets(secrets: readonly string[]): void {
  const known = scopes.getStore();
  if (!known) throw new Error('registerSecrets outside withSecretScope: the secrets would be forgotten before anything is scrubbed');
  for (const secret of secrets) if (secret.length >= 3) known.add(secret);
}

export function scrubKnownSecrets(text: string): string {
  const known = scopes.getStore();
  return !known || known.size === 0 ? text : scrub(text, [...known]);
}

/** Scrubs the known secrets from an error's message (and a DbkitError's hint) before it leaves the scope that knows them. */
export function scrubError(error: unknown): unknown {
  if (!(error instanceof Error)) return error;
  error.message = scrubKnownSecrets(error.message);
  const hint = (error as { hint?: unknown }).hint;
  if (typeof hint === 'string') Object.defineProperty(error, 'hint', { value: scrubKnownSecrets(hint), enumerable: true, configurable: true, writable: false });
  return error;
}

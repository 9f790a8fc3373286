/**
 * The secrets this process has seen (connection passwords, full URLs). The top-level error
 * printer scrubs every message with them, as a last line of defence behind redactUrl.
 */
import { scrub } from '../core/redact.js';

const known = new Set<string>();

export function registerSecrets(secrets: readonly string[]): void {
  for (const secret of secrets) if (secret.length >= 3) known.add(secret);
}

export function scrubKnownSecrets(text: string): string {
  return known.size === 0 ? text : scrub(text, [...known]);
}

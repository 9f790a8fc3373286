/**
 * Secrets never leave dbkit: URLs are shown with the password replaced, and any text that
 * might echo a secret (a server message, a child process's stderr) is scrubbed.
 */

const MASK = '***';
const SECRET_QUERY_PARAMS = ['password', 'sslpassword', 'sslkey', 'sslcert', 'sslrootcert'] as const;

/**
 * Parses only URLs with an authority ("scheme://..."). Without one, URL accepts "user:secret@host/db"
 * (scheme "user:") or "postgres:user:secret@host/db" as an opaque path with no password to mask.
 */
function parseWithAuthority(url: string): URL | null {
  if (!/^\s*[a-z][a-z0-9+.-]*:\/\//i.test(url)) return null;
  try {
    return new URL(url);
  } catch {
    return null;
  }
}

export function redactUrl(url: string): string {
  const parsed = parseWithAuthority(url);
  if (!parsed) return '<unparseable database URL>';
  if (parsed.password) parsed.password = MASK;
  for (const key of SECRET_QUERY_PARAMS) {
    if (parsed.searchParams.has(key)) parsed.searchParams.set(key, MASK);
  }
  // URL re-encodes the mask; keep it readable.
  return parsed.toString().replaceAll('%2A%2A%2A', MASK);
}

/** The secret parts of a URL (password and secret query parameters), decoded and raw. */
export function secretsOf(url: string): string[] {
  const parsed = parseWithAuthority(url);
  if (!parsed) return [url];
  const secrets = new Set<string>();
  if (parsed.password) {
    secrets.add(parsed.password);
    secrets.add(safeDecode(parsed.password));
  }
  for (const pair of parsed.search.slice(1).split('&')) {
    const [entry] = new URLSearchParams(pair);
    if (!entry || !pair.includes('=') || !(SECRET_QUERY_PARAMS as readonly string[]).includes(entry[0])) continue;
    secrets.add(pair.slice(pair.indexOf('=') + 1));
    secrets.add(entry[1]);
  }
  // The whole URL is a secret only when it holds one: a password-less URL is printable as it is,
  // and scrubbing it would turn every report's database URL into "***".
  if (secrets.size > 0 || parsed.password) secrets.add(url);
  return [...secrets].filter((s) => s.length >= 3);
}

/** Replaces every occurrence of each secret in `text` (longest first, so a URL goes before its password). */
export function scrub(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of [...secrets].sort((a, b) => b.length - a.length)) {
    if (secret.length > 0) out = out.split(secret).join(MASK);
  }
  return out;
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

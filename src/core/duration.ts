const UNITS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;

/**
 * Parses "500ms", "5s", "2m", "1h" (or "0") into milliseconds. A bare number other than 0 is
 * rejected: "30" could mean seconds or milliseconds, and guessing wrong on a lock timeout hurts.
 */
export function parseDuration(raw: string): number | { error: string } {
  const text = raw.trim();
  if (text === '0') return 0;
  const match = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)$/.exec(text);
  if (!match) {
    if (/^\d+(\.\d+)?$/.test(text)) return { error: `'${raw}' needs a unit (ms, s, m or h), e.g. ${text}s` };
    return { error: `'${raw}' is not a duration (examples: 500ms, 5s, 2m)` };
  }
  const value = Number(match[1]);
  const unit = match[2] as keyof typeof UNITS;
  return Math.round(value * UNITS[unit]);
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
  const minutes = Math.floor(ms / 60_000);
  const seconds = Math.round((ms % 60_000) / 1000);
  return `${minutes} min ${seconds} s`;
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

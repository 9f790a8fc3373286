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
  // The unit is chosen after rounding, so 59.99 s reads "1 min 0 s", not "60.0 s" or "1 min 60 s".
  if (Math.round(ms) < 1000) return `${Math.round(ms)} ms`;
  if (ms < 9_995) return `${(ms / 1000).toFixed(2)} s`;
  if (ms < 59_950) return `${(ms / 1000).toFixed(1)} s`;
  const seconds = Math.round(ms / 1000);
  return `${Math.floor(seconds / 60)} min ${seconds % 60} s`;
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  const shown = (v: number) => v.toFixed(v < 9.95 ? 1 : 0);
  let value = bytes / 1024;
  let unit = 0;
  // Rounded before the unit is chosen, so 1048575 bytes reads "1.0 MiB", not "1024 KiB".
  while (Number(shown(value)) >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${shown(value)} ${units[unit]}`;
}

/**
 * Text for people: data made safe to print on a terminal, and counted nouns. Pure.
 *
 * Everything dbkit prints that came from data (course files, rows, names in the catalog, manifests)
 * goes through `printable`: a title holding "\x1b]0;...\x07" must not retitle the terminal, "\x1b[2J"
 * must not clear it, "\x1b[8m" must not hide the lines after it, and a newline or a bidirectional
 * override must not forge or reorder what dbkit says. Such characters are shown escaped instead
 * (`\x1b`, `\u202e`), so the reader sees that they are there.
 */

/**
 * C0 and C1 controls (ESC, BEL, CR, LF, NUL, DEL, CSI...), the bidirectional embedding, override
 * and isolate marks (the "Trojan Source" characters) and the Unicode line and paragraph separators.
 */
const UNSAFE = /[\p{Cc}\u061C\u200E\u200F\u2028\u2029\u202A-\u202E\u2066-\u2069]/gu;

function escape(char: string): string {
  const code = char.codePointAt(0)!;
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/** One value from data, made safe for a terminal line: every control character escaped. */
export function printable(value: string | number | null | undefined): string {
  return String(value ?? '').replace(UNSAFE, escape);
}

/**
 * The last line of defence, applied by the human reporter to every line it writes. With colours
 * on, the colour codes (SGR sequences, ESC [ ... m) pass and the line ends with a reset, so that a
 * colour code from data cannot reach the next line; with colours off there are none to keep. Any
 * other control character is escaped: data printed without `printable` can no longer move the
 * cursor, clear the screen, retitle the window or write outside its line.
 */
export function terminalSafe(text: string, colours: boolean): string {
  let coloured = false;
  const safe = text.replace(/\x1b\[[0-9;]*m|[\p{Cc}\u061C\u200E\u200F\u2028\u2029\u202A-\u202E\u2066-\u2069]/gu, (match) => {
    if (match === '\n' || match === '\t') return match;
    if (match.length > 1 && colours) {
      coloured = true;
      return match;
    }
    return match.length > 1 ? `${escape('\x1b')}${match.slice(1)}` : escape(match);
  });
  return coloured ? `${safe}\x1b[0m` : safe;
}

/** "1 course", "2 courses"; `many` for irregular plurals ("1 policy", "2 policies"). */
export function plural(count: number, one: string, many = `${one}s`): string {
  return `${count} ${count === 1 ? one : many}`;
}

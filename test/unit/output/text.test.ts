import { describe, expect, it } from 'vitest';
import { plural, printable, terminalSafe } from '../../../src/output/text.ts';

describe('printable', () => {
  it('shows control characters, bidi overrides and line separators escaped, and leaves other text alone', () => {
    expect(printable('a\x1b]0;title\x07b\x1b[2Jc')).toBe('a\\x1b]0;title\\x07b\\x1b[2Jc');
    expect(printable('line\nforged\r\tx\x00\x7f\x9b')).toBe('line\\x0aforged\\x0d\\x09x\\x00\\x7f\\x9b');
    expect(printable('abc\u202Eevil\u2066\u2028')).toBe('abc\\u202eevil\\u2066\\u2028');
    expect(printable("Quote ' \"double\" \\ 🎓 עברית — Línea")).toBe("Quote ' \"double\" \\ 🎓 עברית — Línea");
    expect(printable(null)).toBe('');
    expect(printable(12)).toBe('12');
  });
});

describe('terminalSafe', () => {
  it('with colours on keeps colour codes, escapes every other sequence and resets at the end of a coloured line', () => {
    expect(terminalSafe('\x1b[32m✓\x1b[39m name\x1b[2J\x07', true)).toBe('\x1b[32m✓\x1b[39m name\\x1b[2J\\x07\x1b[0m');
    expect(terminalSafe('plain', true)).toBe('plain');
  });

  it('with colours off escapes colour codes too, and keeps newlines and tabs', () => {
    expect(terminalSafe('a\x1b[8mhidden\nnext\tcol', false)).toBe('a\\x1b[8mhidden\nnext\tcol');
    expect(terminalSafe('\x1b]0;t\x07', false)).toBe('\\x1b]0;t\\x07');
  });
});

describe('plural', () => {
  it('agrees with the count', () => {
    expect(plural(1, 'course')).toBe('1 course');
    expect(plural(0, 'course')).toBe('0 courses');
    expect(plural(2, 'policy', 'policies')).toBe('2 policies');
  });
});

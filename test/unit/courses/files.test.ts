import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeUtf8, isInside } from '../../../src/courses/files.ts';

describe('decodeUtf8', () => {
  it('returns valid UTF-8 exactly, a byte-order mark included', () => {
    expect(decodeUtf8(Buffer.from('\uFEFF# Título 🎓\r\n', 'utf8'))).toBe('\uFEFF# Título 🎓\r\n');
    expect(decodeUtf8(Buffer.alloc(0))).toBe('');
  });

  it('names the offset of the first byte that is not UTF-8, past U+FFFD written as valid UTF-8', () => {
    expect(decodeUtf8(Buffer.from([0x41, 0xff, 0x42]))).toBe(1);
    expect(decodeUtf8(Buffer.concat([Buffer.from('é \uFFFD 🎓 '), Buffer.from([0xc3, 0x28])]))).toBe(2 + 1 + 3 + 1 + 4 + 1);
    expect(decodeUtf8(Buffer.from([0x61, 0xe2, 0x82]))).toBe(1); // truncated sequence at the end
    expect(decodeUtf8(Buffer.from([0xed, 0xa0, 0x80]))).toBe(0); // an encoded surrogate
    expect(decodeUtf8(Buffer.from([0xc0, 0xaf]))).toBe(0); // overlong
  });
});

describe('isInside', () => {
  it('accepts the root and what is below it, nothing beside or above', () => {
    const root = path.resolve('/data/courses/one');
    expect(isInside(root, root)).toBe(true);
    expect(isInside(root, path.join(root, 'lessons', 'a.md'))).toBe(true);
    expect(isInside(root, path.join(root, '..a.md'))).toBe(true);
    expect(isInside(root, path.resolve('/data/courses/one-other/a.md'))).toBe(false);
    expect(isInside(root, path.resolve('/data/courses'))).toBe(false);
    expect(isInside(root, path.resolve('/etc/shadow'))).toBe(false);
  });
});

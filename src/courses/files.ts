/**
 * Reading one file of a course folder, treating the folder as hostile: whatever the path is (a
 * plain file, a link, a link to a link), the file read must be a regular file that lies inside the
 * course folder once every link is resolved, no larger than a limit, and valid UTF-8. The same rule
 * for every file kind (brief, curriculum, lessons, research).
 *
 * The file is opened first and checked afterwards, on the opened descriptor (where it is, what it
 * is, how large), and read from that descriptor: swapping a link between the check and the read
 * cannot smuggle another file in. O_NONBLOCK keeps a FIFO from blocking the open.
 */
import { closeSync, constants, fstatSync, lstatSync, openSync, readlinkSync, readSync, realpathSync, statSync } from 'node:fs';
import path from 'node:path';
import type { CourseProblem, ProblemKind } from './model.js';

export type FileRead = { kind: 'text'; text: string } | { kind: 'absent' } | { kind: 'refused'; problem: CourseProblem };

const refuse = (file: string, kind: ProblemKind, message: string): FileRead => ({ kind: 'refused', problem: { kind, file, message } });

/** True when `candidate` (a resolved path) is `root` itself or below it. */
export function isInside(root: string, candidate: string): boolean {
  const relative = path.relative(root, candidate);
  return relative === '' || (!relative.startsWith(`..${path.sep}`) && relative !== '..' && !path.isAbsolute(relative));
}

/** The resolved course folder, the root every file must resolve inside; null when it is gone. */
export function courseRoot(dir: string): string | null {
  try {
    return realpathSync(dir);
  } catch (error) {
    if (isMissing(error)) return null;
    throw error;
  }
}

/**
 * Where a folder of the course (lessons/, research/) resolves to: null when it does not exist, a
 * problem when it leads outside the course folder.
 */
export function resolveSubfolder(root: string, relative: string): { kind: 'absent' } | { kind: 'folder'; path: string } | { kind: 'refused'; problem: CourseProblem } {
  let real: string;
  try {
    real = realpathSync(path.join(root, relative));
  } catch (error) {
    if (isMissing(error)) return { kind: 'absent' };
    throw error;
  }
  if (!isInside(root, real)) return { kind: 'refused', problem: { kind: 'outside-folder', file: `${relative}/`, message: `leads outside the course folder (to ${real}): a course reads only files inside its folder` } };
  return statSync(real).isDirectory() ? { kind: 'folder', path: real } : { kind: 'absent' };
}

const isMissing = (error: unknown) => ['ENOENT', 'ENOTDIR'].includes((error as NodeJS.ErrnoException).code ?? '');

/** Reads `relative` (a path inside the course folder `root`, already resolved) as UTF-8 text. */
export function readCourseFile(root: string, relative: string, maxBytes: number): FileRead {
  const full = path.join(root, relative);
  let fd: number;
  try {
    fd = openSync(full, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (isMissing(error)) return { kind: 'absent' };
    if (code === 'ELOOP') return refuse(relative, 'outside-folder', 'is a link that leads nowhere (a loop of links)');
    if (code === 'ENXIO' || code === 'EOPNOTSUPP') return refuse(relative, 'not-a-file', 'is not a regular file (a socket?)');
    throw error; // permission and I/O errors are not the course's shape: the caller classifies them
  }
  try {
    const opened = fstatSync(fd);
    if (!opened.isFile()) return refuse(relative, 'not-a-file', `is not a regular file (${kindOf(opened)})`);
    const real = openedPath(fd, full, opened);
    if (real === null) return refuse(relative, 'changed-while-read', 'was replaced while it was being read; run the command again');
    if (!isInside(root, real)) return refuse(relative, 'outside-folder', `leads outside the course folder (to ${real}): a course reads only files inside its folder`);
    if (opened.size > maxBytes) return refuse(relative, 'too-large', `is ${opened.size} bytes, more than the ${maxBytes} a course file may have`);
    const bytes = readAtMost(fd, opened.size, maxBytes + 1);
    if (bytes.length > maxBytes) return refuse(relative, 'too-large', `grew past the ${maxBytes} bytes a course file may have while it was read`);
    const decoded = decodeUtf8(bytes);
    if (typeof decoded === 'number') return refuse(relative, 'invalid-utf8', `is not valid UTF-8 (first bad byte at offset ${decoded}): save it as UTF-8`);
    return { kind: 'text', text: decoded };
  } finally {
    closeSync(fd);
  }
}

/**
 * Where the opened file is. Linux says it for the descriptor itself (/proc/self/fd), which no
 * later change of links can alter. Elsewhere: the resolved path, accepted only when the file found
 * there without following a link is the one that was opened; null when it is not.
 */
function openedPath(fd: number, full: string, opened: ReturnType<typeof fstatSync>): string | null {
  if (process.platform === 'linux') {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      // /proc not mounted: fall through
    }
  }
  const real = realpathSync(full);
  const named = lstatSync(real);
  return named.dev === opened.dev && named.ino === opened.ino ? real : null;
}

function kindOf(stat: ReturnType<typeof fstatSync>): string {
  if (stat.isDirectory()) return 'a folder';
  if (stat.isFIFO()) return 'a named pipe';
  if (stat.isCharacterDevice() || stat.isBlockDevice()) return 'a device';
  if (stat.isSocket()) return 'a socket';
  return 'not a file';
}

/** Reads to the end but no more than `limit` bytes: one read when the file still has its `expected` size. */
function readAtMost(fd: number, expected: number, limit: number): Buffer {
  const chunks: Buffer[] = [];
  let total = 0;
  let want = Math.min(expected + 1, limit); // one byte more than expected, to see a file that grew
  while (want > 0) {
    const chunk = Buffer.allocUnsafe(want);
    const n = readSync(fd, chunk, 0, want, null);
    if (n === 0) break;
    chunks.push(chunk.subarray(0, n));
    total += n;
    want = Math.min(64 * 1024, limit - total);
  }
  return Buffer.concat(chunks, total);
}

const FATAL = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const LENIENT = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });
const REPLACEMENT = Buffer.from('\uFFFD', 'utf8');

/**
 * The text, exactly (a byte-order mark is kept), or the byte offset of the first byte that is not
 * valid UTF-8. Pure.
 */
export function decodeUtf8(bytes: Uint8Array): string | number {
  try {
    return FATAL.decode(bytes);
  } catch {
    // Up to the first invalid sequence the lenient decoding is exact, so the byte length of the
    // text before a U+FFFD is its offset; a U+FFFD written in the file (EF BF BD) is skipped.
    const text = LENIENT.decode(bytes);
    const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    let offset = 0;
    let from = 0;
    for (let at = text.indexOf('\uFFFD'); at >= 0; at = text.indexOf('\uFFFD', at + 1)) {
      offset += Buffer.byteLength(text.slice(from, at), 'utf8');
      from = at + 1;
      if (!buffer.subarray(offset, offset + 3).equals(REPLACEMENT)) return offset;
      offset += 3;
    }
    return buffer.length; // not reached: the fatal decoder found something
  }
}

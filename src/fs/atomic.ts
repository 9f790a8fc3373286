/**
 * Every file dbkit writes whole (backup manifests, embedded state and leases, persister lessons,
 * rls-audit outputs, init's files) is written whole or not at all: the content goes to a
 * temporary file beside it, created exclusively (O_EXCL: never through a planted symlink), fsynced
 * when asked, then renamed over the file (rename replaces a symlink there instead of writing through
 * it), or hard-linked when the file must not exist yet. A failure removes the temporary file.
 *
 * Why not write-file-atomic: it opens its temporary file without O_EXCL and resolves a symlinked
 * target to write through it, both of which dbkit's private folders must refuse.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, linkSync, mkdirSync, openSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { link, mkdir, open, rename, rm } from 'node:fs/promises';
import path from 'node:path';

export interface AtomicWriteOptions {
  /** Mode of a new file (the umask applies), e.g. 0o600 for files only their owner may read. Default 0o666. */
  mode?: number;
  /** fsync the content before it replaces the file (backup manifests): survives a power loss, costs a disk flush. */
  durable?: boolean;
  /** The file must not exist yet: fail with EEXIST instead of replacing it. */
  exclusive?: boolean;
  /** Create the folder (and its parents) first. */
  createFolder?: boolean;
  /**
   * A fixed temporary file name in the same folder (backup manifests use `<id>.json.tmp`, which
   * prune recognises); a file left there by a killed run is removed first. Default: random.
   */
  temporaryName?: string;
}

function temporaryOf(file: string, options: AtomicWriteOptions): string {
  return options.temporaryName ? path.join(path.dirname(file), options.temporaryName) : `${file}.${randomBytes(6).toString('hex')}.tmp`;
}

export function writeFileAtomicSync(file: string, content: string | Uint8Array, options: AtomicWriteOptions = {}): void {
  if (options.createFolder) mkdirSync(path.dirname(file), { recursive: true });
  const temporary = temporaryOf(file, options);
  if (options.temporaryName) rmSync(temporary, { force: true });
  const fd = openSync(temporary, 'wx', options.mode ?? 0o666);
  try {
    try {
      writeFileSync(fd, content);
      if (options.durable) fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    if (options.exclusive) {
      linkSync(temporary, file);
      rmSync(temporary, { force: true });
    } else {
      renameSync(temporary, file);
    }
  } catch (error) {
    rmSync(temporary, { force: true });
    throw error;
  }
}

export async function writeFileAtomic(file: string, content: string | Uint8Array, options: AtomicWriteOptions = {}): Promise<void> {
  if (options.createFolder) await mkdir(path.dirname(file), { recursive: true });
  const temporary = temporaryOf(file, options);
  if (options.temporaryName) await rm(temporary, { force: true });
  const handle = await open(temporary, 'wx', options.mode ?? 0o666);
  try {
    try {
      await handle.writeFile(content);
      if (options.durable) await handle.sync();
    } finally {
      await handle.close();
    }
    if (options.exclusive) {
      await link(temporary, file);
      await rm(temporary, { force: true });
    } else {
      await rename(temporary, file);
    }
  } catch (error) {
    await rm(temporary, { force: true }).catch(() => {});
    throw error;
  }
}

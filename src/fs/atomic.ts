/**
 * Every file dbkit replaces is replaced whole or not at all: write-file-atomic writes a temporary
 * file beside it, fsyncs it and renames it over the old one (and removes the temporary file on
 * failure or exit), so a crash never leaves half a manifest, lesson or state file. The parent
 * folder is created first.
 */
import { mkdirSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import writeFileAtomicLib from 'write-file-atomic';

export interface AtomicWriteOptions {
  /** File mode of the new file (e.g. 0o600 for files holding secrets). */
  mode?: number;
}

const bytes = (content: string | Uint8Array): string | Buffer => (typeof content === 'string' || Buffer.isBuffer(content) ? content : Buffer.from(content));

export async function writeFileAtomic(file: string, content: string | Uint8Array, options: AtomicWriteOptions = {}): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  await writeFileAtomicLib(file, bytes(content), options.mode === undefined ? {} : { mode: options.mode });
}

export function writeFileAtomicSync(file: string, content: string | Uint8Array, options: AtomicWriteOptions = {}): void {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileAtomicLib.sync(file, bytes(content), options.mode === undefined ? {} : { mode: options.mode });
}

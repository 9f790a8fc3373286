/**
 * Which packages a module pulls in when it is imported: a child Node process imports it with a
 * resolve hook that records every ESM resolution, and lists the CommonJS modules it required.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const HOOK = `
import { appendFileSync } from 'node:fs';
let log;
export function initialize(data) { log = data.log; }
export async function resolve(specifier, context, next) {
  const result = await next(specifier, context);
  appendFileSync(log, result.url + '\\n');
  return result;
}`;

/** Every file (ESM resolutions and CommonJS requires) loaded by importing `file`, as paths or URLs. */
export async function modulesLoadedBy(file: string): Promise<string[]> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'dbkit-loaded-'));
  const log = path.join(dir, 'resolved.txt');
  const probe = `
    import { register, createRequire } from 'node:module';
    register(${JSON.stringify(`data:text/javascript,${encodeURIComponent(HOOK)}`)}, { data: { log: ${JSON.stringify(log)} } });
    await import(${JSON.stringify(pathToFileURL(file).href)});
    const require = createRequire(import.meta.url);
    console.log(JSON.stringify(Object.keys(require.cache)));`;
  try {
    const child = spawn(process.execPath, ['--input-type=module', '-e', probe], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    if (code !== 0) throw new Error(`importing ${file} failed (exit ${code}): ${err}`);
    let resolved = '';
    try {
      resolved = readFileSync(log, 'utf8');
    } catch {
      // nothing resolved through the ESM loader
    }
    return [...resolved.split('\n').filter(Boolean), ...(JSON.parse(out) as string[])];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The packages (by node_modules folder name) among `loaded`. */
export function packagesAmong(loaded: readonly string[], names: readonly string[]): string[] {
  return names.filter((name) => loaded.some((f) => f.includes(`/node_modules/${name}/`)));
}

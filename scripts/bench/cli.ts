/**
 * Benchmark of the CLI's everyday cost, as a user pays it: `dbkit --help`, `dbkit --version` and
 * `dbkit status` on a warm embedded cluster (kept up between commands by the idle lease), each a
 * new process, against `node -e 0` in the same run, interleaved round by round. Targets: status at
 * most 4x `node -e 0`, --help at most 3x. Also shown, for scale: status when every command has to
 * start and stop the cluster (DBKIT_EMBEDDED_IDLE=0, dbkit's behaviour before the idle lease), and
 * `npx dbkit --version` against running the launcher directly (bin/dbkit.js, which is what
 * `node_modules/.bin/dbkit` is in a project that depends on dbkit).
 *
 *   npm run bench:cli          (needs `npm run build`: it runs bin/dbkit.js)
 *   BENCH_CLI_RUNS=15 BENCH_CLI_COLD_RUNS=3
 *
 * The embedded cluster lives in a temporary state dir and is deleted at the end.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { destroyEmbedded } from '../../src/embedded/cluster.ts';
import { median, ms, ratio, table } from './support.ts';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const BIN = path.join(ROOT, 'bin', 'dbkit.js');
const RUNS = Number(process.env.BENCH_CLI_RUNS ?? 15);
const COLD_RUNS = Number(process.env.BENCH_CLI_COLD_RUNS ?? 3);
const TARGETS: Record<string, number> = { 'dbkit status (warm embedded)': 4, 'dbkit --help': 3 };

type Env = Record<string, string>;

function environment(stateDir: string, extra: Env = {}): Env {
  const env: Env = {};
  for (const [key, value] of Object.entries(process.env)) if (value !== undefined && !key.startsWith('DBKIT_') && key !== 'DATABASE_URL') env[key] = value;
  return { ...env, NO_COLOR: '1', DBKIT_STATE_DIR: stateDir, DBKIT_EMBEDDED_IDLE: '10m', ...extra };
}

/**
 * CPU time (user + system) of the waited-for children of this process so far, in ms, from
 * /proc/self/stat (Linux; null elsewhere). On a loaded machine wall time swings with the load,
 * CPU time much less: both are shown.
 */
function childrenCpuMs(): number | null {
  try {
    const fields = readFileSync('/proc/self/stat', 'utf8').replace(/^.*\) /, '').split(' ');
    // After "pid (comm) ", field 3 is state: cutime and cstime are fields 16 and 17 (index 13, 14 here).
    return ((Number(fields[13]) + Number(fields[14])) * 1000) / CLOCK_TICKS;
  } catch {
    return null;
  }
}
const CLOCK_TICKS = 100;

interface Sample {
  wallMs: number;
  cpuMs: number | null;
}

/** Wall and CPU time of one process; throws when it fails. */
function time(command: string, args: string[], env: Env): Sample {
  const cpuBefore = childrenCpuMs();
  const started = performance.now();
  const result = spawnSync(command, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
  const wallMs = performance.now() - started;
  const cpuAfter = childrenCpuMs();
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} exited ${result.status}: ${result.stderr}`);
  return { wallMs, cpuMs: cpuBefore === null || cpuAfter === null ? null : cpuAfter - cpuBefore };
}

const medianOf = (samples: readonly Sample[], pick: (s: Sample) => number | null) => {
  const values = samples.map(pick).filter((v): v is number => v !== null);
  return values.length === samples.length ? median(values) : Number.NaN;
};

interface Case {
  label: string;
  command: string;
  args: string[];
  env?: Env;
}

async function main(): Promise<void> {
  const stateDir = mkdtempSync(path.join(os.tmpdir(), 'dbkit-bench-cli-'));
  // As root the embedded cluster runs as the postgres OS user, which must reach the state dir.
  chmodSync(stateDir, 0o755);
  const env = environment(stateDir);
  try {
    process.stderr.write('creating the embedded cluster and applying the migration set...\n');
    time(process.execPath, [BIN, 'apply'], env);
    const cases: Case[] = [
      { label: 'node -e 0', command: process.execPath, args: ['-e', '0'] },
      { label: 'dbkit --help', command: process.execPath, args: [BIN, '--help'] },
      { label: 'dbkit --version', command: process.execPath, args: [BIN, '--version'] },
      { label: 'dbkit status (warm embedded)', command: process.execPath, args: [BIN, 'status'] },
      { label: 'dbkit status --json (warm embedded)', command: process.execPath, args: [BIN, 'status', '--json'] },
    ];
    const samples = new Map<string, Sample[]>(cases.map((c) => [c.label, []]));
    for (const c of cases) time(c.command, c.args, c.env ?? env);
    for (let round = 0; round < RUNS; round += 1) {
      // Rotate the order each round so that no case always runs right after the same one.
      for (let i = 0; i < cases.length; i += 1) {
        const c = cases[(round + i) % cases.length]!;
        samples.get(c.label)!.push(time(c.command, c.args, c.env ?? env));
      }
      process.stderr.write(`round ${round + 1}/${RUNS}\r`);
    }
    process.stderr.write('\n');
    const row = (label: string, runs: readonly Sample[], base: readonly Sample[]) => {
      const wall = medianOf(runs, (s) => s.wallMs);
      const cpu = medianOf(runs, (s) => s.cpuMs);
      const wallRatio = wall / medianOf(base, (s) => s.wallMs);
      const target = TARGETS[label];
      return [label, ms(wall), ratio(wallRatio), ms(cpu), ratio(cpu / medianOf(base, (s) => s.cpuMs)), target ? `<= ${target}x` : '', target ? (wallRatio <= target ? 'met' : 'NOT met') : ''];
    };
    const node = samples.get('node -e 0')!;
    const rows = cases.map((c) => row(c.label, samples.get(c.label)!, node));

    // For scale: the same status when each command starts and stops the cluster, and npx.
    const cold = environment(stateDir, { DBKIT_EMBEDDED_IDLE: '0' });
    time(process.execPath, [BIN, 'status'], cold); // stops the warm cluster on the way out
    const coldSamples: Sample[] = [];
    const nodeAgain: Sample[] = [];
    const npx: Sample[] = [];
    const direct: Sample[] = [];
    for (let i = 0; i < COLD_RUNS; i += 1) {
      coldSamples.push(time(process.execPath, [BIN, 'status'], cold));
      nodeAgain.push(time(process.execPath, ['-e', '0'], env));
      npx.push(time('npx', ['dbkit', '--version'], env));
      direct.push(time(BIN, ['--version'], env));
    }
    rows.push(
      row('dbkit status, start + stop each time (DBKIT_EMBEDDED_IDLE=0)', coldSamples, nodeAgain),
      row('bin/dbkit.js --version (= node_modules/.bin/dbkit)', direct, nodeAgain),
      row('npx dbkit --version', npx, nodeAgain),
    );
    const load = os.loadavg().map((l) => l.toFixed(1)).join(' ');
    process.stdout.write(`\nCLI start-up, median of ${RUNS} runs (last three rows: ${COLD_RUNS}), ratios to node -e 0 in the same run; load average ${load}\n\n`);
    process.stdout.write(`${table(['command', 'wall', 'vs node', 'CPU', 'vs node', 'target (wall)', ''], rows)}\n`);
  } finally {
    await destroyEmbedded(stateDir).catch((error) => process.stderr.write(`could not delete the embedded cluster: ${String(error)}\n`));
    rmSync(stateDir, { recursive: true, force: true });
  }
}

await main();

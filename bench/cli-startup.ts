/**
 * Start-up cost of the CLI against bare Node, measured in the same run:
 *   - `node -e 0`                                   (baseline: what any Node CLI pays)
 *   - `node bin/run.js --help`                      (oclif + command manifest)
 *   - `node bin/run.js validate <500 components>`   (plus zod, yaml, the full validation)
 * Target: both within 4x of the baseline (median of N runs, runs interleaved so load noise hits all alike).
 * Needs a built tree (`npm run build`; after a bare `npx tsc -p tsconfig.build.json` also run
 * `node scripts/bundle-commands.js`, else validate loads unbundled: see cli/launch.ts and `validateBundled`).
 * Run: `npx tsx bench/cli-startup.ts` (BENCH_RUNS=N).
 * Writes bench/results/cli-startup.json.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import module from 'node:module';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const runs = Number(process.env.BENCH_RUNS ?? 15);
const TARGET_RATIO = 4;

/** A valid topology with `count` components over 8 local clouds (storage, smr, log, workflow, mapreduce). */
export function bigTopology(count: number): string {
  const clouds = Array.from({ length: 8 }, (_, i) => `c${i + 1}`);
  const lines = ['name: bench', 'mode: mediator', 'clouds:'];
  for (const c of clouds) lines.push(`  ${c}: { provider: local }`);
  lines.push('components:');
  const kinds = ['storage', 'smr', 'log', 'workflow', 'mapreduce'] as const;
  for (let i = 0; i < count; i++) {
    const kind = kinds[i % kinds.length];
    const four = Array.from({ length: 4 }, (_, j) => clouds[(i + j) % clouds.length]).join(', ');
    const spec =
      kind === 'mapreduce'
        ? `{ kind: mapreduce, f: 1, workers: 4, clouds: [${four}] }`
        : kind === 'workflow'
          ? `{ kind: workflow, faults: crash, f: 1, clouds: [${four}] }`
          : `{ kind: ${kind}, f: 1, clouds: [${four}] }`;
    lines.push(`  comp-${i}: ${spec}`);
  }
  return `${lines.join('\n')}\n`;
}

/**
 * CPU time of finished children (user + system, ms) from /proc/self/stat on Linux; undefined elsewhere.
 * Wall time is the target, but on a shared, loaded machine CPU time is the steadier figure, so both are shown.
 */
export function childrenCpuMs(): number | undefined {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // After the command name: field 3 is index 0, so cutime (16) and cstime (17) are indexes 13 and 14.
    const ticks = Number(fields[13]) + Number(fields[14]);
    return Number.isFinite(ticks) ? ticks * 10 : undefined; // USER_HZ is 100 on Linux
  } catch {
    return undefined;
  }
}

function time(args: string[], cwd: string, cpu: number[]): number {
  const c0 = childrenCpuMs();
  const t0 = performance.now();
  const r = spawnSync(process.execPath, args, {
    cwd,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, NO_COLOR: '1' },
  });
  const ms = performance.now() - t0;
  const c1 = childrenCpuMs();
  if (c0 !== undefined && c1 !== undefined) cpu.push(c1 - c0);
  if (r.status !== 0) throw new Error(`${args.join(' ')} exited ${r.status}: ${r.stderr?.toString().slice(0, 500)}`);
  return ms;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'tclouds-bench-'));
  try {
    const file = path.join(dir, 'tclouds.yaml');
    writeFileSync(file, bigTopology(500));
    const bin = path.join(root, 'bin', process.env.BENCH_BIN ?? 'run.js');
    const cases = [
      { name: 'node -e 0 (baseline)', args: ['-e', '0'] },
      { name: 'tclouds --help', args: [bin, '--help'] },
      { name: 'tclouds validate (500 components)', args: [bin, 'validate', file] },
    ];
    // Warm-up: file cache, and the first start after a build refreshes the command manifest.
    for (const c of cases) for (let i = 0; i < 2; i++) time(c.args, dir, []);
    // The manifest (cli/launch.ts) must be fresh during the run, else starts include a scan of every command.
    const manifestFile = path.join(root, 'oclif.manifest.json');
    const manifestMtime = () => (existsSync(manifestFile) ? statSync(manifestFile).mtimeMs : undefined);
    const manifestBefore = manifestMtime();
    const samples = cases.map(() => [] as number[]);
    const cpu = cases.map(() => [] as number[]);
    for (let i = 0; i < runs; i++) {
      cases.forEach((c, j) => {
        samples[j]?.push(time(c.args, dir, cpu[j] ?? []));
      });
    }
    const manifestSteady = manifestBefore !== undefined && manifestMtime() === manifestBefore;
    // Whether validate ran from its bundle (dist/bundle/validate.js) or from the separately compiled modules.
    let validateBundled = false;
    try {
      const manifest = JSON.parse(readFileSync(manifestFile, 'utf8')) as {
        commands?: Record<string, { relativePath?: string[] }>;
      };
      validateBundled = manifest.commands?.validate?.relativePath?.includes('bundle') === true;
    } catch {
      // no manifest: unbundled
    }
    const meanCpu = cpu.map((xs) => (xs.length === runs ? xs.reduce((a, b) => a + b, 0) / runs : undefined));
    const baseCpu = meanCpu[0];
    const base = median(samples[0] ?? []);
    const results = cases.map((c, j) => {
      const m = median(samples[j] ?? []);
      return {
        name: c.name,
        medianMs: Math.round(m * 10) / 10,
        minMs: Math.round(Math.min(...(samples[j] ?? [])) * 10) / 10,
        ratio: Math.round((m / base) * 100) / 100,
        cpuMs: meanCpu[j] === undefined ? null : Math.round(meanCpu[j] as number),
        cpuRatio:
          meanCpu[j] === undefined || !baseCpu ? null : Math.round(((meanCpu[j] as number) / baseCpu) * 100) / 100,
      };
    });
    const [, help, validate] = results;
    const out = {
      bench: 'cli-startup',
      date: new Date().toISOString(),
      node: process.version,
      runs,
      // Other work on the machine inflates every figure; the 1-minute load average at the end says how much.
      loadAverage: Math.round((loadavg()[0] ?? 0) * 100) / 100,
      targetRatio: TARGET_RATIO,
      // false: the command manifest was missing or rebuilt during the run (a command changed or fails to
      // load), so some starts scanned every command module and the figures are pessimistic.
      manifestSteady,
      validateBundled,
      // Node 22+: bin/run.js uses V8's module compile cache, warmed by the warm-up runs (Node 20 has none).
      compileCache: 'enableCompileCache' in module,
      results,
      pass: (help?.ratio ?? Infinity) <= TARGET_RATIO && (validate?.ratio ?? Infinity) <= TARGET_RATIO,
    };
    const w = Math.max(...results.map((r) => r.name.length));
    console.log(`${'case'.padEnd(w)}  median ms  min ms  x node  cpu ms  cpu x node`);
    for (const r of results)
      console.log(
        `${r.name.padEnd(w)}  ${r.medianMs.toFixed(1).padStart(9)}  ${r.minMs.toFixed(1).padStart(6)}  ${r.ratio.toFixed(2).padStart(6)}  ${String(r.cpuMs ?? '-').padStart(6)}  ${String(r.cpuRatio ?? '-').padStart(10)}`,
      );
    if (!manifestSteady) console.log('note: the command manifest was missing or rebuilt during the run (see README)');
    if (!validateBundled) console.log('note: validate ran unbundled (run `node scripts/bundle-commands.js` after tsc)');
    console.log(`target: --help and validate within ${TARGET_RATIO}x of bare node: ${out.pass ? 'PASS' : 'FAIL'}`);
    mkdirSync(path.join(root, 'bench', 'results'), { recursive: true });
    writeFileSync(path.join(root, 'bench', 'results', 'cli-startup.json'), `${JSON.stringify(out, null, 2)}\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) await main();

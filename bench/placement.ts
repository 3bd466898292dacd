/**
 * Speed and accuracy of the exact placement figures, against these targets, in one run:
 *   1. exact curve, m = 21 (the paper's Figure 3 layouts), n = 0..100             target < 20 ms
 *   2. exact curve, m = 1000, v = 3000, n = 0..1000 (balanced, most unbalanced)  target < 1 s
 *   3. with-removal curves, m = 41, v = 82, n = 0..82                             target < 50 ms
 *   4. the exact curve of (1) against a 10^6-trial Monte Carlo of the same curve  target >= 100x faster
 *      (and the Monte Carlo's error, which the exact method does not have)
 *   5. `node bin/run.js placement whatif ...` end to end against bare `node -e 0` target within 4x
 * In-process timings: median of several warm runs (the first, cold run is reported too). Process timings:
 * median of BENCH_RUNS interleaved runs, so load noise hits both alike. Needs a compiled tree for (5)
 * (`npx tsc -p tsconfig.build.json`). Run: `npx tsx bench/placement.ts`. Writes bench/results/placement.json.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeJsonAtomic } from '../kernel/atomic-file.js';
import { keepCurve } from '../placement/risk.js';
import { monteCarloCurve } from '../placement/simulate.js';
import type { Layout, RiskQuery } from '../placement/types.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const runs = Number(process.env.BENCH_RUNS ?? 9);
const mcTrials = Number(process.env.BENCH_MC_TRIALS ?? 1_000_000);
const BVM: RiskQuery = { threat: 'byzantine-vm', keep: 'pm-majority', removal: false };

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

function timeIt(f: () => unknown, reps = runs): { coldMs: number; medianMs: number } {
  const t0 = performance.now();
  f();
  const coldMs = performance.now() - t0;
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t = performance.now();
    f();
    times.push(performance.now() - t);
  }
  return { coldMs, medianMs: median(times) };
}

interface Row {
  name: string;
  measured: number;
  unit: string;
  target: string;
  ok: boolean;
  detail?: Record<string, unknown>;
}
const rows: Row[] = [];

function curveCase(name: string, layouts: [string, Layout][], q: RiskQuery, N: number, targetMs: number): void {
  for (const [label, layout] of layouts) {
    const t = timeIt(() => keepCurve(layout, q, N));
    const curve = keepCurve(layout, q, N);
    rows.push({
      name: `${name}: ${label}`,
      measured: Number(t.medianMs.toFixed(3)),
      unit: 'ms',
      target: `< ${targetMs} ms`,
      ok: t.medianMs < targetMs,
      detail: { coldMs: Number(t.coldMs.toFixed(3)), points: curve.length, pKeepAtEnd: curve[N], q },
    });
  }
}

const fig3Bal: Layout = Array(21).fill(2);
const fig3Unb: Layout = [30, ...Array(20).fill(1)];
const mixed21: Layout = [9, 8, 7, 6, 5, 4, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1];

curveCase(
  'm=21, n=0..100',
  [
    ['balanced [2x21]', fig3Bal],
    ['unbalanced 60% [30,1x20]', fig3Unb],
    ['mixed sizes [9,8,...,1x11]', mixed21],
  ],
  BVM,
  100,
  20,
);
curveCase(
  'm=1000, v=3000, n=0..1000',
  [
    ['balanced [3x1000]', Array(1000).fill(3)],
    ['unbalanced [2001,1x999]', [2001, ...Array(999).fill(1)]],
  ],
  BVM,
  1000,
  1000,
);
curveCase(
  'm=1000, v=3000, n=0..1000, VM majority',
  [['unbalanced [2001,1x999]', [2001, ...Array(999).fill(1)]]],
  { ...BVM, keep: 'vm-majority' },
  1000,
  1000,
);
curveCase(
  'with removal, m=41, v=82, n=0..82',
  [
    ['balanced [2x41]', Array(41).fill(2)],
    ['unbalanced [42,1x40]', [42, ...Array(40).fill(1)]],
  ],
  { ...BVM, removal: true },
  82,
  50,
);

// 4. Exact vs Monte Carlo on the same curve (m = 21, unbalanced 60%, n = 0..100).
{
  const exactT = timeIt(() => keepCurve(fig3Unb, BVM, 100));
  const exact = keepCurve(fig3Unb, BVM, 100);
  const t0 = performance.now();
  const mc = monteCarloCurve(fig3Unb, BVM, 100, mcTrials, 2012);
  const mcMs = performance.now() - t0;
  let maxErr = 0;
  let at = 0;
  exact.forEach((p, n) => {
    const e = Math.abs(p - (mc[n] as number));
    if (e > maxErr) {
      maxErr = e;
      at = n;
    }
  });
  const speedup = mcMs / exactT.medianMs;
  rows.push({
    name: `exact vs ${mcTrials.toExponential(0)}-trial Monte Carlo (m=21 unbalanced, n=0..100)`,
    measured: Number(speedup.toFixed(0)),
    unit: 'x faster',
    target: '>= 100x',
    ok: speedup >= 100,
    detail: {
      exactMs: Number(exactT.medianMs.toFixed(3)),
      monteCarloMs: Number(mcMs.toFixed(1)),
      monteCarloMaxAbsError: Number(maxErr.toExponential(3)),
      atAttacks: at,
      exactAtThatPoint: exact[at],
    },
  });
}

// 5. End to end against bare node. The CLI is fast only with a fresh oclif.manifest.json (cli/launch.ts keeps
// it in step with dist/commands); without one oclif imports every command module, so we warm up once and
// record whether the manifest was fresh.
{
  spawnSync(process.execPath, [path.join(root, 'bin/run.js'), 'placement', 'whatif', '--layout', '2,1', '--json'], {
    cwd: root,
  });
  const manifestFresh = existsSync(path.join(root, 'oclif.manifest.json'));
  const whatif = [
    path.join(root, 'bin/run.js'),
    'placement',
    'whatif',
    '--layout',
    '6,1,1,1,1',
    '--attacks',
    '0..20',
    '--json',
  ];
  const node: number[] = [];
  const cli: number[] = [];
  let failed = '';
  for (let i = 0; i < runs; i++) {
    let t = performance.now();
    spawnSync(process.execPath, ['-e', '0']);
    node.push(performance.now() - t);
    t = performance.now();
    const r = spawnSync(process.execPath, whatif, {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, NO_COLOR: '1' },
    });
    cli.push(performance.now() - t);
    if (r.status !== 0) failed = r.stderr || `exit ${r.status}`;
  }
  const ratio = median(cli) / median(node);
  rows.push({
    name: '`tclouds placement whatif` end to end vs `node -e 0`',
    measured: Number(ratio.toFixed(2)),
    unit: 'x',
    target: '<= 4x',
    ok: ratio <= 4 && !failed,
    detail: {
      nodeMedianMs: Number(median(node).toFixed(1)),
      whatifMedianMs: Number(median(cli).toFixed(1)),
      runs,
      manifestFresh,
      ...(failed ? { error: failed.slice(0, 300) } : {}),
    },
  });
  // Our own share of the start-up: importing the whole placement library (what the command adds to oclif).
  const lib: number[] = [];
  const base: number[] = [];
  for (let i = 0; i < runs; i++) {
    let t = performance.now();
    spawnSync(process.execPath, ['-e', '0']);
    base.push(performance.now() - t);
    t = performance.now();
    spawnSync(process.execPath, [
      '--input-type=module',
      '-e',
      `await import(${JSON.stringify(path.join(root, 'dist/placement/index.js'))})`,
    ]);
    lib.push(performance.now() - t);
  }
  rows.push({
    name: 'import of the placement library (dist/placement/index.js) vs `node -e 0`',
    measured: Number((median(lib) / median(base)).toFixed(2)),
    unit: 'x',
    target: 'informational',
    ok: true,
    detail: { nodeMedianMs: Number(median(base).toFixed(1)), importMedianMs: Number(median(lib).toFixed(1)) },
  });
}

const result = {
  bench: 'placement',
  date: new Date().toISOString(),
  node: process.version,
  cpus: os.cpus().length,
  loadAverage: os.loadavg().map((x) => Number(x.toFixed(2))),
  runs,
  rows,
};
const w = Math.max(...rows.map((r) => r.name.length));
console.log(`${'case'.padEnd(w)}  ${'measured'.padStart(12)}  target       ok`);
for (const r of rows)
  console.log(
    `${r.name.padEnd(w)}  ${`${r.measured} ${r.unit}`.padStart(12)}  ${r.target.padEnd(11)}  ${r.ok ? 'yes' : 'NO'}`,
  );
console.log(`load average ${result.loadAverage.join(' ')} on ${result.cpus} CPUs`);
await writeJsonAtomic(path.join(root, 'bench/results/placement.json'), result);
console.log('wrote bench/results/placement.json');

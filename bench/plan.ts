/**
 * Plan speed, measured in one run on this machine:
 *   1. compilePlan of a 1,000-node topology (in process; target < 300 ms), next to validating the same
 *      topology (the work every command does anyway) as the in-process baseline;
 *   2. `node bin/run.js plan --target aws` of the mediator template (clouds turned into AWS regions) under
 *      Pulumi mocks, against bare `node -e 0` in the same run (runs interleaved so load noise hits both alike);
 *   3. `plan --target clouds` of the same template over aws, azure and gcp (one program of every provider),
 *      against 2. in the same run.
 * Needs a compiled tree (`npx tsc -p tsconfig.build.json`). Run: `npx tsx bench/plan.ts` (BENCH_RUNS=N).
 * Writes bench/results/plan.json.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { allNodes, compilePlan, planJson } from '../components/plan.js';
import { writeJsonAtomic } from '../kernel/atomic-file.js';
import { validateTopologyText } from '../topology/load.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const runs = Number(process.env.BENCH_RUNS ?? 9);
const TARGET_MS = 300;

/** About 1,000 nodes over 8 clouds of all providers: SMR groups, a log, a workflow and a big MapReduce pool. */
export function thousandNodeTopology(): string {
  const providers = ['aws', 'azure', 'gcp', 'local'];
  const lines = ['name: big', 'mode: mediator', 'clouds:'];
  for (let i = 0; i < 8; i++) {
    const p = providers[i % 4];
    lines.push(`  c${i}: { provider: ${p}${p === 'local' ? '' : `, region: r${i}`}, hosts: 7 }`);
  }
  const all = Array.from({ length: 8 }, (_, i) => `c${i}`).join(', ');
  lines.push('components:');
  for (let i = 0; i < 10; i++)
    lines.push(
      `  ledger-${i}: { kind: smr, f: 1, clouds: [c${i % 8}, c${(i + 1) % 8}, c${(i + 2) % 8}, c${(i + 3) % 8}] }`,
    );
  lines.push(`  vault: { kind: storage, f: 2, clouds: [${all}], gateways: 8 }`);
  lines.push(`  audit: { kind: log, f: 2, clouds: [${all}] }`);
  lines.push(`  flow: { kind: workflow, f: 2, clouds: [${all}] }`);
  lines.push(`  jobs: { kind: mapreduce, f: 1, workers: 925, clouds: [${all}] }`);
  return `${lines.join('\n')}\n`;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

function spawnMs(args: string[], cwd: string): number {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, args, {
    cwd,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, NO_COLOR: '1', PULUMI_SKIP_UPDATE_CHECK: '1' },
  });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`${args.join(' ')} exited ${r.status}: ${r.stderr?.toString().slice(0, 800)}`);
  return ms;
}

async function main(): Promise<void> {
  // 1. in-process plan of ~1,000 nodes
  const text = thousandNodeTopology();
  const validation = validateTopologyText(text, 'big.yaml');
  if (!validation.topology) throw new Error(`bench topology invalid: ${JSON.stringify(validation.errors.slice(0, 3))}`);
  const loaded = { file: '/bench/big.yaml', dir: '/bench', topology: validation.topology, warnings: [] };
  const nodes = allNodes(compilePlan(loaded)).length;
  const planTimes: number[] = [];
  const validateTimes: number[] = [];
  for (let i = 0; i < runs; i++) {
    let t0 = performance.now();
    validateTopologyText(text, 'big.yaml');
    validateTimes.push(performance.now() - t0);
    t0 = performance.now();
    planJson(compilePlan(loaded));
    planTimes.push(performance.now() - t0);
  }

  // 2. `tclouds plan --target aws` under Pulumi mocks vs `node -e 0`
  const dir = mkdtempSync(path.join(tmpdir(), 'tclouds-bench-plan-'));
  let cliMs: number | null = null;
  let nodeMs: number | null = null;
  let cloudsMs: number | null = null;
  let cliError: string | undefined;
  try {
    const template = readFileSync(path.join(root, 'templates', 'mediator.yaml'), 'utf8');
    const regions = ['eu-west-1', 'eu-central-1', 'us-east-1', 'us-west-2'];
    let k = 0;
    const aws = template.replace(/\{ provider: local \}/g, () => `{ provider: aws, region: ${regions[k++ % 4]} }`);
    writeFileSync(path.join(dir, 'tclouds.yaml'), aws);
    // 3. The same template over aws, azure and gcp: `plan --target clouds`, one program of every provider.
    const mixDir = path.join(dir, 'clouds');
    mkdirSync(mixDir);
    const mixed = [
      'aws, region: eu-west-1',
      'azure, region: westeurope',
      'gcp, region: europe-west1',
      'aws, region: eu-central-1',
    ];
    let j = 0;
    const mix = template.replace(/\{ provider: local \}/g, () => `{ provider: ${mixed[j++ % 4]} }`);
    writeFileSync(path.join(mixDir, 'tclouds.yaml'), mix);
    const cli: number[] = [];
    const bare: number[] = [];
    const clouds: number[] = [];
    const n = Math.max(3, Math.ceil(runs / 2));
    for (let i = 0; i < n; i++) {
      bare.push(spawnMs(['-e', '0'], dir));
      cli.push(spawnMs([path.join(root, 'bin', 'run.js'), 'plan', '--target', 'aws', '--json'], dir));
      clouds.push(spawnMs([path.join(root, 'bin', 'run.js'), 'plan', '--target', 'clouds', '--json'], mixDir));
    }
    cliMs = median(cli);
    nodeMs = median(bare);
    cloudsMs = median(clouds);
  } catch (e) {
    cliError = (e as Error).message;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  const result = {
    bench: 'plan',
    runs,
    node: process.version,
    plan1000: {
      nodes,
      medianMs: round(median(planTimes)),
      targetMs: TARGET_MS,
      ok: median(planTimes) < TARGET_MS,
      baselineValidateMs: round(median(validateTimes)),
    },
    planAwsCli: cliError
      ? { error: cliError }
      : {
          medianMs: round(cliMs as number),
          nodeBareMs: round(nodeMs as number),
          ratio: round((cliMs as number) / (nodeMs as number)),
        },
    /** The mediator template over aws + azure + gcp in one program, against `plan --target aws` of it on aws. */
    planCloudsCli: cliError
      ? { error: cliError }
      : {
          medianMs: round(cloudsMs as number),
          awsOnlyMs: round(cliMs as number),
          ratio: round((cloudsMs as number) / (cliMs as number)),
        },
  };
  console.log('benchmark                                   median      baseline');
  console.log(
    `plan of ${nodes} nodes (in process)              ${result.plan1000.medianMs.toFixed(1).padStart(7)} ms  validate ${result.plan1000.baselineValidateMs.toFixed(1)} ms  (target < ${TARGET_MS} ms: ${result.plan1000.ok ? 'ok' : 'MISSED'})`,
  );
  if ('error' in result.planAwsCli) console.log(`tclouds plan --target aws: failed: ${result.planAwsCli.error}`);
  else
    console.log(
      `tclouds plan --target aws (mocks)           ${result.planAwsCli.medianMs.toFixed(0).padStart(7)} ms  node -e 0 ${result.planAwsCli.nodeBareMs.toFixed(0)} ms  (x${result.planAwsCli.ratio})`,
    );
  if (!('error' in result.planCloudsCli))
    console.log(
      `tclouds plan --target clouds (aws+azure+gcp) ${result.planCloudsCli.medianMs.toFixed(0).padStart(6)} ms  --target aws ${result.planCloudsCli.awsOnlyMs.toFixed(0)} ms  (x${result.planCloudsCli.ratio})`,
    );
  await writeJsonAtomic(path.join(root, 'bench', 'results', 'plan.json'), result);
}

function round(x: number): number {
  return Math.round(x * 10) / 10;
}

await main();

/**
 * MapReduce benchmark: word count (templates/mapreduce/wordcount.mjs) over generated text (256 MiB by default) on a
 * local deployment with 4 workers, in one run:
 *   replicated     f=1: every task on 2 workers, outputs voted on
 *   unreplicated   the same engine with one replica per task and no vote (`--unreplicated`)
 *   lying          replicated with one worker in `wrong-output` mode
 *   single         a plain single-process word count in Node over the same file (same tokenisation)
 * Targets (issue #15): replicated <= 2.2x unreplicated; unreplicated throughput per core used >= 50% of single;
 * lying <= 3x unreplicated. Writes bench/results/mapreduce.json and prints a table.
 * An engine run's time is from submit to the job's end, upload included (the single tracker starts the job at once
 * and runs each map as its chunk arrives; `upload` is when the last chunk was stored). "Per core used" divides the
 * engine's throughput by min(workers, cpus); the same per CPU second counts the CPU time of the stack's node
 * processes and of this process (the client) against the single process's.
 *   npm run build && npx tsx bench/mapreduce.ts          (MR_BENCH_MIB=32 for a quick run)
 */
import { spawn } from 'node:child_process';
import { createReadStream, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { openClient } from '../components/mapreduce/client.js';
import { submitJob, waitJob } from '../components/mapreduce/jobs.js';
import { writeJsonAtomic } from '../kernel/atomic-file.js';
import { readLocalState } from '../stacks/local/control.js';

const MIB = Number(process.env.MR_BENCH_MIB ?? 256);
const WORKERS = 4;
/** How often an engine run asks the tracker whether the job has ended. */
const POLL_MS = 50;
const repo = path.resolve(import.meta.dirname, '..');
const JOB = path.join(repo, 'templates', 'mapreduce', 'wordcount.mjs');
const WORD = /[\p{L}\p{N}']+/gu;

function tc(args: string[], cwd: string): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(repo, 'bin', 'run.js'), ...args], {
      cwd,
      env: { ...process.env, NO_COLOR: '1' },
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.on('close', (code) => resolve({ code, out }));
  });
}

/** Text of `mib` MiB: lines of words from a Zipf-like vocabulary of 50,000 words. */
async function generate(file: string, mib: number): Promise<void> {
  const fh = await fs.open(file, 'w');
  let s = 42;
  const next = () => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return s >>> 8;
  };
  const vocab = Array.from({ length: 50_000 }, (_, i) => `w${i.toString(36)}${i % 7 === 0 ? "'s" : ''}`);
  let written = 0;
  while (written < mib * 1024 * 1024) {
    const lines: string[] = [];
    for (let i = 0; i < 10_000; i++) {
      const n = 4 + (next() % 12);
      const words: string[] = [];
      for (let k = 0; k < n; k++) {
        const r = (next() % 1000) / 1000;
        words.push(vocab[Math.floor(r * r * r * vocab.length)] as string);
      }
      lines.push(words.join(' '));
    }
    const buf = Buffer.from(`${lines.join('\n')}\n`);
    await fh.write(buf);
    written += buf.length;
  }
  await fh.close();
}

/** The plain single-process count: stream the file, count words of whole lines in one Map. */
async function single(file: string): Promise<{ seconds: number; cpuSeconds: number; words: number }> {
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const counts = new Map<string, number>();
  let rest = '';
  for await (const chunk of createReadStream(file, { encoding: 'utf8', highWaterMark: 4 * 1024 * 1024 })) {
    const text = rest + (chunk as string);
    const cut = text.lastIndexOf('\n');
    rest = text.slice(cut + 1);
    for (const m of text
      .slice(0, cut + 1)
      .toLowerCase()
      .matchAll(WORD))
      counts.set(m[0], (counts.get(m[0]) ?? 0) + 1);
  }
  const c = process.cpuUsage(c0);
  return { seconds: (performance.now() - t0) / 1000, cpuSeconds: (c.user + c.system) / 1e6, words: counts.size };
}

/** CPU seconds (user + system) the stack's node processes have used so far, from /proc. */
async function nodeCpuSeconds(stackDir: string): Promise<number> {
  const state = await readLocalState(stackDir);
  const tick = 100; // USER_HZ on Linux
  let total = 0;
  for (const n of state?.nodes ?? []) {
    const stat = await fs.readFile(`/proc/${n.pid}/stat`, 'utf8').catch(() => '');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    total += (Number(fields[11] ?? 0) + Number(fields[12] ?? 0)) / tick;
  }
  return total;
}

async function engine(stackDir: string, file: string, replicated: boolean) {
  const client = await openClient(stackDir, 'jobs');
  const cpu0 = await nodeCpuSeconds(stackDir);
  const client0 = process.cpuUsage();
  try {
    const t0 = performance.now();
    const job = await submitJob(client, {
      job: JOB,
      inputs: [file],
      reducers: WORKERS,
      replicated,
      stragglerMs: 60_000,
    });
    const uploaded = performance.now();
    // Asked every POLL_MS: the job's end is known to within that (200 ms was up to 3% of a run of 7 s).
    const rec = await waitJob(client, job, POLL_MS);
    const t1 = performance.now();
    if (rec.state !== 'done') throw new Error(`job ${job} ${rec.state}: ${rec.failure?.message}`);
    const c = process.cpuUsage(client0);
    return {
      seconds: (t1 - t0) / 1000,
      nodeCpuSeconds: (await nodeCpuSeconds(stackDir)) - cpu0,
      // This process is the client: it reads the input, and authenticates every chunk it uploads.
      clientCpuSeconds: (c.user + c.system) / 1e6,
      uploadSeconds: (uploaded - t0) / 1000,
      runSeconds: (t1 - uploaded) / 1000,
      counters: rec.counters,
      disagreeing: rec.disagreeing,
      maps: rec.maps,
    };
  } finally {
    await client.close();
  }
}

async function main(): Promise<void> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'tclouds-mr-bench-'));
  const stack = `mr-bench-${process.pid}`;
  await fs.writeFile(
    path.join(dir, 'tclouds.yaml'),
    `name: ${stack}\nmode: mediator\nclouds:\n  a: { provider: local }\n  b: { provider: local }\ncomponents:\n  jobs: { kind: mapreduce, f: 1, clouds: [a, b], workers: ${WORKERS} }\n`,
  );
  const file = path.join(dir, 'text.txt');
  await generate(file, MIB);
  const bytes = (await fs.stat(file)).size;
  const stackDir = path.join(dir, '.tclouds', stack);
  try {
    const d = await tc(['deploy', '--target', 'local', '--yes', '--json'], dir);
    if (d.code !== 0) throw new Error(`deploy failed: ${d.out}`);
    const baseline = await single(file);
    const unreplicated = await engine(stackDir, file, false);
    const replicated = await engine(stackDir, file, true);
    const byz = await tc(['chaos', 'byzantine', '--node', 'jobs-worker-1', '--mode', 'wrong-output', '--yes'], dir);
    if (byz.code !== 0) throw new Error(`chaos byzantine failed: ${byz.out}`);
    const lying = await engine(stackDir, file, true);
    const cores = Math.min(WORKERS, os.cpus().length);
    const mbps = (s: number) => bytes / 1024 / 1024 / s;
    const result = {
      bench: 'mapreduce',
      at: new Date().toISOString(),
      node: process.version,
      cpus: os.cpus().length,
      loadAverage: os.loadavg(),
      inputMiB: bytes / 1024 / 1024,
      workers: WORKERS,
      f: 1,
      single: { ...baseline, mibPerSecond: mbps(baseline.seconds) },
      unreplicated: {
        ...unreplicated,
        mibPerSecond: mbps(unreplicated.seconds),
        coresUsed: cores,
        mibPerSecondPerCore: mbps(unreplicated.seconds) / cores,
      },
      replicated: { ...replicated, mibPerSecond: mbps(replicated.seconds) },
      lying: { ...lying, mibPerSecond: mbps(lying.seconds) },
      ratios: {
        replicatedOverUnreplicated: replicated.seconds / unreplicated.seconds,
        unreplicatedPerCoreOverSingle: mbps(unreplicated.seconds) / cores / mbps(baseline.seconds),
        lyingOverUnreplicated: lying.seconds / unreplicated.seconds,
        // The same per CPU second actually used (the stack's node processes and the client vs the single process):
        // on a shared machine the engine's processes do not get `coresUsed` whole cores.
        unreplicatedPerCpuSecondOverSingle:
          baseline.cpuSeconds / (unreplicated.nodeCpuSeconds + unreplicated.clientCpuSeconds),
      },
      targets: { replicatedOverUnreplicated: 2.2, unreplicatedPerCoreOverSingle: 0.5, lyingOverUnreplicated: 3 },
    };
    const r = result.ratios;
    console.log(
      `input ${result.inputMiB.toFixed(0)} MiB, ${WORKERS} workers, ${os.cpus().length} cpus, load ${os
        .loadavg()
        .map((x) => x.toFixed(1))
        .join(' ')}`,
    );
    console.log(`single        ${baseline.seconds.toFixed(1)} s  ${mbps(baseline.seconds).toFixed(1)} MiB/s`);
    for (const [name, x] of [
      ['unreplicated', unreplicated],
      ['replicated', replicated],
      ['lying', lying],
    ] as const) {
      console.log(
        `${name.padEnd(13)} ${x.seconds.toFixed(1)} s (upload ${x.uploadSeconds.toFixed(1)} s, cpu ${(x.nodeCpuSeconds + x.clientCpuSeconds).toFixed(1)} s)  ${mbps(x.seconds).toFixed(1)} MiB/s  replicas ${x.counters.mapReplicas}+${x.counters.reduceReplicas}`,
      );
    }
    console.log(`replicated/unreplicated ${r.replicatedOverUnreplicated.toFixed(2)} (target <= 2.2)`);
    console.log(`unreplicated per core / single ${r.unreplicatedPerCoreOverSingle.toFixed(2)} (target >= 0.5)`);
    console.log(`unreplicated per CPU second / single ${r.unreplicatedPerCpuSecondOverSingle.toFixed(2)}`);
    console.log(`lying/unreplicated ${r.lyingOverUnreplicated.toFixed(2)} (target <= 3)`);
    await writeJsonAtomic(path.join(import.meta.dirname, 'results', 'mapreduce.json'), result);
    console.log('wrote bench/results/mapreduce.json');
  } finally {
    await tc(['destroy', '--yes', '--json'], dir);
    await fs.rm(dir, { recursive: true, force: true });
  }
}

await main();

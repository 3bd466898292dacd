/**
 * The job tracker on real processes, killed: a MapReduce component (tracker and 4 workers, f=1) deployed to the
 * local target with the built CLI; a word count is running when the tracker gets SIGKILL. The supervisor restarts it,
 * it replays its journal, the workers reconnect and re-send what they finished meanwhile, and the job ends with
 * output equal to a single-process count, still exactly f+1 replicas per task (nothing was re-run); `status` and
 * `result` of jobs that ended before the kill keep working. On the same deployment, tentative execution
 * (`--tentative`: reduces start on the first map copies): fault-free it still runs exactly f+1 replicas per task
 * and restarts nothing; with a lying worker the output is still equal. Needs `npm run build` first.
 */
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, repo, tempDir } from '../deploy/helpers.js';
import { TEST_STACKS } from '../support/stacks.js';

const built = existsSync(path.join(repo, 'dist', 'components', 'mapreduce', 'node.js'));
const STACK = TEST_STACKS.mapreduceTracker;
const WORDCOUNT = path.join(repo, 'templates', 'mapreduce', 'wordcount.mjs');
const MAPS = 6;
const REDUCERS = 3;
/** Between two looks at the restarting tracker's /health (an event wait, not a fixed delay). */
const POLL_MS = 100;

let dir: string;
let input: string;
let reference: Map<string, number>;

interface Rec {
  job: string;
  state: string;
  counters: {
    mapReplicas: number;
    reduceReplicas: number;
    mismatches: number;
    timeouts: number;
    lost: number;
    tentativeRestarts: number;
  };
  disagreeing: string[];
  tasks: { maps: number; mapsAccepted: number };
  failure: { message: string } | null;
}

function generate(): string {
  let s = 0x2468ace;
  const next = () => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return s >>> 8;
  };
  const lines: string[] = [];
  for (let i = 0; i < 6_000; i++)
    lines.push(Array.from({ length: 3 + (next() % 9) }, () => `w${next() % 500}`).join(' '));
  return `${lines.join('\n')}\n`;
}

function countWords(text: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const w of text.toLowerCase().matchAll(/[\p{L}\p{N}']+/gu)) m.set(w[0], (m.get(w[0]) ?? 0) + 1);
  return m;
}

async function json<T>(args: string[]): Promise<T> {
  const r = await cli([...args, '--json'], dir);
  try {
    return JSON.parse(r.stdout) as T;
  } catch {
    throw new Error(`tclouds ${args.join(' ')}: exit ${r.code}\n${r.stdout}\n${r.stderr}`);
  }
}

async function submit(job: string, extra: string[]): Promise<Rec> {
  const size = Buffer.byteLength(await fs.readFile(input, 'utf8'));
  return json<Rec>([
    'mapreduce',
    'submit',
    'jobs',
    '--job',
    job,
    '--input',
    input,
    '--reducers',
    String(REDUCERS),
    '--chunk-size',
    String(Math.ceil(size / MAPS) + 1024),
    '--straggler',
    '600000',
    ...extra,
  ]);
}

async function result(job: string): Promise<Map<string, number>> {
  const out = path.join(dir, `${job}.jsonl`);
  const r = await cli(['mapreduce', 'result', job, '--output', out, '--json'], dir);
  if (r.code !== 0) throw new Error(`result: exit ${r.code}\n${r.stdout}\n${r.stderr}`);
  const counts = new Map<string, number>();
  for (const line of (await fs.readFile(out, 'utf8')).split('\n')) {
    if (line === '') continue;
    const [k, v] = JSON.parse(line) as [string, number];
    counts.set(k, v);
  }
  return counts;
}

async function trackerControl(): Promise<{ host: string; controlPort: number }> {
  const outputs = JSON.parse(await fs.readFile(path.join(dir, '.tclouds', STACK, 'outputs.json'), 'utf8'));
  return outputs.components.jobs.nodes.find((n: { role: string }) => n.role === 'job-tracker');
}

async function trackerPid(): Promise<number | undefined> {
  const t = await trackerControl();
  try {
    const r = await fetch(`http://${t.host}:${t.controlPort}/health`, { signal: AbortSignal.timeout(5000) });
    return ((await r.json()) as { pid?: number }).pid;
  } catch {
    return undefined;
  }
}

/** Polls `status` until the job is past `running` (each call is answered at once, or fails while it restarts). */
async function waitEnded(job: string): Promise<Rec> {
  for (;;) {
    const r = await cli(['mapreduce', 'status', job, '--json'], dir);
    const rec = r.code === 0 ? (JSON.parse(r.stdout) as Rec) : undefined;
    if (rec && rec.state !== 'running') return rec;
  }
}

describe.skipIf(!built)('the MapReduce job tracker survives kill -9', () => {
  beforeAll(async () => {
    dir = await tempDir('mr-tracker');
    await fs.writeFile(
      path.join(dir, 'tclouds.yaml'),
      `name: ${STACK}\nmode: client-resident\nclouds:\n  a: { provider: local }\n  b: { provider: local }\ncomponents:\n  jobs: { kind: mapreduce, f: 1, clouds: [a, b], workers: 4 }\n`,
    );
    input = path.join(dir, 'text.txt');
    const text = generate();
    await fs.writeFile(input, text);
    reference = countWords(text);
    const r = await cli(['deploy', '--target', 'local', '--yes', '--json'], dir);
    if (r.code !== 0) throw new Error(`deploy: exit ${r.code}\n${r.stdout}\n${r.stderr}`);
  }, 180_000);

  afterAll(async () => {
    if (dir) await cli(['destroy', '--yes', '--json'], dir);
  }, 120_000);

  it('a running job ends equal to the reference after the tracker is SIGKILLed, with no task re-run', {
    timeout: 300_000,
  }, async () => {
    const before = await submit(WORDCOUNT, []);
    expect(before.state).toBe('done');
    // Word count that spends ~2 ms per line: the maps are running when the kill lands. (Per line: the template's
    // `mapChunk`, which the engine would prefer, is no longer exported.)
    const slow = path.join(dir, 'slow-wordcount.mjs');
    await fs.writeFile(
      slow,
      `${await fs.readFile(WORDCOUNT, 'utf8')}\nconst spin = (ms) => { const t = Date.now(); while (Date.now() - t < ms) {} };\n`
        .replace('export function mapChunk(', 'function mapChunkUnused(')
        .replace('export function map(', 'function mapWords(')
        .concat('export function map(k, line, emit) { spin(2); mapWords(k, line, emit); }\n'),
    );
    const { job } = await submit(slow, ['--detach']);
    expect(job).toBeTruthy();
    for (;;) {
      const st = await json<Rec>(['mapreduce', 'status', job]);
      if (st.counters.mapReplicas === 0) continue;
      expect(st.state).toBe('running');
      expect(st.tasks.mapsAccepted).toBeLessThan(MAPS);
      break;
    }
    const pid = await trackerPid();
    expect(pid).toBeTypeOf('number');
    process.kill(pid as number, 'SIGKILL');
    for (;;) {
      const now = await trackerPid();
      if (now !== undefined && now !== pid) break;
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
    const rec = await waitEnded(job);
    expect(rec.state, JSON.stringify(rec.failure)).toBe('done');
    // Every replica's report was re-collected after the restart: none was lost or replaced.
    expect(rec.counters).toMatchObject({ mapReplicas: 2 * MAPS, reduceReplicas: 2 * REDUCERS, lost: 0, timeouts: 0 });
    expect(await result(job)).toEqual(reference);
    // The job that ended before the kill: its record and its output are still there.
    expect((await json<Rec>(['mapreduce', 'status', before.job])).state).toBe('done');
    expect(await result(before.job)).toEqual(reference);
  });

  it('tentative execution, fault-free: exactly f+1 replicas per task and no restart', {
    timeout: 180_000,
  }, async () => {
    const rec = await submit(WORDCOUNT, ['--tentative']);
    expect(rec.state, JSON.stringify(rec.failure)).toBe('done');
    expect(rec.counters).toMatchObject({
      mapReplicas: 2 * MAPS,
      reduceReplicas: 2 * REDUCERS,
      mismatches: 0,
      tentativeRestarts: 0,
    });
    expect(await result(rec.job)).toEqual(reference);
  });

  it('tentative execution with a lying worker: the output is still equal, the liar named', {
    timeout: 240_000,
  }, async () => {
    const liar = 'jobs-worker-1';
    const on = await cli(['chaos', 'byzantine', '--node', liar, '--mode', 'wrong-output', '--yes', '--json'], dir);
    expect(on.code, on.stdout + on.stderr).toBe(0);
    try {
      const rec = await submit(WORDCOUNT, ['--tentative']);
      expect(rec.state, JSON.stringify(rec.failure)).toBe('done');
      expect(rec.disagreeing).toEqual([liar]);
      expect(await result(rec.job)).toEqual(reference);
    } finally {
      await cli(['chaos', 'heal', '--yes', '--json'], dir);
    }
  });
});

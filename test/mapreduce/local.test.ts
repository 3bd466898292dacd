/**
 * End to end on real processes: a MapReduce component (job tracker and 4 workers, f=1) deployed to the local target
 * with the built CLI, word count over generated text through `mapreduce submit` and `mapreduce result`, compared
 * with a single-process count computed here. Then with one worker lying, silent and slow (`chaos byzantine`): the
 * output is still equal and the job record names the worker. A job module that throws is reported with its task
 * and record (a `mapChunk` one with its split); garbage sent to the tracker's ports leaves it serving. Needs
 * `npm run build` first.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, promises as fs } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, repo, tempDir } from '../deploy/helpers.js';
import { fourLocalClouds, TEST_STACKS } from '../support/stacks.js';

const built = existsSync(path.join(repo, 'dist', 'components', 'mapreduce', 'node.js'));
const STACK = TEST_STACKS.mapreduce;
const TOPOLOGY = fourLocalClouds(
  STACK,
  `  vault: { kind: storage, f: 1, clouds: [a, b, c, d] }
  jobs: { kind: mapreduce, f: 1, clouds: [a, b], workers: 4 }`,
);
const WORDCOUNT = path.join(repo, 'templates', 'mapreduce', 'wordcount.mjs');
const VOCAB = ['alpha', 'beta', "l'été", 'Gamma', 'delta', 'ÉCOLE', 'x1', 'naïve', "don't", 'zeta'];
const MAPS = 8;

let dir: string;
let input: string;
let reference: Map<string, number>;
const worker = (i: number) => `jobs-worker-${i}`;

/** Deterministic text: ~600 KiB of lines of words from VOCAB and numbered words. */
function generate(): string {
  let s = 0x1234567;
  const next = () => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return s >>> 8;
  };
  const lines: string[] = [];
  for (let i = 0; i < 12_000; i++) {
    const n = 3 + (next() % 12);
    const words = Array.from({ length: n }, () =>
      next() % 3 === 0 ? `w${next() % 700}` : VOCAB[next() % VOCAB.length],
    );
    lines.push(words.join(next() % 5 === 0 ? ', ' : ' '));
  }
  return `${lines.join('\n')}\n`;
}

/** The single-process reference: the same tokenisation, counted in one Map. */
function countWords(text: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const w of text.toLowerCase().matchAll(/[\p{L}\p{N}']+/gu)) m.set(w[0], (m.get(w[0]) ?? 0) + 1);
  return m;
}

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
  tasks: { maps: number };
  disagreeing: string[];
  suspects: { task: string; worker: string; reason: string }[];
  failure: { task: string; reason: string; message: string; error: { kind: string; record: string } | null } | null;
}

async function submit(extra: string[] = []): Promise<Rec> {
  const chunk = String(Math.ceil(Buffer.byteLength(await fs.readFile(input, 'utf8')) / MAPS) + 1024);
  const r = await cli(
    [
      'mapreduce',
      'submit',
      'jobs',
      '--job',
      WORDCOUNT,
      '--input',
      input,
      '--reducers',
      '3',
      '--chunk-size',
      chunk,
      '--json',
      ...extra,
    ],
    dir,
  );
  const rec = JSON.parse(r.stdout) as Rec;
  if (rec.state === undefined) throw new Error(`submit: exit ${r.code}\n${r.stdout}\n${r.stderr}`);
  return rec;
}

/** `mapreduce result` written to a file and read back as a Map. */
async function result(
  job: string,
): Promise<{ counts: Map<string, number>; vote: { disagreeing: string[]; ok: boolean } }> {
  const out = path.join(dir, `${job}.jsonl`);
  const r = await cli(['mapreduce', 'result', job, '--output', out, '--json'], dir);
  if (r.code !== 0) throw new Error(`result: exit ${r.code}\n${r.stdout}\n${r.stderr}`);
  const counts = new Map<string, number>();
  for (const line of (await fs.readFile(out, 'utf8')).split('\n')) {
    if (line === '') continue;
    const [k, v] = JSON.parse(line) as [string, number];
    expect(counts.has(k), `key ${k} in two partitions`).toBe(false);
    counts.set(k, v);
  }
  return { counts, vote: JSON.parse(r.stdout) };
}

/**
 * Submits a job module (`source`, written to `name`) over `data` and waits for its end: the job must fail, and submit
 * exit 1. Its record is returned for what it says about the failure.
 */
async function submitFailing(name: string, source: string, data: string, extra: string[] = []): Promise<Rec> {
  const job = path.join(dir, name);
  await fs.writeFile(job, source);
  const r = await cli(['mapreduce', 'submit', 'jobs', '--job', job, '--input', data, ...extra, '--json'], dir);
  const rec = JSON.parse(r.stdout) as Rec;
  expect(rec.state, r.stdout + r.stderr).toBe('failed');
  expect(r.code).toBe(1);
  return rec;
}

async function byzantine(node: string, mode: string): Promise<void> {
  const r = await cli(['chaos', 'byzantine', '--node', node, '--mode', mode, '--yes', '--json'], dir);
  expect(r.code, r.stdout + r.stderr).toBe(0);
}

describe.skipIf(!built)('MapReduce on the local target', () => {
  beforeAll(async () => {
    dir = await tempDir('mr-e2e');
    await fs.writeFile(path.join(dir, 'tclouds.yaml'), TOPOLOGY);
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

  it('word count equals the single-process reference, with exactly f+1 replicas per task', {
    timeout: 240_000,
  }, async () => {
    // A straggler grace far above any task's time: on a loaded machine no correct replica is suspected.
    const rec = await submit(['--straggler', '600000']);
    expect(rec.state).toBe('done');
    expect(rec.tasks.maps).toBeGreaterThanOrEqual(MAPS - 1);
    expect(rec.counters).toEqual({
      mapReplicas: 2 * rec.tasks.maps,
      reduceReplicas: 2 * 3,
      mismatches: 0,
      timeouts: 0,
      lost: 0,
      tentativeRestarts: 0,
    });
    expect(rec.disagreeing).toEqual([]);
    const { counts, vote } = await result(rec.job);
    expect(vote.ok).toBe(true);
    expect(counts).toEqual(reference);
  });

  for (const mode of ['wrong-output', 'silent', 'slow'] as const) {
    it(`with one worker ${mode}, the output is still equal and the record names it`, { timeout: 300_000 }, async () => {
      await byzantine(worker(1), mode);
      try {
        const rec = await submit(['--straggler', '1000']);
        expect(rec.state, JSON.stringify(rec.failure)).toBe('done');
        if (mode === 'wrong-output') {
          expect(rec.disagreeing).toEqual([worker(1)]);
          expect(rec.counters.mismatches).toBeGreaterThan(0);
        } else {
          expect(rec.disagreeing).toEqual([]);
          expect(rec.suspects.filter((s) => s.reason === 'timeout').map((s) => s.worker)).toContain(worker(1));
        }
        const { counts, vote } = await result(rec.job);
        expect(vote.ok).toBe(true);
        expect(counts).toEqual(reference);
      } finally {
        await cli(['chaos', 'heal', '--yes', '--json'], dir);
      }
    });
  }

  it('a worker killed mid-job loses only its running tasks, which run elsewhere; the output is still equal', {
    timeout: 300_000,
  }, async () => {
    // Word count that spends ~1 ms per line, so every worker is inside a task when the kill lands (per line: the
    // template's `mapChunk`, which the engine would prefer, is no longer exported).
    const slow = path.join(dir, 'slow-wordcount.mjs');
    await fs.writeFile(
      slow,
      `${await fs.readFile(WORDCOUNT, 'utf8')}\nconst spin = (ms) => { const t = Date.now(); while (Date.now() - t < ms) {} };\n`
        .replace('export function mapChunk(', 'function mapChunkUnused(')
        .replace('export function map(', 'function mapWords(')
        .concat('export function map(k, line, emit) { spin(1); mapWords(k, line, emit); }\n'),
    );
    const chunk = String(Math.ceil(Buffer.byteLength(await fs.readFile(input, 'utf8')) / MAPS) + 1024);
    const sub = await cli(
      [
        'mapreduce',
        'submit',
        'jobs',
        '--job',
        slow,
        '--input',
        input,
        '--reducers',
        '3',
        '--chunk-size',
        chunk,
        '--detach',
        '--json',
      ],
      dir,
    );
    const { job } = JSON.parse(sub.stdout) as { job: string };
    expect(job, sub.stdout + sub.stderr).toBeTruthy();
    const kill = await cli(['chaos', 'kill', '--node', worker(2), '--yes', '--json'], dir);
    expect(kill.code, kill.stdout + kill.stderr).toBe(0);
    try {
      let rec: Rec | undefined;
      // Waits for the job to end: each status call is answered at once by the tracker.
      for (;;) {
        const st = await cli(['mapreduce', 'status', job, '--json'], dir);
        rec = JSON.parse(st.stdout) as Rec;
        if (rec.state !== 'running') break;
      }
      expect(rec.state, JSON.stringify(rec.failure)).toBe('done');
      expect(rec.counters.lost).toBeGreaterThan(0);
      const { counts } = await result(rec.job);
      expect(counts).toEqual(reference);
    } finally {
      await cli(['chaos', 'resume', '--yes', '--json'], dir);
    }
  });

  it('cancels a running job: its record says cancelled and result refuses it', { timeout: 180_000 }, async () => {
    const slow = path.join(dir, 'slow-cancel.mjs');
    await fs.writeFile(
      slow,
      'export function map(_k, line, emit) { const t = Date.now(); while (Date.now() - t < 5) {} emit(line, 1); }\nexport function reduce(_k, v) { return v.length; }\n',
    );
    const sub = await cli(['mapreduce', 'submit', 'jobs', '--job', slow, '--input', input, '--detach', '--json'], dir);
    const { job } = JSON.parse(sub.stdout) as { job: string };
    expect(job, sub.stdout + sub.stderr).toBeTruthy();
    const c = await cli(['mapreduce', 'cancel', job, '--json'], dir);
    expect(c.code, c.stdout + c.stderr).toBe(0);
    expect(JSON.parse(c.stdout)).toEqual({ job, state: 'cancelled' });
    const st = JSON.parse((await cli(['mapreduce', 'status', job, '--json'], dir)).stdout) as Rec;
    expect(st.state).toBe('cancelled');
    const r = await cli(['mapreduce', 'result', job, '--json'], dir);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout).error.code).toBe('TC499');
    // The workers are free again: the next job runs.
    const next = await submit(['--straggler', '600000']);
    expect(next.state).toBe('done');
  });

  it('reports a job module that throws with its task and record', { timeout: 120_000 }, async () => {
    const data = path.join(dir, 'needle.txt');
    await fs.writeFile(data, 'a\nb\nc\nhay needle hay\nd\n');
    const rec = await submitFailing(
      'throws.mjs',
      "export function map(_k, line, emit) { if (line.includes('needle')) throw new Error('found the needle'); emit(line, 1); }\nexport function reduce(_k, v) { return v.length; }\n",
      data,
    );
    expect(rec.failure).toMatchObject({
      task: 'map-0',
      reason: 'error',
      error: { kind: 'throw', record: 'needle.txt:4' },
    });
    expect(rec.failure?.message).toContain('found the needle');
  });

  it('reports a job module that never returns, runs out of memory, or is not deterministic', {
    timeout: 180_000,
  }, async () => {
    const data = path.join(dir, 'stuck.txt');
    await fs.writeFile(data, 'a\nb\nstuck here\nd\n');
    const rec = await submitFailing(
      'stuck.mjs',
      "export function map(_k, line, emit) { if (line.startsWith('stuck')) for (;;) {} emit(line, 1); }\nexport function reduce(_k, v) { return v.length; }\n",
      data,
      ['--task-timeout', '3000'],
    );
    expect(rec.failure).toMatchObject({
      task: 'map-0',
      reason: 'error',
      error: { kind: 'timeout', record: 'stuck.txt:3' },
    });
    expect(rec.failure?.message).toContain('never returned');
    // Over its heap limit (and printing as it goes, which is not output): reported as memory, at its record.
    const mem = await submitFailing(
      'hog.mjs',
      "const keep = [];\nexport function map(_k, line, emit) { console.log(line); if (line.startsWith('stuck')) for (;;) keep.push(new Array(1e5).fill(line)); emit(line, 1); }\nexport function reduce(_k, v) { return v.length; }\n",
      data,
      ['--memory', '64'],
    );
    expect(mem.failure).toMatchObject({
      task: 'map-0',
      reason: 'error',
      error: { kind: 'memory', record: 'stuck.txt:3' },
    });
    const nd = await submitFailing(
      'random.mjs',
      'export function map(_k, line, emit) { emit(line, Math.random()); }\nexport function reduce(_k, v) { return v; }\n',
      data,
    );
    expect(nd.failure).toMatchObject({ task: 'map-0', reason: 'no-agreement' });
    expect(nd.failure?.message).toContain('non-deterministic');
    expect(nd.counters.mapReplicas).toBe(3);
  });

  it('reports a mapChunk job that throws or never returns with its split (and the offset it marked)', {
    timeout: 180_000,
  }, async () => {
    const data = path.join(dir, 'split.txt');
    await fs.writeFile(data, 'a\nb\nhay needle hay\nd\n');
    const rec = await submitFailing(
      'chunk-throws.mjs',
      "export function mapChunk(_k, text, emit, at) { const i = text.indexOf('needle'); if (i >= 0) { at(i); throw new Error('found the needle'); } emit('n', 1); }\nexport function reduce(_k, v) { return v.length; }\n",
      data,
    );
    expect(rec.failure).toMatchObject({
      task: 'map-0',
      reason: 'error',
      error: { kind: 'throw', record: 'split.txt:1-4 at offset 8 (line 3)' },
    });
    expect(rec.failure?.message).toContain('found the needle');
    const st = await submitFailing(
      'chunk-stuck.mjs',
      "export function mapChunk(_k, text, emit, at) { at(text.indexOf('needle')); for (;;) {} }\nexport function reduce(_k, v) { return v.length; }\n",
      data,
      ['--task-timeout', '3000'],
    );
    expect(st.failure).toMatchObject({
      task: 'map-0',
      reason: 'error',
      error: { kind: 'timeout', record: 'split.txt:1-4 at offset 8' },
    });
    expect(st.failure?.message).toContain('never returned');
  });

  it('reads its input from a storage object and writes its output to one', { timeout: 180_000 }, async () => {
    const put = await cli(['storage', 'put', 'vault', input, '--as', 'books/text.txt', '--json'], dir);
    expect(put.code, put.stdout + put.stderr).toBe(0);
    const r = await cli(
      [
        'mapreduce',
        'submit',
        'jobs',
        '--job',
        WORDCOUNT,
        '--input',
        'storage:vault/books/text.txt',
        '--lines',
        '3000',
        '--json',
      ],
      dir,
    );
    const rec = JSON.parse(r.stdout) as Rec & { maps: number };
    expect(rec.state, r.stdout + r.stderr).toBe('done');
    expect(rec.maps).toBe(4);
    const out = await cli(
      ['mapreduce', 'result', rec.job, '--output', 'storage:vault/out/counts.jsonl', '--json'],
      dir,
    );
    expect(out.code, out.stdout + out.stderr).toBe(0);
    const file = path.join(dir, 'counts-from-storage.jsonl');
    const got = await cli(['storage', 'get', 'vault', 'out/counts.jsonl', '-o', file, '--json'], dir);
    expect(got.code, got.stdout + got.stderr).toBe(0);
    const counts = new Map<string, number>();
    for (const line of (await fs.readFile(file, 'utf8')).split('\n')) {
      if (line === '') continue;
      const [k, v] = JSON.parse(line) as [string, number];
      counts.set(k, v);
    }
    expect(counts).toEqual(reference);
  });

  it('refuses bad inputs with a code, a place and a hint before anything is uploaded', {
    timeout: 120_000,
  }, async () => {
    const noReduce = path.join(dir, 'no-reduce.mjs');
    await fs.writeFile(noReduce, 'export function map() {}\n');
    const cases: Array<[string[], number, string]> = [
      [['--job', WORDCOUNT, '--input', input, '--chunk-size', '10'], 2, 'TC498'],
      [['--job', path.join(dir, 'missing.mjs'), '--input', input], 4, 'TC491'],
      [['--job', noReduce, '--input', input], 3, 'TC491'],
      [['--job', WORDCOUNT, '--input', path.join(dir, 'missing.txt')], 4, 'TC492'],
    ];
    for (const [args, exit, code] of cases) {
      const r = await cli(['mapreduce', 'submit', 'jobs', ...args, '--json'], dir);
      expect(r.code, r.stdout).toBe(exit);
      const error = JSON.parse(r.stdout).error;
      expect(error.code).toBe(code);
      expect(error.hint, JSON.stringify(error)).toBeTruthy();
    }
  });

  it('keeps serving after garbage on its ports; unknown jobs are TC495', { timeout: 120_000 }, async () => {
    const outputs = JSON.parse(await fs.readFile(path.join(dir, '.tclouds', STACK, 'outputs.json'), 'utf8'));
    const tracker = outputs.components.jobs.nodes.find((n: { role: string }) => n.role === 'job-tracker');
    const w0 = outputs.components.jobs.nodes.find((n: { id: string }) => n.id === worker(0));
    for (const [host, port] of [
      [tracker.host, tracker.ports.http],
      [tracker.host, tracker.ports.rpc],
      [w0.host, w0.ports.shuffle],
    ]) {
      await new Promise<void>((resolve) => {
        const s = net.connect(port, host, () => {
          s.end(Buffer.concat([Buffer.from([0, 0, 0, 40]), randomBytes(400)]));
        });
        s.on('close', () => resolve());
        s.on('error', () => resolve());
      });
    }
    const missing = await cli(['mapreduce', 'status', 'no-such-job', '--json'], dir);
    expect(missing.code).toBe(4);
    expect(JSON.parse(missing.stdout).error.code).toBe('TC495');
    const health = (await fetch(`http://${w0.host}:${w0.controlPort}/health`).then((r) => r.json())) as {
      status: string;
    };
    expect(health.status).toBe('ok');
    // Still serving: a job runs to the end and ls lists it.
    const rec = await submit(['--straggler', '600000']);
    expect(rec.state).toBe('done');
    const ls = await cli(['mapreduce', 'ls', '--json'], dir);
    expect(ls.code).toBe(0);
    expect((JSON.parse(ls.stdout) as { jobs: Rec[] }).jobs.map((j) => j.job)).toContain(rec.job);
  });
});

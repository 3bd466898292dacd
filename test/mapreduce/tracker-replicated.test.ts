/**
 * `jobTracker: replicated` on real processes: a MapReduce component whose job tracker is 3f+1 = 4 replicas running
 * the scheduling state on the SMR, with 4 workers (f=1), deployed to the local target with the built CLI. Word
 * count equals a single-process count with every tracker replica up, with one killed, and with one lying (its shell
 * endorses wrong votes and sends altered assignments, another job module among them): workers and the client act
 * only on f+1 identical tracker messages, and workers drop a module that is not the one ordered with the job. Fault-free jobs still run exactly f+1 replicas per task. Needs `npm run build` first.
 */
import { createHash } from 'node:crypto';
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, repo, tempDir } from '../deploy/helpers.js';
import { TEST_STACKS } from '../support/stacks.js';

const built = existsSync(path.join(repo, 'dist', 'components', 'mapreduce', 'node.js'));
const STACK = TEST_STACKS.mapreduceReplicated;
const WORDCOUNT = path.join(repo, 'templates', 'mapreduce', 'wordcount.mjs');
const MAPS = 4;
const REDUCERS = 2;
const tracker = (i: number) => `jobs-job-tracker-${i}`;

let dir: string;
let input: string;
let reference: Map<string, number>;

interface Rec {
  job: string;
  state: string;
  trust: string;
  moduleDigest: string;
  counters: { mapReplicas: number; reduceReplicas: number };
  failure: { message: string } | null;
}

function generate(): string {
  let s = 0x13579b;
  const next = () => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return s >>> 8;
  };
  const lines: string[] = [];
  for (let i = 0; i < 3_000; i++)
    lines.push(Array.from({ length: 2 + (next() % 9) }, () => `v${next() % 300}`).join(' '));
  return `${lines.join('\n')}\n`;
}

function countWords(text: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const w of text.toLowerCase().matchAll(/[\p{L}\p{N}']+/gu)) m.set(w[0], (m.get(w[0]) ?? 0) + 1);
  return m;
}

async function ok(args: string[]): Promise<string> {
  const r = await cli([...args, '--json'], dir);
  if (r.code !== 0) throw new Error(`tclouds ${args.join(' ')}: exit ${r.code}\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

async function wordcount(): Promise<Rec> {
  const size = Buffer.byteLength(await fs.readFile(input, 'utf8'));
  const chunk = String(Math.ceil(size / MAPS) + 1024);
  const args = ['mapreduce', 'submit', 'jobs', '--job', WORDCOUNT, '--input', input, '--reducers', String(REDUCERS)];
  return JSON.parse(await ok([...args, '--chunk-size', chunk, '--straggler', '600000'])) as Rec;
}

async function result(job: string): Promise<Map<string, number>> {
  const out = path.join(dir, `${job}.jsonl`);
  await ok(['mapreduce', 'result', job, '--output', out]);
  const counts = new Map<string, number>();
  for (const line of (await fs.readFile(out, 'utf8')).split('\n')) {
    if (line === '') continue;
    const [k, v] = JSON.parse(line) as [string, number];
    counts.set(k, v);
  }
  return counts;
}

describe.skipIf(!built)('a replicated MapReduce job tracker', () => {
  beforeAll(async () => {
    dir = await tempDir('mr-replicated');
    await fs.writeFile(
      path.join(dir, 'tclouds.yaml'),
      `name: ${STACK}\nmode: client-resident\nclouds:\n  a: { provider: local }\n  b: { provider: local }\ncomponents:\n  jobs: { kind: mapreduce, f: 1, clouds: [a, b], workers: 4, jobTracker: replicated }\n`,
    );
    input = path.join(dir, 'text.txt');
    const text = generate();
    await fs.writeFile(input, text);
    reference = countWords(text);
    await ok(['deploy', '--target', 'local', '--yes']);
  }, 240_000);

  afterAll(async () => {
    if (!dir) return;
    await cli(['chaos', 'heal', '--yes', '--json'], dir);
    await cli(['chaos', 'resume', '--yes', '--json'], dir);
    await cli(['destroy', '--yes', '--json'], dir);
  }, 180_000);

  it('plans 3f+1 tracker replicas and says none is trusted', async () => {
    const plan = await ok(['plan']);
    expect(plan).toContain('replicated on the SMR (4 replicas, Byzantine)');
    const outputs = JSON.parse(await fs.readFile(path.join(dir, '.tclouds', STACK, 'outputs.json'), 'utf8'));
    const trackers = outputs.components.jobs.nodes.filter((n: { role: string }) => n.role === 'job-tracker');
    expect(trackers).toHaveLength(4);
  });

  it('word count equals the reference, exactly f+1 replicas per task', { timeout: 180_000 }, async () => {
    const rec = await wordcount();
    expect(rec.state, JSON.stringify(rec.failure)).toBe('done');
    expect(rec.counters).toMatchObject({ mapReplicas: 2 * MAPS, reduceReplicas: 2 * REDUCERS });
    expect(rec.trust).toContain('no tracker replica is trusted');
    expect(await result(rec.job)).toEqual(reference);
  });

  it('with one tracker replica killed, the output is still equal', { timeout: 240_000 }, async () => {
    await ok(['chaos', 'kill', '--node', tracker(3), '--yes']);
    try {
      const rec = await wordcount();
      expect(rec.state, JSON.stringify(rec.failure)).toBe('done');
      expect(await result(rec.job)).toEqual(reference);
    } finally {
      await ok(['chaos', 'resume', '--yes']);
    }
  });

  it('with one tracker replica lying, the output is still equal', { timeout: 240_000 }, async () => {
    await ok(['chaos', 'byzantine', '--node', tracker(1), '--mode', 'wrong-output', '--yes']);
    try {
      const rec = await wordcount();
      expect(rec.state, JSON.stringify(rec.failure)).toBe('done');
      expect(rec.counters).toMatchObject({ mapReplicas: 2 * MAPS, reduceReplicas: 2 * REDUCERS });
      expect(await result(rec.job)).toEqual(reference);
      // The module ordered with the job is the one submitted; the liar's other module was dropped by the workers.
      expect(rec.moduleDigest).toBe(
        createHash('sha256')
          .update(await fs.readFile(WORDCOUNT))
          .digest('hex'),
      );
      const logs = await Promise.all(
        [0, 1, 2, 3].map((i) =>
          fs
            .readFile(path.join(dir, '.tclouds', STACK, 'nodes', `jobs-worker-${i}`, 'node.log'), 'utf8')
            .catch(() => ''),
        ),
      );
      const dropped = logs.flatMap((l) => l.split('\n')).filter((l) => l.includes('module does not match its digest'));
      expect(dropped.length).toBeGreaterThan(0);
      expect(dropped.every((l) => l.includes(tracker(1)))).toBe(true);
    } finally {
      await ok(['chaos', 'heal', '--yes']);
    }
  });
});

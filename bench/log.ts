/**
 * Log benchmark, one run on the local target (f=1: 4 core replica processes, 4 cloud directories):
 * - sustained append rate of 200-byte entries with client batching (target >= 20,000 entries/s), and the same
 *   entries written to one local file with an fsync per batch, and per entry, in the same run;
 * - p50 append latency at light load (one entry per request, one request at a time; target <= 5 ms), against one
 *   write + fsync per entry to a local file;
 * - `log verify` rate over what was appended, read back from storage (target >= 200,000 entries/s; reading and
 *   verifying are timed apart);
 * - a query over 1,000,000 entries (target < 1 s) and an inclusion proof in a tree of 1,000,000 (target < 10 ms).
 * Writes bench/results/log.json.   npm run build && npx tsx bench/log.ts
 */
import { spawnSync } from 'node:child_process';
import { hash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { LogClient } from '../components/log/client.js';
import {
  bucketDriversOf,
  coreClient,
  coreKeys,
  type LogDeployment,
  openDeployment,
} from '../components/log/deployment.js';
import { type Entry, type EntryInput, encodeEntry } from '../components/log/protocol/entry.js';
import { leafHashOfText, MerkleTree, verifyInclusion } from '../components/log/protocol/merkle.js';
import { QuerySchema, runQuery } from '../components/log/protocol/query.js';
import { verifyFrom, verifyLog } from '../components/log/protocol/verify.js';
import { readStoredLog } from '../components/log/reader.js';
import { writeJsonAtomic } from '../kernel/atomic-file.js';

const APPEND_ENTRIES = Number(process.env.LOG_BENCH_ENTRIES ?? 200_000);
const BATCH = 1000;
const INFLIGHT = 8;
const LIGHT_LOAD_REQUESTS = 300;
/** Entries of the SMR-only comparison (smrFloorBench). */
const SMR_FLOOR_ENTRIES = 100_000;
const QUERY_ENTRIES = 1_000_000;
const PROOFS = 200;
const bin = path.resolve(import.meta.dirname, '..', 'bin', 'run.js');

/** A 200-byte entry in canonical form (the bytes the tree hashes). */
function entry(i: number): EntryInput {
  const base = {
    cloud: ['a', 'b', 'c', 'd'][i % 4] as string,
    node: `node-${i % 16}`,
    type: i % 3 ? 'write' : 'login',
  };
  const probe = encodeEntry({ ...base, msg: '', seq: i, time: 1_765_000_000_000, account: 'client-audit' });
  return { ...base, msg: `event ${i} `.padEnd(200 - probe.length, 'x') };
}

const quantile = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.floor(q * (xs.length - 1))] as number;

function tclouds(args: string[], cwd: string): void {
  const r = spawnSync(process.execPath, [bin, ...args], {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1' },
  });
  if (r.status !== 0) throw new Error(`tclouds ${args.join(' ')} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
}

async function fileBaseline(dir: string, entries: EntryInput[]) {
  const file = path.join(dir, 'baseline.log');
  const lines = entries.map((e, i) => `${encodeEntry({ ...e, seq: i, time: Date.now(), account: 'bench' })}\n`);
  const h = await fs.open(file, 'w');
  let t = performance.now();
  for (let i = 0; i < lines.length; i += BATCH) {
    await h.write(lines.slice(i, i + BATCH).join(''));
    await h.datasync();
  }
  const batchedRate = lines.length / ((performance.now() - t) / 1000);
  const lat: number[] = [];
  for (let i = 0; i < LIGHT_LOAD_REQUESTS; i++) {
    t = performance.now();
    await h.write(lines[i] as string);
    await h.datasync();
    lat.push(performance.now() - t);
  }
  await h.close();
  return { entriesPerSecondBatched: Math.round(batchedRate), p50LatencyMs: quantile(lat, 0.5) };
}

/**
 * Until every core replica has stored every segment it sealed (GET /health: persisted = segments), so the light
 * load latency is measured at light load, not behind the throughput run's storage backlog. Returns the wait.
 */
async function waitPersisted(d: LogDeployment): Promise<number> {
  const t = performance.now();
  const cores = d.comp.nodes.filter((n) => n.role === 'core');
  for (;;) {
    const states = await Promise.all(
      cores.map(async (n) => {
        const r = await fetch(`http://${n.host}:${n.controlPort}/health`);
        const h = (await r.json()) as { role: { segments?: number; persisted?: number } };
        return (h.role.persisted ?? 0) >= (h.role.segments ?? 0);
      }),
    );
    if (states.every(Boolean)) return performance.now() - t;
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function appendBench(core: LogClient, entries: EntryInput[], d: LogDeployment) {
  const t0 = performance.now();
  await core.append(entries, { inflight: INFLIGHT, batch: BATCH });
  await core.seal();
  const seconds = (performance.now() - t0) / 1000;
  const persistWaitMs = await waitPersisted(d);
  const lat: number[] = [];
  for (let i = 0; i < LIGHT_LOAD_REQUESTS; i++) {
    const t = performance.now();
    await core.appendBatch([entries[i] as EntryInput]);
    lat.push(performance.now() - t);
  }
  await core.seal();
  return { entries: entries.length, seconds, rate: Math.round(entries.length / seconds), lat, persistWaitMs };
}

/**
 * What the SMR alone costs the same requests, in the same run, so the log's own share can be told apart:
 * - throughput: the same 1,000-entry batches, ordered by the SMR and parsed and checked by the core, which then
 *   refuses them before any log work (they ask to append on behalf of someone, which only a console may);
 * - latency: an ordered request the core does nothing for (`seal` with nothing open), one at a time.
 */
async function smrFloorBench(core: LogClient, entries: EntryInput[]) {
  const parts: EntryInput[][] = [];
  for (let i = 0; i + BATCH <= Math.min(entries.length, SMR_FLOOR_ENTRIES); i += BATCH) {
    parts.push(entries.slice(i, i + BATCH));
  }
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: INFLIGHT }, async (_, s) => {
      for (let i = next++; i < parts.length; i = next++) {
        await core.appendBatch(parts[i] as EntryInput[], s, 'smr-floor').then(
          () => {
            throw new Error('the core took an on-behalf append from a non-console client');
          },
          (e: Error) => {
            if (!/cannot append on behalf/.test(e.message)) throw e;
          },
        );
      }
    }),
  );
  const rate = Math.round((parts.length * BATCH) / ((performance.now() - t0) / 1000));
  const lat: number[] = [];
  for (let i = 0; i < LIGHT_LOAD_REQUESTS; i++) {
    const t = performance.now();
    await core.seal();
    lat.push(performance.now() - t);
  }
  return { rate, p50Ms: quantile(lat, 0.5), p99Ms: quantile(lat, 0.99) };
}

/** `log verify --checkpoint` with a checkpoint at the second-to-last segment: reading and checking the rest. */
async function incrementalVerifyBench(
  v: Parameters<typeof verifyLog>[0],
  drivers: Awaited<ReturnType<typeof bucketDriversOf>>,
  segments: number,
) {
  const cut = Math.max(0, segments - 2);
  const cp = verifyLog({ ...v, decode: false, copies: new Map([...v.copies].filter(([k]) => k < cut)) }).checkpoint;
  if (!cp) return null;
  let t = performance.now();
  const stored = await readStoredLog(drivers, v.f, v.keys, cut);
  const readMs = performance.now() - t;
  t = performance.now();
  const r = verifyFrom({ ...v, copies: stored.copies, seeds: stored.seeds }, cp);
  const ms = performance.now() - t;
  if (!r.ok) throw new Error(`incremental verify failed: ${JSON.stringify(r.problems.slice(0, 3))}`);
  const entries = r.size - cp.head.size;
  return {
    fromSize: cp.head.size,
    entries,
    readMs: Math.round(readMs),
    verifyMs: Math.round(ms * 10) / 10,
    entriesPerSecondIncludingRead: Math.round(entries / ((readMs + ms) / 1000)),
  };
}

function queryAndProofBench() {
  const entries: Entry[] = Array.from({ length: QUERY_ENTRIES }, (_, i) => ({
    ...entry(i),
    seq: i,
    time: 1_765_000_000_000 + i,
    account: 'client-audit',
  }));
  const q = QuerySchema.parse({ cloud: 'b', type: 'login', text: 'event 99', since: 1_765_000_000_000 + 1000 });
  let t = performance.now();
  const r = runQuery(q, entries);
  const queryMs = performance.now() - t;
  const tree = new MerkleTree();
  t = performance.now();
  for (const e of entries) tree.appendText(encodeEntry(e));
  const treeBuildMs = performance.now() - t;
  // Build and check PROOFS proofs of random entries against the root; the median is the figure.
  const times: number[] = [];
  let hashes = 0;
  for (let i = 0; i < PROOFS; i++) {
    const index = Math.floor(Math.random() * entries.length);
    t = performance.now();
    const proof = tree.inclusionProof(index);
    const leaf = leafHashOfText(encodeEntry(entries[index] as Entry));
    const ok = verifyInclusion(leaf, index, tree.size, proof, tree.root());
    times.push(performance.now() - t);
    hashes = proof.length;
    if (!ok) throw new Error('inclusion proof did not verify');
  }
  return {
    queryMs,
    matched: r.matched,
    treeBuildMs,
    proofMs: quantile(times, 0.5),
    proofP99Ms: quantile(times, 0.99),
    proofHashes: hashes,
  };
}

/** Microseconds per SHA-256 of 200 bytes, now: how much CPU this process gets on a shared machine. */
function cpuCalibration() {
  const b = Buffer.alloc(200, 7);
  const t = performance.now();
  for (let i = 0; i < 100_000; i++) hash('sha256', b, 'buffer');
  return { sha256Of200BytesUs: Math.round((((performance.now() - t) * 1000) / 100_000) * 100) / 100 };
}

/** Read the stored log back once every replica stored the segment that holds entry `want`; the last read's time. */
async function readWhenStored(
  drivers: Awaited<ReturnType<typeof bucketDriversOf>>,
  f: number,
  keys: ReturnType<typeof coreKeys>,
  want: number,
): Promise<{ stored: Awaited<ReturnType<typeof readStoredLog>>; readMs: number }> {
  for (;;) {
    const t = performance.now();
    const stored = await readStoredLog(drivers, f, keys);
    const readMs = performance.now() - t;
    const last = Math.max(...stored.copies.keys());
    const copy = stored.copies.get(last)?.get(0);
    if (typeof copy === 'object' && copy.head.size >= want && (stored.copies.get(last)?.size ?? 0) === 4) {
      return { stored, readMs };
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function main(): Promise<void> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'tclouds-log-bench-'));
  const stack = `log-bench-${process.pid}`;
  await fs.writeFile(
    path.join(dir, 'tclouds.yaml'),
    `name: ${stack}\nmode: mediator\nclouds:\n  a: { provider: local }\n  b: { provider: local }\n  c: { provider: local }\n  d: { provider: local }\ncomponents:\n  audit: { kind: log, f: 1, clouds: [a, b, c, d] }\n`,
  );
  const entries = Array.from({ length: APPEND_ENTRIES }, (_, i) => entry(i));
  try {
    tclouds(['deploy', '--target', 'local', '--yes'], dir);
    const d = await openDeployment({ file: path.join(dir, 'tclouds.yaml') }, 'audit');
    const smr = await coreClient(d, { timeoutMs: 60_000 });
    await smr.connect(4, 10_000);
    const core = new LogClient(smr);
    const append = await appendBench(core, entries, d);
    await waitPersisted(d);
    const floor = await smrFloorBench(core, entries);
    await core.close();
    const baseline = await fileBaseline(dir, entries);
    // Wait until every replica stored the last segment, then read back and verify.
    const drivers = await bucketDriversOf(d);
    const keys = coreKeys(d);
    const { stored, readMs } = await readWhenStored(drivers, d.f, keys, APPEND_ENTRIES + LIGHT_LOAD_REQUESTS + 1);
    const verifyInput = { log: d.log, n: d.n, f: d.f, keys, seeds: stored.seeds, copies: stored.copies };
    // As `log verify` runs it (entries checked, not parsed), then as query does (every entry parsed too).
    let t = performance.now();
    const report = verifyLog({ ...verifyInput, decode: false });
    const verifyMs = performance.now() - t;
    t = performance.now();
    verifyLog(verifyInput);
    const verifyDecodingMs = performance.now() - t;
    const incremental = await incrementalVerifyBench(verifyInput, drivers, report.segments);
    if (!report.ok) throw new Error(`verify failed: ${JSON.stringify(report.problems.slice(0, 3))}`);
    const qp = queryAndProofBench();
    const calibration = cpuCalibration();
    const result = {
      date: new Date().toISOString(),
      machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, loadavg: os.loadavg(), node: process.version },
      // How fast this process hashed while the benchmark ran: about 0.7 us on an idle core of this kind; a
      // figure many times that says the run shared its cores with other work.
      calibration,
      entryBytes: 200,
      append: {
        entries: append.entries,
        batch: BATCH,
        inflight: INFLIGHT,
        entriesPerSecond: append.rate,
        // After the last append was answered, until every replica had stored every segment in every cloud.
        storageBacklogMs: Math.round(append.persistWaitMs),
        target: 20_000,
        fileWithFsyncPerBatch: baseline.entriesPerSecondBatched,
        // The same batches through the SMR and the core's parse and check, refused before any log work.
        smrOrderingOnly: floor.rate,
      },
      latency: {
        requests: LIGHT_LOAD_REQUESTS,
        p50Ms: quantile(append.lat, 0.5),
        p99Ms: quantile(append.lat, 0.99),
        targetP50Ms: 5,
        fileWithFsyncPerEntryP50Ms: baseline.p50LatencyMs,
        // An ordered request the core does nothing for: the SMR's own round trip, same replicas, same run.
        smrOrderedNoopP50Ms: floor.p50Ms,
        smrOrderedNoopP99Ms: floor.p99Ms,
      },
      verify: {
        entries: report.size,
        segments: report.segments,
        readFromStorageMs: Math.round(readMs),
        verifyMs: Math.round(verifyMs),
        entriesPerSecond: Math.round(report.size / (verifyMs / 1000)),
        entriesPerSecondIncludingRead: Math.round(report.size / ((verifyMs + readMs) / 1000)),
        entriesPerSecondParsingEntries: Math.round(report.size / (verifyDecodingMs / 1000)),
        // `log verify --checkpoint`: only what was sealed after the checkpoint is read and checked.
        incremental,
        target: 200_000,
      },
      query: { entries: QUERY_ENTRIES, ms: Math.round(qp.queryMs), matched: qp.matched, targetMs: 1000 },
      inclusionProof: {
        treeSize: QUERY_ENTRIES,
        proofs: PROOFS,
        p50Ms: qp.proofMs,
        p99Ms: qp.proofP99Ms,
        hashes: qp.proofHashes,
        targetMs: 10,
        treeBuildMs: Math.round(qp.treeBuildMs),
      },
    };
    const out = path.resolve(import.meta.dirname, 'results', 'log.json');
    await writeJsonAtomic(out, result);
    console.log(JSON.stringify(result, null, 2));
  } finally {
    spawnSync(process.execPath, [bin, 'destroy', '--yes'], { cwd: dir, stdio: 'ignore' });
    await fs.rm(dir, { recursive: true, force: true });
  }
}

await main();

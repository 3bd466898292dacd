/**
 * SMR benchmark: 4 replica processes (f=1, noop service) on loopback vs an unreplicated single-process server
 * (bench/unreplicated.ts) on the same authenticated transport, closed-loop clients 1..200 (each system's clients in
 * a load generator process of its own, bench/smr-load.ts), 0-byte and 1 KiB requests, plus a leader crash under
 * load, Ed25519-signed requests (0 B, 1 and 200 clients; `signed` in the JSON), and a second group with the
 * write-ahead log (`durability: fsync`) against the in-memory one (`durability` in the JSON, with this disk's fsync
 * latency). Prints a table and writes
 * bench/results/smr.json, with the CPU every process spent per operation (`cpuAtPeak`) and what each replica put on
 * the wire per request (`cpuAtPeak.wirePerRequest`, from the replicas' /metrics).
 *   npx tsx bench/smr.ts            (needs a compiled dist: npx tsc -p tsconfig.build.json)
 * Targets (BFT-SMaRt's figures, TClouds D2.2.1, Table 8.1): peak >= 38 Kops/s for small requests, >= 25% of
 * unreplicated, p50 <= 2 ms at light load, throughput back to >= 80% of peak within 5 s of a leader crash.
 * Bounded in time (about 1.5 min): 3 s per point.
 */

import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { open, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { rolesOf } from '../components/kinds.js';
import { clientFromOutputs, type SmrClient } from '../components/smr/client.js';
import type { LoadResult } from '../components/smr/operations.js';
import { writeJsonAtomic } from '../kernel/atomic-file.js';
import { startNode } from '../runtime/node-host.js';
import { type Cluster, freePort, makeCluster, spawnNode, waitHealthy } from '../test/smr/cluster.js';
import { measuredLoop } from './measured-loop.js';
import type { ClientHow, LoadRequest } from './smr-load.js';
import { spawnUnreplicated } from './unreplicated.js';

const SECONDS = Number(process.env.SMR_BENCH_SECONDS ?? 3);
const LEVELS_SMALL = [1, 10, 50, 100, 200];
const LEVELS_LARGE = [1, 50, 200];

interface Point extends LoadResult {
  system: 'bft-smr' | 'unreplicated' | 'bft-smr-1proc' | 'bft-smr-signed' | 'bft-smr-durable';
  /** CPU microseconds per completed operation: each server process, and the load generator (this process). */
  cpuUsPerOp?: { servers: (number | null)[]; client: number | null };
  /** What each replica put on the wire per request it executed in this point (from its /metrics). */
  wirePerRequest?: WireCounts[];
}

/** Per-replica counters read from /metrics; per request executed when reported in a Point. */
interface WireCounts {
  peerBytes: number;
  peerFrames: number;
  clientBytes: number;
  clientFrames: number;
  replies: number;
  executed: number;
}

const WIRE_METRICS: [keyof WireCounts, RegExp][] = [
  ['peerBytes', /^tclouds_transport_bytes_sent_total\{transport="peer"\} (\d+)$/m],
  ['peerFrames', /^tclouds_transport_frames_sent_total\{transport="peer"\} (\d+)$/m],
  ['clientBytes', /^tclouds_transport_bytes_sent_total\{transport="client"\} (\d+)$/m],
  ['clientFrames', /^tclouds_transport_frames_sent_total\{transport="client"\} (\d+)$/m],
  ['replies', /^tclouds_smr_replies_sent_total (\d+)$/m],
  ['executed', /^tclouds_smr_requests_executed_total (\d+)$/m],
];

/** Reads the wire counters of every replica (the leader's requests, the followers' replies, frames). */
async function wireCounts(specs: { host: string; controlPort: number }[]): Promise<WireCounts[]> {
  return Promise.all(
    specs.map(async (s) => {
      const text = await (await fetch(`http://${s.host}:${s.controlPort}/metrics`)).text();
      const out = {} as WireCounts;
      for (const [k, re] of WIRE_METRICS) out[k] = Number(re.exec(text)?.[1] ?? Number.NaN);
      return out;
    }),
  );
}

/** CPU seconds (user + system) a child process has used so far; undefined where /proc is not available. */
function cpuSeconds(pid: number | undefined): number | undefined {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(f[11]) + Number(f[12])) / 100; // utime + stime in clock ticks (USER_HZ = 100 on Linux)
  } catch {
    return undefined;
  }
}

/** Runs one closed-loop point and says how much CPU the load generator used for it. */
type RunPoint = (clients: number, seconds: number, size: number) => Promise<{ result: LoadResult; cpuSeconds: number }>;

interface Target {
  system: Point['system'];
  run: RunPoint;
  /** Server processes whose CPU time is reported per operation. */
  pids: (number | undefined)[];
  /** Wire counters of the replicas, read before and after each point. */
  wire?: () => Promise<WireCounts[]>;
}

/** A load generator in a process of its own (bench/smr-load.ts): one client, 200 sessions, driven over IPC. */
class LoadGenerator {
  private waiting: ((m: { type: string; [k: string]: unknown }) => void) | undefined;

  private constructor(private readonly child: ChildProcess) {
    child.on('message', (m: { type: string; [k: string]: unknown }) => this.waiting?.(m));
    child.on('exit', (code) => this.waiting?.({ type: 'error', message: `load generator exited with ${code}` }));
  }

  static async start(how: ClientHow): Promise<LoadGenerator> {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(import.meta.dirname, 'smr-load.ts')], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const g = new LoadGenerator(child);
    const ready = await g.ask({ type: 'client', how });
    const want = how.kind === 'direct' ? how.replicas.length : 4;
    if (ready.connected !== want) throw new Error(`load generator connected to ${ready.connected}/${want} servers`);
    return g;
  }

  private ask(req: LoadRequest): Promise<{ type: string; [k: string]: unknown }> {
    return new Promise((resolve, reject) => {
      this.waiting = (m) => {
        this.waiting = undefined;
        if (m.type === 'error') reject(new Error(String(m.message)));
        else resolve(m);
      };
      this.child.send(req);
    });
  }

  readonly run: RunPoint = async (clients, seconds, size) => {
    const m = await this.ask({ type: 'run', clients, seconds, size });
    return { result: m.result as LoadResult, cpuSeconds: m.cpuSeconds as number };
  };

  async close(): Promise<void> {
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.send({ type: 'close' } satisfies LoadRequest);
    await exited;
  }
}

/** The same closed loop in this process (the single-process point, where everything shares one event loop). */
function inProcess(client: SmrClient): RunPoint {
  const sessions = Array.from({ length: 200 }, () => client.session());
  return (clients, seconds, size) => measuredLoop(sessions, clients, seconds, size);
}

/**
 * Every (size, clients) point runs on each system back to back, so the replicated/unreplicated ratio compares
 * runs made under the same background load (this machine is shared; load drifts over a minute).
 */
async function sweep(
  targets: Target[],
  plan: readonly (readonly [number, readonly number[]])[] = [
    [0, LEVELS_SMALL],
    [1024, LEVELS_LARGE],
  ],
): Promise<Point[][]> {
  const out: Point[][] = targets.map(() => []);
  // Warm-up (not recorded): JIT-compile the hot paths of every process before the first measured point.
  for (const t of targets) await t.run(50, 1, 0);
  for (const [size, levels] of plan) {
    for (const c of levels) {
      for (const [k, t] of targets.entries()) {
        const cpu0 = t.pids.map(cpuSeconds);
        const wire0 = await t.wire?.();
        const { result: r, cpuSeconds: clientCpu } = await t.run(c, SECONDS, size);
        const wire1 = await t.wire?.();
        const server = t.pids.map((p, i) => (cpuSeconds(p) ?? Number.NaN) - (cpu0[i] ?? Number.NaN));
        const perOp = (sec: number) => (r.ops > 0 && Number.isFinite(sec) ? Math.round((sec * 1e6) / r.ops) : null);
        const cpuUsPerOp = {
          servers: server.map(perOp),
          client: perOp(clientCpu),
        };
        let wirePerRequest: WireCounts[] | undefined;
        if (wire0 && wire1) {
          wirePerRequest = wire1.map((w, i) => {
            const d = (key: keyof WireCounts) => w[key] - wire0[i]![key];
            const executed = Math.max(1, d('executed'));
            const per = {} as WireCounts;
            for (const [key] of WIRE_METRICS) per[key] = Math.round((d(key) / executed) * 1000) / 1000;
            per.executed = d('executed');
            return per;
          });
        }
        out[k]!.push({ system: t.system, ...r, cpuUsPerOp, wirePerRequest });
        process.stderr.write(
          `${t.system.padEnd(12)} ${String(size).padStart(5)} B ${String(c).padStart(4)} clients ${String(r.opsPerSecond).padStart(7)} ops/s  p50 ${r.latencyMs.p50} ms  p99 ${r.latencyMs.p99} ms  cpu us/op ${cpuUsPerOp.servers.join('/')} + client ${cpuUsPerOp.client}\n`,
        );
      }
    }
  }
  return out;
}

/** Closed loop with 100 clients; kill the leader after 3 s; throughput per 250 ms window. */
async function leaderCrash(client: SmrClient, leader: ChildProcess): Promise<Record<string, unknown>> {
  const sessions = Array.from({ length: 100 }, () => client.session());
  let done = 0;
  const windows: number[] = [];
  const start = performance.now();
  const end = start + 13_000;
  const crashAt = 3000;
  let crashed = false;
  const timer = setInterval(() => {
    windows.push(done);
    done = 0;
    if (!crashed && performance.now() - start >= crashAt) {
      crashed = true;
      leader.kill('SIGKILL');
    }
  }, 250);
  await Promise.all(
    sessions.map(async (s) => {
      while (performance.now() < end) {
        await s.invoke(new Uint8Array(0));
        done++;
      }
    }),
  );
  clearInterval(timer);
  const rate = windows.map((w) => w * 4);
  const crashIdx = Math.round(crashAt / 250);
  const before = rate.slice(2, crashIdx);
  const peak = Math.max(...before);
  const preMean = before.reduce((a, b) => a + b, 0) / before.length;
  // The crash shows as a dip (a window below half the pre-crash mean); recovery is the first 1 s window after
  // the dip that averages >= 80% of the pre-crash mean, measured from the crash.
  let dip = -1;
  for (let i = crashIdx; i < Math.min(rate.length, crashIdx + 12); i++) {
    if (rate[i]! < 0.5 * preMean) {
      dip = i;
      break;
    }
  }
  let recoveredAfterMs: number | null = dip < 0 ? 0 : null;
  for (let i = Math.max(dip, crashIdx); dip >= 0 && i + 4 <= rate.length; i++) {
    const avg = rate.slice(i, i + 4).reduce((a, b) => a + b, 0) / 4;
    if (avg >= 0.8 * preMean) {
      recoveredAfterMs = (i - crashIdx) * 250;
      break;
    }
  }
  const after = rate.slice(crashIdx + 8);
  const postMean = after.reduce((a, b) => a + b, 0) / Math.max(1, after.length);
  return {
    clients: 100,
    crashAtMs: crashAt,
    preCrashMeanOpsPerSecond: Math.round(preMean),
    preCrashPeakWindowOpsPerSecond: peak,
    recoveredTo80PercentAfterMs: recoveredAfterMs,
    dipAfterMs: dip < 0 ? null : (dip - crashIdx) * 250,
    postCrashMeanOpsPerSecond: Math.round(postMean),
    opsPerSecondPer250msWindow: rate,
  };
}

/** Kills every child still running when this process exits (a failed point, Ctrl-C): no replica outlives the bench. */
function reapOnExit(children: ChildProcess[]): void {
  process.on('exit', () => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  });
  process.on('SIGINT', () => process.exit(130));
}

/**
 * The MAC-request points: the 4 replica processes against the unreplicated baseline (bench/unreplicated.ts), a
 * process of its own on the same transport and request MACs, each system's clients in a load generator of its own.
 */
async function macPoints(
  cluster: Cluster,
  procs: ChildProcess[],
  children: ChildProcess[],
): Promise<{ replicated: Point[]; baseline: Point[] }> {
  const bftLoad = await LoadGenerator.start({
    kind: 'outputs',
    stackDir: cluster.stackDir,
    component: cluster.component,
    opts: { retransmitMs: 500, timeoutMs: 30_000 },
  });
  const spec = {
    ...cluster.specs[1]!,
    role: 'unreplicated',
    peers: [],
    controlPort: await freePort(cluster.specs[1]!.host),
    dataDir: path.join(cluster.stackDir, 'nodes', 'unreplicated', 'data'),
  };
  spec.ports = { ...spec.ports, client: await freePort(spec.host) };
  const specFile = path.join(cluster.stackDir, 'nodes', 'unreplicated.json');
  await writeJsonAtomic(specFile, spec);
  const single = spawnUnreplicated(specFile);
  children.push(single);
  await waitHealthy(spec);
  const baseId = Object.keys(cluster.specs[0]!.clients)[0]!;
  const baseLoad = await LoadGenerator.start({
    kind: 'direct',
    stack: cluster.stack,
    clientId: baseId,
    keyFile: path.join(cluster.stackDir, 'keys', `${baseId}.key`),
    replicas: [{ id: spec.id, index: 0, host: spec.host, port: spec.ports.client!, publicKey: spec.publicKey }],
    f: 0,
    retransmitMs: 500,
  });
  const [replicated, baseline] = (await sweep([
    { system: 'bft-smr', run: bftLoad.run, pids: procs.map((p) => p.pid), wire: () => wireCounts(cluster.specs) },
    { system: 'unreplicated', run: baseLoad.run, pids: [single.pid] },
  ])) as [Point[], Point[]];
  await baseLoad.close();
  await bftLoad.close();
  single.kill('SIGKILL');
  return { replicated, baseline };
}

/**
 * Ed25519-signed requests (clientAuth: signature / --sign) on the same 4 replicas: 0 B, 1 and 200 clients, next
 * to the MAC-vector figures. Every replica verifies every request (about 8 s with the warm-up).
 */
async function signedPoints(cluster: Cluster, procs: ChildProcess[], replicated: Point[]) {
  const signedLoad = await LoadGenerator.start({
    kind: 'outputs',
    stackDir: cluster.stackDir,
    component: cluster.component,
    opts: { clientId: 'client-ledger-1', retransmitMs: 500, timeoutMs: 30_000, sign: true },
  });
  const [points] = (await sweep(
    [{ system: 'bft-smr-signed', run: signedLoad.run, pids: procs.map((p) => p.pid) }],
    [[0, [1, 200]]],
  )) as [Point[]];
  await signedLoad.close();
  const macAt = (c: number) => replicated.find((p) => p.payloadBytes === 0 && p.clients === c)!;
  const signedAt = (c: number) => points.find((p) => p.clients === c)!;
  return {
    auth: 'Ed25519 signature per request (verified by every replica), instead of a MAC vector',
    peakOpsPerSecond: Math.max(...points.map((p) => p.opsPerSecond)),
    p50LightLoadMs: signedAt(1).latencyMs.p50,
    p50At200ClientsMs: signedAt(200).latencyMs.p50,
    macPeakSameClientsOpsPerSecond: macAt(200).opsPerSecond,
    macP50LightLoadMs: macAt(1).latencyMs.p50,
    /** Signed throughput at 200 clients as a share of MAC throughput at 200 clients. */
    shareOfMacAt200Clients:
      Math.round((signedAt(200).opsPerSecond / Math.max(1, macAt(200).opsPerSecond)) * 1000) / 1000,
    points,
  };
}

/** write + fdatasync of 4 KiB blocks timed in the data directory's filesystem: the floor under a durable instance. */
const FSYNC_SAMPLES = 200;
const FSYNC_BLOCK_BYTES = 4096;

async function fsyncLatency(dir: string): Promise<{ medianMs: number; p90Ms: number; samples: number }> {
  const file = path.join(dir, 'fsync-probe.bin');
  const fh = await open(file, 'w');
  const block = Buffer.alloc(FSYNC_BLOCK_BYTES, 7);
  const ms: number[] = [];
  try {
    for (let i = 0; i < FSYNC_SAMPLES; i++) {
      const t = performance.now();
      await fh.write(block);
      await fh.datasync();
      ms.push(performance.now() - t);
    }
  } finally {
    await fh.close();
    await rm(file, { force: true });
  }
  ms.sort((a, b) => a - b);
  const at = (q: number) => Math.round(ms[Math.floor(q * (ms.length - 1))]! * 1000) / 1000;
  return { medianMs: at(0.5), p90Ms: at(0.9), samples: ms.length };
}

/** Durable peak (write-ahead log, components/smr/wal.ts) at least this share of the in-memory peak. */
const DURABLE_SHARE_TARGET = 0.6;

/**
 * `durability: fsync` against `durability: none`: a second group of 4 replicas with the write-ahead log, its
 * points run back to back with the in-memory group's (the main cluster), and the fsync latency of this disk.
 */
async function durabilityPoints(memory: Cluster, memoryProcs: ChildProcess[], children: ChildProcess[]) {
  const durable = await makeCluster({
    config: { service: 'noop', batchSize: 1000, checkpointPeriod: 1000, requestTimeoutMs: 400, durability: 'fsync' },
  });
  const procs = durable.specFiles.map((f) => spawnNode(f));
  children.push(...procs);
  await Promise.all(durable.specs.map((s) => waitHealthy(s)));
  const fsync = await fsyncLatency(durable.stackDir);
  const opts = { retransmitMs: 500, timeoutMs: 30_000 };
  const load = (c: Cluster) =>
    LoadGenerator.start({ kind: 'outputs', stackDir: c.stackDir, component: c.component, opts });
  const durableLoad = await load(durable);
  const memoryLoad = await load(memory);
  const [onDisk, inMemory] = (await sweep(
    [
      { system: 'bft-smr-durable', run: durableLoad.run, pids: procs.map((p) => p.pid) },
      { system: 'bft-smr', run: memoryLoad.run, pids: memoryProcs.map((p) => p.pid) },
    ],
    [[0, [1, 50, 200]]],
  )) as [Point[], Point[]];
  await durableLoad.close();
  await memoryLoad.close();
  for (const p of procs) p.kill('SIGKILL');
  const durablePeak = peak(onDisk, 0);
  const memoryPeak = peak(inMemory, 0);
  const share = Math.round((durablePeak / Math.max(1, memoryPeak)) * 1000) / 1000;
  return {
    durablePeakOpsPerSecond: durablePeak,
    inMemoryPeakOpsPerSecond: memoryPeak,
    share: { target: DURABLE_SHARE_TARGET, measured: share, met: share >= DURABLE_SHARE_TARGET },
    fsync4KiB: fsync,
    durable: onDisk,
    inMemory,
  };
}

/**
 * Extra data point: 4 replicas and a client in ONE process over the same loopback TCP transport. It removes
 * cross-process scheduler wake-ups (5 processes x 4 message hops on 2 shared cores) from the latency.
 */
async function singleProcessPoints(): Promise<Point[]> {
  const one = await makeCluster({
    config: { service: 'noop', batchSize: 1000, checkpointPeriod: 1000, durability: 'none' },
  });
  const inproc = await Promise.all(one.specFiles.map((f) => startNode(f, { stderr: false, roles: rolesOf })));
  const oneClient = await clientFromOutputs(one.stackDir, one.component, { retransmitMs: 500 });
  await oneClient.connect(4);
  const [points] = (await sweep(
    [{ system: 'bft-smr-1proc', run: inProcess(oneClient), pids: [] }],
    [[0, [1, 50, 200]]],
  )) as [Point[]];
  await oneClient.close();
  for (const nd of inproc) await nd.stop();
  return points;
}

interface Runs {
  replicated: Point[];
  baseline: Point[];
  singleProcess: Point[];
  signed: Awaited<ReturnType<typeof signedPoints>>;
  durability: Awaited<ReturnType<typeof durabilityPoints>>;
  crash: Record<string, unknown>;
}

const peak = (pts: Point[], size: number) =>
  Math.max(...pts.filter((p) => p.payloadBytes === size).map((p) => p.opsPerSecond));

/** The targets, measured, and whether each is met. */
function targetsOf(runs: Runs) {
  const { replicated, baseline, singleProcess, crash } = runs;
  const peakSmall = peak(replicated, 0);
  const basePeakSmall = peak(baseline, 0);
  const light = replicated.find((p) => p.payloadBytes === 0 && p.clients === 1)!;
  const light1 = singleProcess.find((p) => p.clients === 1)!;
  const recovered = crash.recoveredTo80PercentAfterMs as number | null;
  return {
    peakSmallOpsPerSecond: { target: 38_000, measured: peakSmall, met: peakSmall >= 38_000 },
    fractionOfUnreplicated: {
      target: 0.25,
      measured: Math.round((peakSmall / basePeakSmall) * 1000) / 1000,
      met: peakSmall / basePeakSmall >= 0.25,
    },
    p50LightLoadMs: { target: 2, measured: light.latencyMs.p50, met: light.latencyMs.p50 <= 2 },
    p50LightLoadSingleProcessMs: { target: 2, measured: light1.latencyMs.p50, met: light1.latencyMs.p50 <= 2 },
    leaderCrashRecoveryMs: { target: 5000, measured: recovered, met: recovered !== null && recovered <= 5000 },
  };
}

/**
 * Where the peak would be without the shared cores: BFT-SMaRt's 38 Kops/s ran each replica on a machine of its
 * own and the clients on eight more. The busiest replica's CPU per operation at our peak bounds what one core per
 * replica could order; a derived figure, not a measurement, reported beside (never instead of) the peak.
 */
function cpuAtPeak(replicated: Point[]) {
  const atPeak = replicated.find((p) => p.payloadBytes === 0 && p.opsPerSecond === peak(replicated, 0))!;
  const busiest = Math.max(...(atPeak.cpuUsPerOp?.servers ?? []).map((v) => v ?? 0));
  return {
    busiestReplicaCpuUsPerOp: busiest,
    clientCpuUsPerOp: atPeak.cpuUsPerOp?.client ?? null,
    cpuUsPerOpAllProcesses:
      (atPeak.cpuUsPerOp?.servers ?? []).reduce<number>((a, v) => a + (v ?? 0), 0) + (atPeak.cpuUsPerOp?.client ?? 0),
    oneCorePerReplicaBoundOpsPerSecond: busiest > 0 ? Math.round(1e6 / busiest) : null,
    /**
     * Per replica (index order; replica 0 leads): bytes and frames sent to peers and to clients, and replies sent,
     * per request executed at the peak point. Deterministic where CPU figures are noisy: the leader's peer bytes
     * are its PROPOSEs, the replies show the f+1 designated repliers.
     */
    wirePerRequest: atPeak.wirePerRequest ?? null,
  };
}

/** bench/results/smr.json. */
function resultOf(runs: Runs, load0: number[], t0: number) {
  const { replicated, baseline } = runs;
  return {
    benchmark: 'smr',
    date: new Date().toISOString(),
    machine: {
      cpus: os.cpus().length,
      model: os.cpus()[0]?.model,
      loadavgStart: load0,
      loadavgEnd: os.loadavg(),
      node: process.version,
    },
    setup: {
      replicas: 4,
      f: 1,
      service: 'noop',
      batchSize: 1000,
      secondsPerPoint: SECONDS,
      transport: 'TCP loopback, HMAC-SHA256 frames, MAC-vector client requests; all processes on this machine',
    },
    targets: targetsOf(runs),
    cpuAtPeak: cpuAtPeak(replicated),
    peaks: {
      bftSmall: peak(replicated, 0),
      bftLarge: peak(replicated, 1024),
      unreplicatedSmall: peak(baseline, 0),
      unreplicatedLarge: peak(baseline, 1024),
    },
    replicated,
    unreplicated: baseline,
    replicatedSingleProcess: runs.singleProcess,
    signed: runs.signed,
    durability: runs.durability,
    leaderCrash: runs.crash,
    durationSeconds: Math.round((performance.now() - t0) / 1000),
  };
}

/** The table printed at the end. */
function report(runs: Runs, result: ReturnType<typeof resultOf>, load0: number[]): string {
  const { targets, cpuAtPeak: machine } = result;
  const row = (name: string, t: { target: number; measured: number | null; met: boolean }) =>
    `${name.padEnd(28)} ${String(t.measured).padStart(10)}   target ${String(t.target).padStart(7)}   ${t.met ? 'MET' : 'NOT MET'}`;
  return [
    '',
    'system        size  clients    ops/s   p50 ms   p99 ms',
    ...[...runs.replicated, ...runs.baseline, ...runs.signed.points, ...runs.singleProcess].map(
      (p) =>
        `${p.system.padEnd(12)} ${String(p.payloadBytes).padStart(5)} ${String(p.clients).padStart(8)} ${String(p.opsPerSecond).padStart(8)} ${String(p.latencyMs.p50).padStart(8)} ${String(p.latencyMs.p99).padStart(8)}`,
    ),
    '',
    row('peak small ops/s', targets.peakSmallOpsPerSecond),
    row('fraction of unreplicated', targets.fractionOfUnreplicated),
    row('p50 at 1 client (ms)', targets.p50LightLoadMs),
    row('p50 1 client, 1 process (ms)', targets.p50LightLoadSingleProcessMs),
    row('leader crash recovery (ms)', targets.leaderCrashRecoveryMs),
    row('durable / in-memory peak', result.durability.share),
    `durable peak ${result.durability.durablePeakOpsPerSecond} ops/s, in-memory ${result.durability.inMemoryPeakOpsPerSecond} ops/s, ` +
      `fsync of 4 KiB here: median ${result.durability.fsync4KiB.medianMs} ms, p90 ${result.durability.fsync4KiB.p90Ms} ms`,
    `cpu per op at the peak: ${machine.cpuUsPerOpAllProcesses} us in all processes, busiest replica ${machine.busiestReplicaCpuUsPerOp} us ` +
      `(one core per replica would bound the peak at ${machine.oneCorePerReplicaBoundOpsPerSecond} ops/s)`,
    `per request at the peak, replicas 0..3: peer bytes ${(machine.wirePerRequest ?? []).map((w) => Math.round(w.peerBytes)).join('/')}, ` +
      `replies ${(machine.wirePerRequest ?? []).map((w) => w.replies.toFixed(2)).join('/')}`,
    `load average ${load0.map((x) => x.toFixed(1)).join(' ')} -> ${os
      .loadavg()
      .map((x) => x.toFixed(1))
      .join(' ')} on ${os.cpus().length} cores`,
    'wrote bench/results/smr.json',
    '',
  ].join('\n');
}

async function main(): Promise<void> {
  const load0 = os.loadavg();
  const t0 = performance.now();
  const cluster = await makeCluster({
    // In memory (no write-ahead log): the figures compare with BFT-SMaRt's; durabilityPoints measures the log.
    config: { service: 'noop', batchSize: 1000, checkpointPeriod: 1000, requestTimeoutMs: 400, durability: 'none' },
    // A second client identity for the signed-request points (one connection per identity).
    clients: 2,
  });
  const procs = cluster.specFiles.map((f) => spawnNode(f));
  const children: ChildProcess[] = [...procs];
  reapOnExit(children);
  await Promise.all(cluster.specs.map((s) => waitHealthy(s)));
  const { replicated, baseline } = await macPoints(cluster, procs, children);
  const signed = await signedPoints(cluster, procs, replicated);
  const durability = await durabilityPoints(cluster, procs, children);
  // Leader crash under load, from a client in this process (what is measured is the replicas' recovery).
  const client = await clientFromOutputs(cluster.stackDir, cluster.component, { retransmitMs: 500, timeoutMs: 30_000 });
  await client.connect(4);
  const crash = await leaderCrash(client, procs[0]!);
  await client.close();
  for (const p of procs) p.kill('SIGKILL');
  const runs: Runs = { replicated, baseline, singleProcess: await singleProcessPoints(), signed, durability, crash };
  const result = resultOf(runs, load0, t0);
  await writeJsonAtomic(path.join(import.meta.dirname, 'results', 'smr.json'), result);
  process.stdout.write(report(runs, result, load0));
}

main().then(
  () => process.exit(0),
  (e) => {
    process.stderr.write(`bench failed: ${(e as Error).stack ?? e}\n`);
    process.exit(1);
  },
);

/**
 * The worker role (a task tracker of TClouds D2.2.1, ch. 10): runs the map and reduce task replicas the job tracker
 * assigns, each in a worker thread with a heap limit and a deadline (runner.ts), keeps map outputs on its own disk
 * (stored once, here, not replicated) and serves them to reduce tasks of other workers over the authenticated
 * shuffle transport. A reduce fetches each map partition from one worker that agreed on it and checks it against the
 * digest f+1 replicas agreed on, trying the next agreeing worker when it does not match.
 *
 * Transports: the worker dials the job tracker's rpc port; between workers the lower index dials the higher one's
 * shuffle port (one connection per pair, used both ways). Anything that does not parse is dropped and counted.
 * The worker keeps each report it sent (until the job is forgotten) and sends them all again after every
 * (re)connection to the tracker: a tracker that restarted from its journal may have missed them. A `run` for a
 * replica it finished is answered with the kept report instead of running it again.
 * With a replicated tracker (`jobTracker: replicated`, 3f+1 tracker replicas) the worker is connected to every
 * replica, sends its hellos and reports to all, and acts on a run, abort or forget only once f+1 replicas sent it
 * identically (payload included): no single tracker replica can make it run, stop or drop anything.
 * Fault switch (spec config `faultInjection`): POST /admin/fault {"mode"} (worker-faults.ts).
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { RoleContext, RoleFactory, RoleInstance } from '../../runtime/role.js';
import { Transport } from '../../runtime/transport.js';
import { parseNodeConfig } from '../node-config.js';
import { MapReduceCode } from './codes.js';
import { WorkerConfigSchema } from './config.js';
import { FETCH_PARALLEL, FETCH_TIMEOUT_MS, MAX_TASK_OUTPUT_BYTES, SLOW_MODE_DELAY_MS } from './limits.js';
import { closeRunners, runTask } from './runner.js';
import {
  decode,
  encode,
  type JobError,
  type Source,
  TrackerToWorker,
  type TrackerToWorkerMsg,
  type WorkerToTrackerMsg,
  WorkerToWorker,
} from './wire.js';
import { WorkerFaults } from './worker-faults.js';

type RunMsg = Extract<TrackerToWorkerMsg, { t: 'run' }>;
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const SAFE_ID = /^[A-Za-z0-9._-]+$/;

export const worker: RoleFactory = async (ctx: RoleContext): Promise<RoleInstance> => {
  const w = new Worker(ctx);
  await w.start();
  return w;
};

class Worker implements RoleInstance {
  private readonly faults: WorkerFaults;
  private readonly trackers: { id: string }[];
  /** Identical tracker messages needed before acting: 1 for the single tracker, f+1 for a replicated one. */
  private readonly quorum: number;
  /** Tracker messages waiting for their quorum: canonical message -> trackers that sent it ('done' once acted on). */
  private readonly votes = new Map<string, Set<string> | 'done'>();
  private readonly rpc: Transport;
  private readonly shuffle: Transport;
  private readonly running = new Map<string, AbortController>();
  /** Reports sent, by replica key, kept for re-sending until the tracker forgets the job. */
  private readonly reports = new Map<string, Buffer>();
  private readonly fetches = new Map<number, (r: { ok: boolean; data: Buffer }) => void>();
  private nextReq = 0;
  /** Job module files written, by path (forgotten with their job). */
  private readonly modules = new Set<string>();
  private done = 0;
  private readonly dropped;

  constructor(private readonly ctx: RoleContext) {
    const { spec, metrics, log } = ctx;
    const config = parseNodeConfig(WorkerConfigSchema, spec.config, {
      code: MapReduceCode.config,
      what: `worker ${spec.id}`,
    });
    this.faults = new WorkerFaults(config.faultInjection === true);
    const trackers = spec.peers.filter((p) => p.role === 'job-tracker');
    if (trackers.length === 0) throw new Error(`worker ${spec.id}: the spec names no job tracker among its peers`);
    this.trackers = trackers;
    this.quorum = trackers.length > 1 ? config.f + 1 : 1;
    this.dropped = metrics.counter('tclouds_mapreduce_messages_dropped_total', 'Malformed messages dropped');
    this.rpc = new Transport({
      name: 'rpc',
      stack: spec.stack,
      selfId: spec.id,
      privateKey: ctx.privateKey,
      dial: trackers.map((t) => ({ id: t.id, host: t.host, port: t.ports.rpc as number, publicKey: t.publicKey })),
      accept: () => undefined,
      blocked: ctx.partitioned,
      metrics,
      log,
      onMessage: (from, buf) => this.fromTracker(from, buf),
      onConnect: (id) => {
        this.rpc.send(id, encode({ t: 'hello', cloud: spec.cloud, domain: spec.domain }));
        for (const r of this.reports.values()) this.rpc.send(id, r);
      },
    });
    const workers = spec.peers.filter((p) => p.role === 'worker');
    this.shuffle = new Transport({
      name: 'shuffle',
      stack: spec.stack,
      selfId: spec.id,
      privateKey: ctx.privateKey,
      listen: { host: spec.host, port: spec.ports.shuffle as number },
      dial: workers
        .filter((p) => p.index > spec.index)
        .map((p) => ({ id: p.id, host: p.host, port: p.ports.shuffle as number, publicKey: p.publicKey })),
      accept: (id) => workers.find((p) => p.id === id && p.index < spec.index)?.publicKey,
      blocked: ctx.partitioned,
      metrics,
      log,
      onMessage: (from, buf) => void this.fromWorker(from, buf),
    });
  }

  async start(): Promise<void> {
    await this.shuffle.start();
    await this.rpc.start();
    this.ctx.log.info('worker started', { trackers: this.trackers.length, quorum: this.quorum });
  }

  health(): Record<string, unknown> {
    return {
      running: this.running.size,
      tasksDone: this.done,
      fault: this.faults.mode,
      tracker:
        this.trackers.length === 1
          ? this.rpc.isConnected(this.trackers[0]?.id ?? '')
            ? 'connected'
            : 'disconnected'
          : `${this.trackers.filter((t) => this.rpc.isConnected(t.id)).length}/${this.trackers.length} connected`,
    };
  }

  async admin(action: string, body: unknown): Promise<unknown> {
    if (action !== 'fault') return undefined;
    const fault = this.faults.set((body as { mode?: unknown } | null)?.mode);
    this.ctx.log.warn('fault mode changed', { mode: fault });
    return { fault };
  }

  async stop(): Promise<void> {
    for (const c of this.running.values()) c.abort();
    await Promise.all([this.rpc.close(), this.shuffle.close(), closeRunners()]);
  }

  private jobDir(job: string): string {
    return path.join(this.ctx.spec.dataDir, 'jobs', job);
  }

  private fromTracker(from: string, buf: Buffer): void {
    const m = this.trackers.some((t) => t.id === from) ? decode(buf, TrackerToWorker) : null;
    if (!m) {
      this.dropped.inc();
      return;
    }
    // A run whose module is not the bytes of the digest it names is a lie (the digest is the one ordered with the
    // job): dropped before it can count towards a quorum.
    if (m.header.t === 'run' && sha256(Buffer.from(m.header.module)) !== m.header.moduleDigest) {
      this.dropped.inc();
      this.ctx.log.warn('dropped a task whose module does not match its digest', { from, job: m.header.job });
      return;
    }
    if (this.quorum > 1 && !this.agreed(from, m.header, m.payload)) return;
    const h = m.header;
    if (h.t === 'run') void this.run(h, m.payload);
    else if (h.t === 'abort') this.running.get(`${h.job}/${h.task}/${h.index}/${h.attempt}`)?.abort();
    else {
      for (const k of this.reports.keys()) if (k.startsWith(`${h.job}/`)) this.reports.delete(k);
      for (const k of this.votes.keys()) if (k.startsWith(`${h.job}\n`)) this.votes.delete(k);
      for (const p of this.modules) if (p.startsWith(`${this.jobDir(h.job)}${path.sep}`)) this.modules.delete(p);
      void fs.rm(this.jobDir(h.job), { recursive: true, force: true });
    }
  }

  /** Whether f+1 tracker replicas have now sent this very message (true once, when the last of them arrives). */
  private agreed(from: string, header: TrackerToWorkerMsg, payload: Buffer): boolean {
    const key = `${header.job}\n${JSON.stringify(header)}\n${payload.length > 0 ? sha256(payload) : ''}`;
    const seen = this.votes.get(key) ?? new Set<string>();
    if (seen === 'done') return false;
    seen.add(from);
    if (seen.size < this.quorum) {
      this.votes.set(key, seen);
      return false;
    }
    this.votes.set(key, 'done');
    return true;
  }

  private send(msg: WorkerToTrackerMsg, payload?: Uint8Array): void {
    this.broadcast(encode(msg, payload));
  }

  private broadcast(frame: Buffer): void {
    for (const t of this.trackers) this.rpc.send(t.id, frame);
  }

  /** One task replica: inputs, the job module in its thread, outputs kept (map) or sent (reduce), the report. */
  private async run(h: RunMsg, payload: Buffer): Promise<void> {
    const key = `${h.job}/${h.task}/${h.index}/${h.attempt}`;
    if (!SAFE_ID.test(h.job) || this.running.has(key)) return;
    const kept = this.reports.get(key);
    if (kept) {
      this.broadcast(kept);
      return;
    }
    const abort = new AbortController();
    this.running.set(key, abort);
    const ref = { job: h.job, task: h.task, index: h.index, attempt: h.attempt };
    try {
      const dir = this.jobDir(h.job);
      await fs.mkdir(dir, { recursive: true });
      const modulePath = path.join(dir, `job-${h.moduleDigest.slice(0, 16)}.mjs`);
      // Written once per job and module (not rewritten under a task that may be importing it).
      if (!this.modules.has(modulePath)) {
        await fs.writeFile(modulePath, h.module);
        this.modules.add(modulePath);
      }
      let data: Uint8Array[];
      if (h.task === 'map') data = [payload];
      else {
        const parts = await this.fetchAll(h.job, h.index, h.sources ?? [], abort.signal);
        if (!parts) {
          if (!abort.signal.aborted) this.send({ t: 'lost', ...ref, why: 'a map output could not be fetched' });
          return;
        }
        data = parts;
      }
      const sep = h.input.lastIndexOf(':');
      const r = await runTask({
        modulePath,
        kind: h.task,
        input: sep > 0 ? h.input.slice(0, sep) : h.input,
        firstLine: sep > 0 ? Number(h.input.slice(sep + 1)) || 0 : 0,
        reducers: h.reducers,
        data,
        timeoutMs: h.timeoutMs,
        memoryMb: h.memoryMb,
        signal: abort.signal,
      });
      if (!r.ok && 'aborted' in r) return;
      await this.report(h, r.ok ? r.outputs : null, r.ok ? null : r.error);
    } catch (e) {
      this.ctx.log.warn('task failed at the worker', { task: key, error: (e as Error).message });
      if (!abort.signal.aborted) this.send({ t: 'lost', ...ref, why: (e as Error).message.slice(0, 500) });
    } finally {
      this.running.delete(key);
    }
  }

  private async report(h: RunMsg, outputs: Buffer[] | null, failure: JobError | null): Promise<void> {
    let error = failure;
    const ref = { job: h.job, task: h.task, index: h.index, attempt: h.attempt };
    const mode = this.faults.mode;
    if (mode === 'silent') return;
    let outs = outputs;
    if (outs && mode === 'wrong-output') outs = outs.map((o) => this.faults.corrupt(o));
    if (outs?.some((o) => o.length > MAX_TASK_OUTPUT_BYTES)) {
      outs = null;
      error = { kind: 'invalid', message: `a task output is over ${MAX_TASK_OUTPUT_BYTES} bytes`, record: null };
    }
    if (outs && h.task === 'map') {
      const dir = path.join(this.jobDir(h.job), `m${h.index}`);
      await fs.mkdir(dir, { recursive: true });
      await Promise.all(outs.map((o, p) => fs.writeFile(path.join(dir, `p${p}`), o)));
    }
    if (mode === 'slow') await new Promise((r) => setTimeout(r, SLOW_MODE_DELAY_MS));
    this.done++;
    const digests = outs ? outs.map(sha256) : [];
    const msg = encode(
      { t: 'done', ...ref, digests, error: outs ? null : error },
      h.task === 'reduce' && outs ? outs[0] : undefined,
    );
    this.reports.set(`${h.job}/${h.task}/${h.index}/${h.attempt}`, msg);
    this.broadcast(msg);
  }

  /**
   * The partition of every map task, each checked against its agreed digest; null when one cannot be had. Up to
   * FETCH_PARALLEL maps are fetched at once: one after the other, a reduce waited a round trip per map task (65 of
   * them for 256 MiB of input) at the end of the job, with the cores idle.
   */
  private async fetchAll(job: string, part: number, sources: Source[], signal: AbortSignal): Promise<Buffer[] | null> {
    const ordered = [...sources].sort((a, b) => a.map - b.map);
    const out: Buffer[] = new Array(ordered.length);
    let next = 0;
    let missing = false;
    const lane = async () => {
      for (let i = next++; i < ordered.length && !missing; i = next++) {
        const got = await this.fetchOne(job, part, ordered[i] as Source, signal);
        if (got) out[i] = got;
        else missing = true;
      }
    };
    await Promise.all(Array.from({ length: Math.min(FETCH_PARALLEL, ordered.length) }, lane));
    return missing ? null : out;
  }

  /** One map's partition from the first of its agreeing workers whose copy matches the agreed digest. */
  private async fetchOne(job: string, part: number, s: Source, signal: AbortSignal): Promise<Buffer | null> {
    for (const from of s.workers) {
      if (signal.aborted) return null;
      const data =
        from === this.ctx.spec.id ? await this.readLocal(job, s.map, part) : await this.fetch(from, job, s.map, part);
      if (data && sha256(data) === s.digest) return data;
    }
    return null;
  }

  private async readLocal(job: string, map: number, part: number): Promise<Buffer | null> {
    return fs.readFile(path.join(this.jobDir(job), `m${map}`, `p${part}`)).catch(() => null);
  }

  private fetch(from: string, job: string, map: number, part: number): Promise<Buffer | null> {
    const req = this.nextReq;
    this.nextReq = (this.nextReq + 1) % 2 ** 31;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.fetches.delete(req);
        resolve(null);
      }, FETCH_TIMEOUT_MS);
      this.fetches.set(req, (r) => {
        clearTimeout(timer);
        this.fetches.delete(req);
        resolve(r.ok ? r.data : null);
      });
      if (!this.shuffle.send(from, encode({ t: 'fetch', req, job, map, part })))
        this.fetches.get(req)?.({ ok: false, data: Buffer.alloc(0) });
    });
  }

  private async fromWorker(from: string, buf: Buffer): Promise<void> {
    const m = decode(buf, WorkerToWorker);
    if (!m) {
      this.dropped.inc();
      return;
    }
    const h = m.header;
    if (h.t === 'data') {
      this.fetches.get(h.req)?.({ ok: h.ok, data: m.payload });
      return;
    }
    if (this.faults.mode === 'silent' || !SAFE_ID.test(h.job)) return;
    const data = await this.readLocal(h.job, h.map, h.part);
    if (this.faults.mode === 'slow') await new Promise((r) => setTimeout(r, SLOW_MODE_DELAY_MS));
    this.shuffle.send(from, encode({ t: 'data', req: h.req, ok: data !== null }, data ?? undefined));
  }
}

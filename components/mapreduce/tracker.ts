/**
 * The job tracker role: the thin shell around the scheduling and voting core (core.ts). It takes jobs from clients
 * (their job module and input chunks), feeds the core the events it sees with the time they happened (workers
 * connecting and leaving, task reports, ticks) and carries out the actions the core returns: task replicas sent to
 * workers, aborts, ended jobs written down. The tracker is trusted (TClouds D2.2.1, ch. 10): it computes the
 * digest of each reduce output it receives itself; a map output's digests come from the workers and are only
 * accepted once f+1 of them agree.
 *
 * Transports: workers dial the rpc port; clients (the component's client keys) dial the `http` port, which carries
 * the same authenticated transport (the plan's name for the client port).
 */
import { createHash, randomBytes } from 'node:crypto';
import path from 'node:path';
import type { RoleContext, RoleFactory, RoleInstance } from '../../runtime/role.js';
import { Transport } from '../../runtime/transport.js';
import { parseNodeConfig } from '../node-config.js';
import { MapReduceCode } from './codes.js';
import { JobTrackerConfigSchema } from './config.js';
import { type Action, SchedulerCore, type TaskKind } from './core.js';
import { errorVote, type JobMeta, type JobRecord, jobRecord } from './job-record.js';
import { JobStore } from './job-store.js';
import { TRACKER_TICK_MS, UPLOAD_IDLE_MS, WORKER_SLOTS } from './limits.js';
import { TrackerClients } from './tracker-clients.js';
import { decode, encode, type TrackerToWorkerMsg, WorkerToTracker, type WorkerToTrackerMsg } from './wire.js';

export interface LiveJob extends JobMeta {
  module: string;
  chunks: string[];
  received: Set<number>;
  timeoutMs: number;
  stragglerMs: number;
  memoryMb: number;
  started: boolean;
  /** When the client last sent part of it (a job left half uploaded is dropped UPLOAD_IDLE_MS later). */
  touchedAt: number;
}

export const jobTracker: RoleFactory = async (ctx: RoleContext): Promise<RoleInstance> => {
  const t = new Tracker(ctx);
  await t.start();
  return t;
};

export class Tracker implements RoleInstance {
  readonly config;
  readonly core = new SchedulerCore({ slots: WORKER_SLOTS });
  readonly store: JobStore;
  readonly live = new Map<string, LiveJob>();
  ended: JobRecord[] = [];
  private readonly rpc: Transport;
  private readonly clients: TrackerClients;
  private timer: NodeJS.Timeout | undefined;
  private readonly dropped;
  private jobSeq = 0;

  constructor(readonly ctx: RoleContext) {
    const { spec, metrics, log } = ctx;
    this.config = parseNodeConfig(JobTrackerConfigSchema, spec.config, {
      code: MapReduceCode.config,
      what: `job tracker ${spec.id}`,
    });
    this.store = new JobStore(path.join(spec.dataDir, 'jobs'));
    this.dropped = metrics.counter('tclouds_mapreduce_messages_dropped_total', 'Malformed messages dropped');
    const workers = spec.peers.filter((p) => p.role === 'worker');
    this.rpc = new Transport({
      name: 'rpc',
      stack: spec.stack,
      selfId: spec.id,
      privateKey: ctx.privateKey,
      listen: { host: spec.host, port: spec.ports.rpc as number },
      accept: (id) => workers.find((p) => p.id === id)?.publicKey,
      blocked: ctx.partitioned,
      metrics,
      log,
      onMessage: (from, buf) => this.fromWorker(from, buf),
      onDisconnect: (id) => this.act(() => this.core.workerDown(id, Date.now())),
    });
    this.clients = new TrackerClients(this);
  }

  async start(): Promise<void> {
    this.ended = await this.store.load();
    await this.rpc.start();
    await this.clients.start();
    this.timer = setInterval(() => {
      this.act(() => this.core.tick(Date.now()));
      this.dropAbandonedUploads(Date.now());
    }, TRACKER_TICK_MS);
    this.ctx.log.info('job tracker started', {
      f: this.config.f,
      workers: this.config.workers,
      jobs: this.ended.length,
    });
  }

  health(): Record<string, unknown> {
    return {
      trusted: true,
      workersConnected: this.rpc.connectedCount,
      jobsRunning: [...this.live.values()].filter((j) => j.started).length,
      jobsEnded: this.ended.length,
    };
  }

  async admin(action: string): Promise<unknown> {
    if (action !== 'fault') return undefined;
    throw new Error('the job tracker is assumed correct (TClouds D2.2.1, ch. 10): it has no misbehaviour modes');
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await Promise.all([this.rpc.close(), this.clients.close()]);
  }

  /** Jobs whose client stopped uploading would hold a running-job slot for ever. */
  private dropAbandonedUploads(now: number): void {
    for (const [id, job] of this.live) {
      if (job.started || now - job.touchedAt < UPLOAD_IDLE_MS) continue;
      this.live.delete(id);
      void this.store.remove(id);
      this.ctx.log.warn('dropped a job its client stopped uploading', { job: id, chunks: job.received.size });
    }
  }

  newJobId(): string {
    this.jobSeq++;
    return `${Date.now().toString(36)}-${this.jobSeq}-${randomBytes(3).toString('hex')}`;
  }

  /** Runs one core event and carries out the actions it produced. */
  act(event: () => void): void {
    event();
    for (const a of this.core.drain()) void this.apply(a);
  }

  private async apply(a: Action): Promise<void> {
    const job = this.live.get(a.job);
    if (!job) return;
    if (a.t === 'abort')
      this.sendWorker(a.worker, { t: 'abort', job: a.job, task: a.task, index: a.index, attempt: a.attempt });
    else if (a.t === 'run') await this.runReplica(job, a.task, a.index, a.attempt, a.worker);
    else await this.finish(job);
  }

  private sendWorker(worker: string, msg: TrackerToWorkerMsg, payload?: Uint8Array): void {
    this.rpc.send(worker, encode(msg, payload));
  }

  private async runReplica(
    job: LiveJob,
    task: TaskKind,
    index: number,
    attempt: number,
    worker: string,
  ): Promise<void> {
    const common = {
      t: 'run' as const,
      job: job.id,
      task,
      index,
      attempt,
      reducers: job.reducers,
      module: job.module,
      timeoutMs: job.timeoutMs,
      memoryMb: job.memoryMb,
    };
    if (task === 'map') {
      const data = await this.store.readChunk(job.id, index);
      this.sendWorker(worker, { ...common, input: job.chunks[index] ?? `chunk:${index}` }, data);
      return;
    }
    const cj = this.core.jobs.get(job.id);
    const sources = (cj?.maps ?? []).map((m) => ({
      map: m.index,
      digest: (m.accepted ?? '').split(',')[index] ?? '',
      workers: m.agreeing,
    }));
    this.sendWorker(worker, { ...common, input: `reduce:${index}`, sources });
  }

  private async finish(job: LiveJob): Promise<void> {
    const cj = this.core.jobs.get(job.id);
    if (!cj) return;
    const rec = jobRecord(job, cj, 0);
    await this.store
      .finish(rec)
      .catch((e) => this.ctx.log.warn('job record not written', { job: job.id, error: String(e) }));
    for (const p of this.ctx.spec.peers) if (p.role === 'worker') this.sendWorker(p.id, { t: 'forget', job: job.id });
    this.live.delete(job.id);
    this.core.forget(job.id);
    this.ended.push(rec);
    const gone = new Set(await this.store.prune(this.ended));
    this.ended = this.ended.filter((r) => !gone.has(r.job));
    this.ctx.log.info('job ended', {
      job: job.id,
      state: rec.state,
      counters: rec.counters,
      disagreeing: rec.disagreeing,
    });
  }

  private fromWorker(from: string, buf: Buffer): void {
    const m = decode(buf, WorkerToTracker);
    if (!m) {
      this.dropped.inc();
      return;
    }
    const h = m.header;
    const now = Date.now();
    if (h.t === 'hello') {
      this.act(() => this.core.workerUp({ id: from, domain: `${h.cloud}/${h.domain}` }, now));
      return;
    }
    if (h.t === 'lost') {
      this.act(() => this.core.lost(h.job, h.task, h.index, h.attempt, from, now));
      return;
    }
    void this.done(from, h, m.payload, now);
  }

  /** A replica's report: its vote is the digests of its map partitions, its reduce output's digest, or its error. */
  private async done(from: string, h: Extract<WorkerToTrackerMsg, { t: 'done' }>, payload: Buffer, now: number) {
    const job = this.live.get(h.job);
    const task = (h.task === 'map' ? this.core.jobs.get(h.job)?.maps : this.core.jobs.get(h.job)?.reduces)?.[h.index];
    const replica = task?.replicas.find((r) => r.attempt === h.attempt);
    // Only the worker a replica was given to may report it, once (a report of another is ignored, not stored).
    if (!job || replica?.worker !== from || replica.state !== 'running') return;
    let vote: string;
    if (h.error) vote = errorVote(h.error);
    else if (h.task === 'map') vote = h.digests.length === job.reducers ? h.digests.join(',') : 'malformed';
    else {
      vote = createHash('sha256').update(payload).digest('hex');
      await this.store.writeOutput(h.job, h.index, h.attempt, payload);
    }
    this.act(() => this.core.report(h.job, h.task, h.index, h.attempt, from, vote, now));
  }
}

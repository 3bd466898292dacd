/**
 * The job tracker role: the thin shell around the scheduling and voting core (core.ts). It takes jobs from clients
 * (their job module and input chunks), feeds the core the events it sees with the time they happened (workers
 * connecting and leaving, task reports, ticks) and carries out the actions the core returns: task replicas sent to
 * workers, aborts, ended jobs written down. The tracker is trusted (TClouds D2.2.1, ch. 10): it computes the
 * digest of each reduce output it receives itself; a map output's digests come from the workers and are only
 * accepted once f+1 of them agree.
 *
 * Crash recovery: every core input is written ahead to the journal (tracker-journal.ts) and each job's files are
 * fsynced (job-store.ts), so a tracker killed at any point comes back with the same scheduling state. Workers
 * re-dial, say hello and re-send the reports they kept; the tracker re-sends them the replicas they should be
 * running (a worker ignores one it has, and answers one it finished with its kept report). Workers that do not come
 * back within TRACKER_RECONNECT_GRACE_MS are declared down and their replicas replaced.
 *
 * Transports: workers dial the rpc port; clients (the component's client keys) dial the `http` port, which carries
 * the same authenticated transport (the plan's name for the client port).
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { RoleContext, RoleFactory, RoleInstance } from '../../runtime/role.js';
import { Transport } from '../../runtime/transport.js';
import { parseNodeConfig } from '../node-config.js';
import { MapReduceCode } from './codes.js';
import { JobTrackerConfigSchema } from './config.js';
import { type Action, SchedulerCore, type TaskKind } from './core.js';
import { applyInput, type CoreInput } from './core-input.js';
import { errorVote, type JobMeta, type JobRecord, jobRecord } from './job-record.js';
import { JobStore } from './job-store.js';
import {
  REPLICATED_POLL_MS,
  REPLICATED_SUBMIT_TIMEOUT_MS,
  REPLICATED_TICK_MS,
  TRACKER_RECONNECT_GRACE_MS,
  TRACKER_TICK_MS,
  UPLOAD_IDLE_MS,
  WORKER_SLOTS,
} from './limits.js';
import { TrackerClients } from './tracker-clients.js';
import { TrackerJournal } from './tracker-journal.js';
import { ReplicatedTracker } from './tracker-replicated.js';
import type { TrackerOp } from './tracker-service.js';
import { decode, encode, type TrackerToWorkerMsg, WorkerToTracker, type WorkerToTrackerMsg } from './wire.js';

const sha256 = (b: string | Uint8Array) => createHash('sha256').update(b).digest('hex');

export interface LiveJob extends JobMeta {
  module: string;
  chunks: string[];
  received: Set<number>;
  /** sha256 of each chunk received (a replicated tracker endorses a submit only for the same content). */
  digests: string[];
  timeoutMs: number;
  stragglerMs: number;
  memoryMb: number;
  tentative?: boolean;
  started: boolean;
  /** Background syncs of the chunks of a job started early, awaited when its last chunk arrives. */
  syncs?: Promise<void>[];
  /** When the client last sent part of it (a job left half uploaded is dropped UPLOAD_IDLE_MS later). */
  touchedAt: number;
}

/** What a submit endorses beyond the core input: the job's name, its module's digest, a digest of all its content. */
type SubmittedJob = { name: string; replicated: boolean; content: string; module: string };

export const jobTracker: RoleFactory = async (ctx: RoleContext): Promise<RoleInstance> => {
  const t = new Tracker(ctx);
  await t.start();
  return t;
};

export class Tracker implements RoleInstance {
  readonly config;
  private localCore = new SchedulerCore({ slots: WORKER_SLOTS });
  private localEnded: JobRecord[] = [];
  readonly store: JobStore;
  private readonly journal: TrackerJournal;
  /** Set with `jobTracker: replicated`: the scheduling state is an SMR service, this node one of its replicas. */
  readonly replicated: ReplicatedTracker | undefined;
  /** A replicated tracker's misbehaviour switch (chaos byzantine): `wrong-output` endorses and sends lies. */
  lying = false;
  private started = false;
  private grace: NodeJS.Timeout | undefined;
  readonly live = new Map<string, LiveJob>();
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
    this.journal = new TrackerJournal(path.join(spec.dataDir, 'jobs'), log);
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
      onDisconnect: (id) => this.act({ t: 'down', worker: id, now: Date.now() }),
    });
    this.clients = new TrackerClients(this);
    if (this.config.replicated) {
      this.replicated = new ReplicatedTracker(ctx, this.config.f, (actions) => {
        if (this.started) for (const a of actions) this.applySafely(a);
      });
    }
  }

  /** The scheduling core: this tracker's own, or its replica's copy of the replicated one. */
  get core(): SchedulerCore {
    return this.replicated?.service.core ?? this.localCore;
  }

  get ended(): JobRecord[] {
    return this.replicated?.service.ended ?? this.localEnded;
  }

  async start(): Promise<void> {
    await mkdir(path.join(this.ctx.spec.dataDir, 'jobs'), { recursive: true });
    let replayed = 0;
    if (this.replicated) {
      await this.replicated.start();
      await this.store.load(new Set(this.core.jobs.keys()));
    } else {
      const opened = this.journal.open({ slots: WORKER_SLOTS });
      this.localCore = opened.core;
      replayed = opened.replayed;
      this.localEnded = await this.store.load(new Set(this.core.jobs.keys()));
    }
    const resumed = await this.resumeJobs();
    this.started = true;
    await this.rpc.start();
    await this.clients.start();
    this.timer = setInterval(
      () => {
        this.act({ t: 'tick', now: Date.now() });
        this.dropAbandonedUploads(Date.now());
      },
      this.replicated ? REPLICATED_TICK_MS : TRACKER_TICK_MS,
    );
    // Workers the core counts alive were connected to the tracker that stopped: they get time to come back.
    this.grace = setTimeout(() => {
      const known = this.ctx.spec.peers.filter((p) => p.role === 'worker').map((p) => p.id);
      for (const w of this.replicated ? known : this.core.aliveWorkers())
        if (!this.rpc.isConnected(w)) this.act({ t: 'down', worker: w, now: Date.now() });
    }, TRACKER_RECONNECT_GRACE_MS);
    this.ctx.log.info('job tracker started', {
      f: this.config.f,
      workers: this.config.workers,
      mode: this.replicated ? 'replicated' : 'single',
      jobs: this.ended.length,
      resumed,
      replayed,
    });
  }

  /** The jobs the journal holds: running ones are live again, ended ones without a record are finished now. */
  private async resumeJobs(): Promise<number> {
    let resumed = 0;
    for (const [id, cj] of [...this.core.jobs]) {
      const meta = await this.store.readMeta(id);
      const rec = this.ended.some((r) => r.job === id);
      if (this.replicated) {
        // The replicated state carries on without this replica's files: it cannot serve this job's chunks.
        if (meta)
          this.live.set(id, {
            ...meta,
            moduleDigest: sha256(meta.module),
            received: new Set(meta.chunks.keys()),
            digests: [],
            started: true,
            touchedAt: 0,
          });
        continue;
      }
      if (!meta || rec) {
        // No meta: damage from outside (it is written before the journal hears of the job); it cannot run on.
        if (!meta && !rec) this.ctx.log.warn('a journalled job has no meta.json; dropped', { job: id });
        if (cj.state === 'running') this.act({ t: 'cancel', job: id, now: Date.now() });
        this.act({ t: 'forget', job: id });
        continue;
      }
      // A job started before its upload ended has only the chunks the core heard of: its client is gone, so it is
      // cancelled.
      const awaiting = new Set(cj.awaitingInput);
      const received = new Set([...meta.chunks.keys()].filter((i) => !awaiting.has(i)));
      const job: LiveJob = {
        ...meta,
        moduleDigest: sha256(meta.module),
        received,
        digests: [],
        started: true,
        touchedAt: Date.now(),
      };
      this.live.set(id, job);
      if (cj.state === 'running' && awaiting.size > 0) {
        this.ctx.log.warn('a job started before its upload ended lost its client; cancelled', { job: id });
        this.act({ t: 'cancel', job: id, now: Date.now() });
      } else if (cj.state === 'running') resumed++;
      else await this.finish(job);
    }
    return resumed;
  }

  health(): Record<string, unknown> {
    return {
      ...(this.replicated?.health() ?? {}),
      trusted: !this.replicated,
      mode: this.replicated ? 'replicated' : 'single',
      ...(this.lying ? { fault: 'wrong-output' } : {}),
      workersConnected: this.rpc.connectedCount,
      jobsRunning: [...this.live.values()].filter((j) => j.started).length,
      jobsEnded: this.ended.length,
    };
  }

  async admin(action: string, body: unknown): Promise<unknown> {
    if (action !== 'fault') return undefined;
    if (!this.replicated || this.config.faultInjection !== true)
      throw new Error('the job tracker is assumed correct (TClouds D2.2.1, ch. 10): it has no misbehaviour modes');
    const mode = (body as { mode?: unknown } | null)?.mode;
    this.lying = mode === 'wrong-output';
    this.ctx.log.warn('fault mode changed', { mode: this.lying ? 'wrong-output' : 'none' });
    return { fault: this.lying ? 'wrong-output' : 'none' };
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    clearTimeout(this.grace);
    await Promise.all([this.rpc.close(), this.clients.close()]);
    await this.replicated?.stop();
    await this.journal.close();
  }

  /** Jobs whose client stopped uploading would hold a running-job slot for ever (one started early is cancelled). */
  private dropAbandonedUploads(now: number): void {
    for (const [id, job] of this.live) {
      if (now - job.touchedAt < UPLOAD_IDLE_MS) continue;
      if (job.started) {
        if (job.received.size >= job.chunks.length || this.replicated) continue;
        this.ctx.log.warn('cancelled a job its client stopped uploading', { job: id, chunks: job.received.size });
        job.touchedAt = now;
        this.act({ t: 'cancel', job: id, now });
        continue;
      }
      this.live.delete(id);
      void this.store.remove(id);
      this.ctx.log.warn('dropped a job its client stopped uploading', { job: id, chunks: job.received.size });
    }
  }

  newJobId(): string {
    this.jobSeq++;
    return `${Date.now().toString(36)}-${this.jobSeq}-${randomBytes(3).toString('hex')}`;
  }

  /**
   * Runs one core input, writes it ahead to the journal and carries out the actions it produced once it is durable
   * (the promise settles then; a client's request is answered after it). A tick that changed nothing is not written
   * (replaying the others gives the same core); its actions, if any, wait behind the inputs written before it, so
   * actions always leave in the order the core produced them.
   */
  act(input: CoreInput, job?: SubmittedJob): Promise<void> {
    if (this.replicated) {
      this.replicated.submit(replicatedOp(input, job, this.lying));
      return Promise.resolve();
    }
    const before = this.core.mutations;
    applyInput(this.core, input);
    const durable =
      input.t !== 'tick' || this.core.mutations !== before
        ? this.journal.append(input, this.core)
        : this.journal.durable();
    const actions = this.core.drain();
    const done = durable.then(() => {
      for (const a of actions) this.applySafely(a);
    });
    // The journal logged its failure; a caller that does not wait for this one must not crash the tracker with it.
    done.catch(() => {});
    return done;
  }

  /**
   * An action that cannot be carried out (an input chunk or output unreadable on this disk) cancels its job with
   * the reason logged: retrying it elsewhere would fail the same way, and the tracker keeps serving the other jobs.
   */
  private applySafely(a: Action): void {
    this.apply(a).catch((e: unknown) => {
      this.ctx.log.error('a job action failed on this tracker: the job is cancelled', {
        job: a.job,
        action: a.t,
        reason: e instanceof Error ? e.message : String(e),
      });
      if (this.live.has(a.job)) this.act({ t: 'cancel', job: a.job, now: Date.now() });
    });
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
    job.moduleDigest ??= sha256(job.module);
    // Replicated: the module digest is the one ordered with the job; a shell whose copy differs sends nothing.
    const agreed = this.replicated ? this.replicated.service.meta.get(job.id)?.moduleDigest : job.moduleDigest;
    if (agreed !== job.moduleDigest) {
      this.ctx.log.warn('this replica holds another job module than the agreed one: it sends no task of the job', {
        job: job.id,
      });
      return;
    }
    const common = {
      t: 'run' as const,
      job: job.id,
      task,
      index,
      attempt,
      reducers: job.reducers,
      // A lying replica (chaos) hands out another module under the agreed digest: workers drop it.
      module: this.lying ? `${job.module}\n// not the submitted job\n` : job.module,
      moduleDigest: agreed,
      timeoutMs: job.timeoutMs,
      memoryMb: job.memoryMb,
    };
    if (task === 'map') {
      const stored = await this.store.readChunk(job.id, index);
      // A copy to lie with: the stored chunk may be kept in memory for the next replica.
      const data = this.lying ? Buffer.from(stored).reverse() : stored;
      this.sendWorker(worker, { ...common, input: job.chunks[index] ?? `chunk:${index}` }, data);
      return;
    }
    const cj = this.core.jobs.get(job.id);
    // A tentative reduce reads the copies the core chose for it (first finished ones where no vote was taken yet).
    const basis = cj?.reduces[index]?.replicas.find((r) => r.attempt === attempt)?.basis;
    const sources = (cj?.maps ?? []).map((m) => ({
      map: m.index,
      digest: this.lying ? '0'.repeat(64) : ((basis?.[m.index]?.vote ?? m.accepted ?? '').split(',')[index] ?? ''),
      workers: basis?.[m.index]?.workers ?? m.agreeing,
    }));
    this.sendWorker(worker, { ...common, input: `reduce:${index}`, sources });
  }

  private async finish(job: LiveJob): Promise<void> {
    if (this.replicated) return this.finishReplicated(job);
    const cj = this.core.jobs.get(job.id);
    if (!cj) return;
    const rec = jobRecord(job, cj, 0);
    await this.store
      .finish(rec)
      .catch((e) => this.ctx.log.warn('job record not written', { job: job.id, error: String(e) }));
    for (const p of this.ctx.spec.peers) if (p.role === 'worker') this.sendWorker(p.id, { t: 'forget', job: job.id });
    this.live.delete(job.id);
    this.act({ t: 'forget', job: job.id });
    this.ended.push(rec);
    const gone = new Set(await this.store.prune(this.ended));
    this.localEnded = this.localEnded.filter((r) => !gone.has(r.job));
    this.ctx.log.info('job ended', {
      job: job.id,
      state: rec.state,
      counters: rec.counters,
      disagreeing: rec.disagreeing,
    });
  }

  /** The replicated state ended the job and holds its record: this replica drops its inputs and tells the workers. */
  private async finishReplicated(job: LiveJob): Promise<void> {
    const rec = this.ended.find((r) => r.job === job.id);
    this.live.delete(job.id);
    for (const p of this.ctx.spec.peers) if (p.role === 'worker') this.sendWorker(p.id, { t: 'forget', job: job.id });
    if (rec) await this.store.finish(rec).catch(() => {});
    await this.store.retain(new Set([...this.ended.map((r) => r.job), ...this.live.keys()]));
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
      const assigned = this.runningOn(from);
      this.act({ t: 'up', worker: from, domain: `${h.cloud}/${h.domain}`, now });
      // After a restart (or a lost connection) the worker may never have had them, or finished them unheard.
      for (const r of assigned) void this.runReplica(r.job, r.task, r.index, r.attempt, from);
      return;
    }
    if (h.t === 'lost') {
      this.act({ t: 'lost', job: h.job, kind: h.task, index: h.index, attempt: h.attempt, worker: from, now });
      return;
    }
    void this.done(from, h, m.payload, now);
  }

  /** Waits (bounded) until this replica's copy of the replicated state satisfies `ok`. */
  private async caughtUp(ok: () => boolean): Promise<void> {
    const deadline = Date.now() + REPLICATED_SUBMIT_TIMEOUT_MS;
    while (!ok() && Date.now() < deadline) await new Promise((r) => setTimeout(r, REPLICATED_POLL_MS));
  }

  /** The replicas of live jobs the core has running on `worker`. */
  private runningOn(worker: string): { job: LiveJob; task: TaskKind; index: number; attempt: number }[] {
    const out: { job: LiveJob; task: TaskKind; index: number; attempt: number }[] = [];
    for (const job of this.live.values()) {
      const cj = this.core.jobs.get(job.id);
      if (cj?.state !== 'running') continue;
      for (const t of [...cj.maps, ...cj.reduces])
        for (const r of t.replicas)
          if (r.worker === worker && r.state === 'running')
            out.push({ job, task: t.kind, index: t.index, attempt: r.attempt });
    }
    return out;
  }

  /** A replica's report: its vote is the digests of its map partitions, its reduce output's digest, or its error. */
  private async done(from: string, h: Extract<WorkerToTrackerMsg, { t: 'done' }>, payload: Buffer, now: number) {
    const job = this.live.get(h.job);
    const find = () =>
      (h.task === 'map' ? this.core.jobs.get(h.job)?.maps : this.core.jobs.get(h.job)?.reduces)?.[
        h.index
      ]?.replicas.find((r) => r.attempt === h.attempt);
    // A replicated tracker's copy of the state may be a step behind the run a worker reports: it catches up first.
    if (this.replicated && job && !find()) await this.caughtUp(() => find() !== undefined);
    const replica = find();
    // Only the worker a replica was given to may report it, once (a report of another is ignored, not stored).
    if (!job || replica?.worker !== from || replica.state !== 'running') return;
    let vote: string;
    if (h.error) vote = errorVote(h.error);
    else if (h.task === 'map') vote = h.digests.length === job.reducers ? h.digests.join(',') : 'malformed';
    else {
      vote = createHash('sha256').update(payload).digest('hex');
      await this.store.writeOutput(h.job, h.index, h.attempt, payload);
    }
    this.act({ t: 'report', job: h.job, kind: h.task, index: h.index, attempt: h.attempt, worker: from, vote, now });
  }
}

/**
 * What a replicated tracker's shell orders for a core input: worker connections as views, ticks as ticks (the SMR
 * gives the time), everything else as an endorsement. A lying shell (chaos) endorses reports with a vote of its own.
 */
function replicatedOp(input: CoreInput, job: SubmittedJob | undefined, lying: boolean): TrackerOp {
  if (input.t === 'up') return { t: 'view', worker: input.worker, up: true, domain: input.domain };
  if (input.t === 'down') return { t: 'view', worker: input.worker, up: false, domain: '' };
  if (input.t === 'tick' || input.t === 'forget') return { t: 'tick' };
  if (lying && input.t === 'report') return { t: 'endorse', input: { ...input, vote: 'f'.repeat(64) } };
  return { t: 'endorse', input, ...(job ? { job } : {}) };
}

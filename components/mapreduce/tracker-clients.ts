/**
 * The job tracker's client port: submit (job module and chunk list), chunk uploads, start, status, the replica
 * outputs a client votes on (result), cancel. Every request is checked (wire.ts schemas, then the bounds of
 * limits.ts) and answered; a malformed one is dropped and counted, and the tracker keeps serving.
 */
import { createHash } from 'node:crypto';
import { Transport } from '../../runtime/transport.js';
import { MapReduceCode } from './codes.js';
import { type JobRecord, jobRecord, REPLICATED_TRACKER_TRUST, TRACKER_TRUST } from './job-record.js';
import {
  MAX_CHUNK_BYTES,
  MAX_MAP_TASKS,
  MAX_MODULE_BYTES,
  MAX_RUNNING_JOBS,
  MAX_TASK_MEMORY_MB,
  MAX_TASK_TIMEOUT_MS,
  MIN_TASK_MEMORY_MB,
  MIN_TASK_TIMEOUT_MS,
  REPLICATED_POLL_MS,
  REPLICATED_SUBMIT_TIMEOUT_MS,
  REPORT_MARGIN_MS,
} from './limits.js';
import type { LiveJob, Tracker } from './tracker.js';
import { ClientRequest, type ClientRequestMsg, decode, encode } from './wire.js';

class RequestError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly hint?: string,
  ) {
    super(message);
  }
}

type Reply = { body: unknown; payload?: Uint8Array };

export class TrackerClients {
  private readonly transport: Transport;
  private readonly dropped;

  constructor(private readonly tracker: Tracker) {
    const { spec, metrics, log } = tracker.ctx;
    this.dropped = metrics.counter('tclouds_mapreduce_client_requests_dropped_total', 'Malformed client requests');
    this.transport = new Transport({
      name: 'client',
      stack: spec.stack,
      selfId: spec.id,
      privateKey: tracker.ctx.privateKey,
      listen: { host: spec.host, port: spec.ports.http as number },
      accept: (id) => spec.clients[id],
      blocked: tracker.ctx.partitioned,
      metrics,
      log,
      onMessage: (from, buf) => void this.onMessage(from, buf),
    });
  }

  start(): Promise<void> {
    return this.transport.start();
  }

  close(): Promise<void> {
    return this.transport.close();
  }

  /**
   * One client's requests are handled in the order they arrived, except that its chunk uploads overlap one another:
   * a chunk waits only for the requests before it that are not chunks, and any other request waits for every chunk
   * before it (so a chunk is written, and synced, before a later `start` of the same client counts the chunks, however
   * long the disk takes). The client keeps UPLOAD_WINDOW chunks in flight: their files are written side by side and
   * the journal commits their `input`s together, where one after the other each waited for the previous one's sync.
   */
  private readonly lanes = new Map<string, { ordered: Promise<void>; chunks: Set<Promise<void>>; pending: number }>();

  private onMessage(from: string, buf: Buffer): Promise<void> {
    const m = decode(buf, ClientRequest);
    if (!m) {
      this.dropped.inc();
      return Promise.resolve();
    }
    const lane = this.lanes.get(from) ?? { ordered: Promise.resolve(), chunks: new Set<Promise<void>>(), pending: 0 };
    this.lanes.set(from, lane);
    lane.pending++;
    // A failed request does not hold up the ones after it.
    const after = m.header.t === 'chunk' ? lane.ordered : Promise.all([lane.ordered, ...lane.chunks]);
    const next = after.catch(() => {}).then(() => this.handleMessage(from, m.header, m.payload));
    if (m.header.t === 'chunk') lane.chunks.add(next);
    else lane.ordered = next;
    return next.finally(() => {
      lane.chunks.delete(next);
      if (--lane.pending === 0) this.lanes.delete(from);
    });
  }

  private async handleMessage(from: string, header: ClientRequestMsg, payload: Buffer): Promise<void> {
    const req = header.req;
    try {
      const r = await this.handle(header, payload);
      this.transport.send(from, encode({ t: 'reply', req, ok: true, body: r.body }, r.payload));
    } catch (e) {
      const err =
        e instanceof RequestError
          ? { code: e.code, message: e.message, ...(e.hint ? { hint: e.hint } : {}) }
          : { code: MapReduceCode.unavailable, message: `the job tracker failed: ${(e as Error).message}` };
      this.transport.send(from, encode({ t: 'reply', req, ok: false, error: err }));
    }
  }

  private async handle(h: ClientRequestMsg, payload: Buffer): Promise<Reply> {
    switch (h.t) {
      case 'submit':
        return { body: await this.submit(h) };
      case 'chunk': {
        const job = this.uploading(h.job);
        if (h.index >= job.chunks.length)
          throw new RequestError(MapReduceCode.input, `chunk ${h.index} is past the job's ${job.chunks.length}`);
        if (payload.length > MAX_CHUNK_BYTES)
          throw new RequestError(MapReduceCode.input, `chunk ${h.index} is over ${MAX_CHUNK_BYTES} bytes`);
        // A started job's chunk is final once stored (its map may be running): a repeat is answered, not written.
        if (job.started && job.received.has(h.index)) return { body: { received: job.received.size } };
        await this.tracker.store.writeChunk(job.id, h.index, payload);
        job.received.add(h.index);
        // Only a replicated tracker endorses the content it received; a single one would hash every byte for nothing.
        if (this.tracker.replicated) job.digests[h.index] = createHash('sha256').update(payload).digest('hex');
        job.touchedAt = Date.now();
        if (job.started) await this.inputArrived(job, h.index);
        return { body: { received: job.received.size } };
      }
      case 'start':
        return { body: await this.startJob(this.pending(h.job)) };
      case 'status':
        return { body: h.job === undefined ? this.list() : this.record(h.job) };
      case 'result':
        return this.result(h.job, h.part, h.replica);
      case 'cancel':
        return { body: await this.cancel(h.job) };
    }
  }

  private async submit(h: Extract<ClientRequestMsg, { t: 'submit' }>): Promise<{ job: string }> {
    const bad = (what: string, hint?: string) => new RequestError(MapReduceCode.usage, what, hint);
    if (Buffer.byteLength(h.module) > MAX_MODULE_BYTES) throw bad(`the job module is over ${MAX_MODULE_BYTES} bytes`);
    if (h.chunks.length > MAX_MAP_TASKS)
      throw bad(`${h.chunks.length} input chunks is over ${MAX_MAP_TASKS}`, 'use larger chunks (--chunk-size)');
    if (h.timeoutMs < MIN_TASK_TIMEOUT_MS || h.timeoutMs > MAX_TASK_TIMEOUT_MS)
      throw bad(`task timeout must be ${MIN_TASK_TIMEOUT_MS}-${MAX_TASK_TIMEOUT_MS} ms`);
    if (h.memoryMb < MIN_TASK_MEMORY_MB || h.memoryMb > MAX_TASK_MEMORY_MB)
      throw bad(`task memory must be ${MIN_TASK_MEMORY_MB}-${MAX_TASK_MEMORY_MB} MiB`);
    if (this.tracker.live.size >= MAX_RUNNING_JOBS) {
      throw new RequestError(
        MapReduceCode.unavailable,
        `${MAX_RUNNING_JOBS} jobs are running or uploading already`,
        'wait for one to end, or cancel one',
      );
    }
    const { f } = this.tracker.config;
    // A replicated tracker's clients name the job themselves: every replica must know it by the same id.
    if (h.job !== undefined && (this.tracker.live.has(h.job) || this.tracker.ended.some((r) => r.job === h.job)))
      throw bad(`job ${h.job} exists already`);
    const job: LiveJob = {
      id: h.job ?? this.tracker.newJobId(),
      name: h.name,
      reducers: h.reducers,
      replicated: h.replicated,
      f: h.replicated ? f : 0,
      module: h.module,
      chunks: h.chunks,
      received: new Set(),
      digests: [],
      timeoutMs: h.timeoutMs,
      stragglerMs: h.stragglerMs,
      memoryMb: h.memoryMb,
      ...(h.tentative ? { tentative: true } : {}),
      started: false,
      touchedAt: Date.now(),
    };
    await this.tracker.store.create(job.id);
    this.tracker.live.set(job.id, job);
    return { job: job.id };
  }

  private pending(id: string): LiveJob {
    const job = this.tracker.live.get(id);
    if (!job) throw new RequestError(MapReduceCode.noJob, `no job ${id} is being submitted`);
    if (job.started) throw new RequestError(MapReduceCode.usage, `job ${id} has started already`);
    return job;
  }

  /**
   * A chunk of a job started early: its map task may now get replicas (the core schedules no map before its chunk is
   * here). The chunk is synced in the background (an fsync per chunk on the upload path was most of the upload's
   * time): a tracker restarting with any `input` of a job missing from its journal cancels the job, so the chunks
   * must be durable only before the last one's `input` is journalled, and that one waits for them all.
   */
  private async inputArrived(job: LiveJob, index: number): Promise<void> {
    const store = this.tracker.store;
    const synced = store.syncChunk(job.id, index);
    // Awaited by the last chunk's request, which fails if any of them failed.
    synced.catch(() => {});
    job.syncs = [...(job.syncs ?? []), synced];
    if (job.received.size === job.chunks.length) {
      try {
        await Promise.all(job.syncs);
        await store.syncInputDir(job.id);
      } catch (e) {
        // Not durable: the last chunk counts as not received (the client's retry writes it again, and no `input`
        // of it is journalled until then), and every chunk is synced again before that retry is answered.
        job.received.delete(index);
        job.syncs = [...job.received].map((i) => {
          const again = store.syncChunk(job.id, i);
          again.catch(() => {});
          return again;
        });
        throw e;
      }
      job.syncs = [];
    }
    await this.tracker.act({ t: 'input', job: job.id, index, now: Date.now() });
  }

  /**
   * A job whose chunks may still be sent: not started yet, or (single tracker) started early and still missing some.
   */
  private uploading(id: string): LiveJob {
    const job = this.tracker.live.get(id);
    if (job?.started && !this.tracker.replicated && job.received.size < job.chunks.length) return job;
    return this.pending(id);
  }

  /**
   * Starts a job. A single tracker starts it with chunks still to come (maps run as their chunk arrives, so the
   * upload overlaps the work); a replicated one only once every chunk is there, since its replicas endorse the job
   * with a digest of the whole content.
   */
  private async startJob(job: LiveJob): Promise<{ job: string }> {
    if (this.tracker.replicated && job.received.size !== job.chunks.length) {
      throw new RequestError(
        MapReduceCode.input,
        `job ${job.id} has ${job.received.size} of its ${job.chunks.length} chunks`,
      );
    }
    job.started = true;
    const { id, name, reducers, replicated, f, module, chunks, timeoutMs, stragglerMs, memoryMb } = job;
    const tentative = job.tentative === true;
    // On disk before the journal hears of the job: a restarted tracker needs both to resume it.
    await this.tracker.store.syncInputs(id, [...job.received]);
    await this.tracker.store.writeMeta({
      id,
      name,
      reducers,
      replicated,
      f,
      module,
      chunks,
      timeoutMs,
      stragglerMs,
      memoryMb,
      tentative,
    });
    // Replicated: the other replicas endorse the submit only if they got the very same module and chunks.
    const content = createHash('sha256').update(module).update(job.digests.join(',')).digest('hex');
    job.moduleDigest = createHash('sha256').update(module).digest('hex');
    const awaitingInput = [...chunks.keys()].filter((i) => !job.received.has(i));
    await this.tracker.act(
      {
        t: 'submit',
        job: id,
        f,
        maps: chunks.length,
        reduces: reducers,
        timeoutMs: timeoutMs + REPORT_MARGIN_MS,
        stragglerMs,
        ...(tentative ? { tentative: true } : {}),
        ...(awaitingInput.length > 0 ? { awaitingInput } : {}),
        now: Date.now(),
      },
      { name, replicated, content, module: job.moduleDigest },
    );
    // Replicated: answer once this replica's copy of the state has the job (f+1 shells endorsed it), so the
    // client's next status finds it.
    if (this.tracker.replicated) await this.until(() => this.tracker.core.jobs.has(id) || this.isEnded(id));
    return { job: id };
  }

  private get trust(): string {
    return this.tracker.replicated ? REPLICATED_TRACKER_TRUST : TRACKER_TRUST;
  }

  private isEnded(id: string): boolean {
    return this.tracker.ended.some((r) => r.job === id);
  }

  /** Waits for the replicated state to reach `done` (it changes as the SMR executes). */
  private async until(done: () => boolean): Promise<void> {
    const deadline = Date.now() + REPLICATED_SUBMIT_TIMEOUT_MS;
    while (!done()) {
      if (Date.now() > deadline)
        throw new RequestError(MapReduceCode.unavailable, 'the tracker replicas did not order the job in time');
      await new Promise((r) => setTimeout(r, REPLICATED_POLL_MS));
    }
  }

  /** The record of a job, live or ended. */
  private record(id: string): JobRecord {
    const live = this.tracker.live.get(id);
    const cj = this.tracker.core.jobs.get(id);
    if (live && cj) return jobRecord(live, cj, 0, this.trust);
    const rec = this.tracker.ended.find((r) => r.job === id);
    if (live && !rec) throw new RequestError(MapReduceCode.notFinished, `job ${id} is still being submitted`);
    if (!rec)
      throw new RequestError(
        MapReduceCode.noJob,
        `the job tracker has no job ${id}`,
        'list jobs with `tclouds mapreduce ls`',
      );
    return rec;
  }

  private list(): { jobs: Array<Omit<JobRecord, 'taskDetail'>> } {
    const all: JobRecord[] = [...this.tracker.ended];
    for (const [id, live] of this.tracker.live) {
      const cj = this.tracker.core.jobs.get(id);
      if (cj) all.push(jobRecord(live, cj, 0, this.trust));
    }
    return { jobs: all.map(({ taskDetail: _, ...r }) => r) };
  }

  /** The output of one done replica of a reduce task, for the client's vote. */
  private async result(id: string, part: number, replica: number): Promise<Reply> {
    const rec = this.record(id);
    if (rec.state !== 'done') {
      throw new RequestError(
        MapReduceCode.notFinished,
        `job ${id} is ${rec.state}`,
        rec.failure?.message ?? 'wait for it: `tclouds mapreduce status`',
      );
    }
    const task = rec.taskDetail.find((t) => t.task === `reduce-${part}`);
    if (!task) throw new RequestError(MapReduceCode.usage, `job ${id} has no reduce task ${part}`);
    const done = task.replicas.filter((r) => r.state === 'done');
    const r = done[replica];
    if (!r) throw new RequestError(MapReduceCode.usage, `reduce-${part} has ${done.length} finished replicas`);
    const data = await this.tracker.store.readOutput(id, part, r.attempt);
    if (!data) throw new RequestError(MapReduceCode.noJob, `the output of reduce-${part} attempt ${r.attempt} is gone`);
    return { body: { worker: r.worker, attempt: r.attempt, replicas: done.length }, payload: data };
  }

  private async cancel(id: string): Promise<{ job: string; state: string }> {
    const live = this.tracker.live.get(id);
    if (!live) {
      const rec = this.record(id);
      return { job: id, state: rec.state };
    }
    if (!live.started) {
      this.tracker.live.delete(id);
      void this.tracker.store.remove(id);
      return { job: id, state: 'cancelled' };
    }
    await this.tracker.act({ t: 'cancel', job: id, now: Date.now() });
    return { job: id, state: 'cancelled' };
  }
}

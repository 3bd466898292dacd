/**
 * The job tracker's scheduling and voting core (TClouds D2.2.1, ch. 10): pure, no I/O, clock or randomness. The
 * tracker shell (tracker.ts) feeds it events with the time they happened at and carries out the actions it returns;
 * the simulation tests (test/mapreduce/core-sim.test.ts) drive it the same way over many seeds.
 *
 * Rules it implements:
 *   - every map and reduce task starts with f+1 replicas on distinct workers, in distinct fault domains where the
 *     pool allows;
 *   - a task's output is accepted once f+1 replicas report the same vote (the digests of their outputs); the reduce
 *     tasks then fetch one full copy from an agreeing worker and check it against the agreed digest;
 *   - on a mismatch, or when a replica is overdue (task timeout, or a straggler once a peer replica finished), one
 *     more replica starts, up to 2f+1 in all; replicas lost with a dying worker are replaced without counting;
 *   - reduce tasks start once every map task is accepted; with tentative execution (an option of the job) once every
 *     map task has a first finished replica, on those first copies: a reduce replica's output counts only when every
 *     map copy it used turned out to be the accepted one, and a replica that used a copy the vote rejected is
 *     aborted (or its output dropped) and replaced (`tentativeRestarts`);
 *   - f+1 replicas agreeing on an error (the job module threw at the same record) fail the job with that error; 2f+1
 *     replicas without f+1 agreeing fail it as non-deterministic (or more than f faulty workers).
 * Fault-free, nothing is ever overdue or mismatched, so exactly f+1 replicas run per task (counters show it).
 */
import { MAX_LOST_RESTARTS, STRAGGLER_FACTOR } from './limits.js';

export type TaskKind = 'map' | 'reduce';
export type ReplicaState = 'running' | 'done' | 'lost' | 'aborted';
export type JobState = 'running' | 'done' | 'failed' | 'cancelled';

export interface CoreWorker {
  id: string;
  /** Fault domain, e.g. `<cloud>/<domain>`: replicas of one task prefer distinct ones. */
  domain: string;
}

export interface Replica {
  worker: string;
  attempt: number;
  state: ReplicaState;
  startedAt: number;
  finishedAt: number | null;
  vote: string | null;
  /** Counted as overdue once (a timeout or straggler start was made for it). */
  suspected: boolean;
  /**
   * A reduce replica of a tentative job: per map task, the vote of the copy it reads and the workers holding it
   * (the accepted one, or the first that finished). Null for map replicas and non-tentative jobs.
   */
  basis: Array<{ vote: string; workers: string[] }> | null;
}

export interface Task {
  kind: TaskKind;
  index: number;
  replicas: Replica[];
  /** The vote f+1 replicas agreed on, or null while open. */
  accepted: string | null;
  /** Workers whose replicas reported the accepted vote (the sources of its output). */
  agreeing: string[];
}

/** Why a worker is named in a job record. */
export interface Suspect {
  task: string;
  worker: string;
  reason: 'mismatch' | 'timeout';
}

export interface JobCounters {
  mapReplicas: number;
  reduceReplicas: number;
  mismatches: number;
  timeouts: number;
  lost: number;
  /** Reduce replicas of a tentative job restarted because a map copy they used lost the vote. */
  tentativeRestarts: number;
}

export interface CoreJob {
  id: string;
  state: JobState;
  replication: JobReplication;
  maps: Task[];
  reduces: Task[];
  timeoutMs: number;
  stragglerMs: number;
  /** Reduces start on the first copy of each map output (and restart when the vote disagrees). */
  tentative: boolean;
  /**
   * Map tasks whose input chunk has not reached the tracker yet (a job started while its upload goes on): they get
   * replicas once it has (`inputArrived`), so no replica's clock runs while its input is still on the way.
   */
  awaitingInput?: number[];
  counters: JobCounters;
  suspects: Suspect[];
  /** Why the job failed: the agreed error vote or the task that never got f+1 agreeing replicas. */
  failure: { task: string; vote: string | null; reason: 'error' | 'no-agreement' } | null;
  submittedAt: number;
  finishedAt: number | null;
}

export type Action =
  | { t: 'run'; job: string; task: TaskKind; index: number; attempt: number; worker: string }
  | { t: 'abort'; job: string; task: TaskKind; index: number; attempt: number; worker: string }
  | { t: 'finished'; job: string; state: JobState };

export interface CoreConfig {
  /** Tasks one worker runs at once. */
  slots: number;
}

/** How one job is replicated: f+1 replicas per task to start with, at most `maxReplicas` (2f+1). */
export interface JobReplication {
  f: number;
  maxReplicas: number;
}

export const taskName = (kind: TaskKind, index: number): string => `${kind}-${index}`;
/** Votes that start with this are errors the job module raised (`error:<kind>:<record>`). */
export const ERROR_VOTE = 'error:';

/** Everything the core holds, as plain JSON (the tracker persists it; a restore gives back the same core). */
export interface CoreSnapshot {
  jobs: CoreJob[];
  workers: CoreWorker[];
  alive: string[];
}

export class SchedulerCore {
  readonly jobs = new Map<string, CoreJob>();
  private readonly workers: CoreWorker[] = [];
  private readonly alive = new Set<string>();
  private actions: Action[] = [];
  /**
   * Counts every change a tick can make (a replica started or suspected, a job ended): a tick that leaves it
   * unchanged changed nothing, so a shell that logs the core's inputs need not log it.
   */
  mutations = 0;

  constructor(readonly config: CoreConfig) {}

  snapshot(): CoreSnapshot {
    const copy = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;
    return { jobs: copy([...this.jobs.values()]), workers: copy(this.workers), alive: [...this.alive] };
  }

  static restore(config: CoreConfig, snap: CoreSnapshot): SchedulerCore {
    const core = new SchedulerCore(config);
    for (const j of snap.jobs) core.jobs.set(j.id, JSON.parse(JSON.stringify(j)) as CoreJob);
    core.workers.push(...snap.workers.map((w) => ({ ...w })));
    for (const id of snap.alive) core.alive.add(id);
    return core;
  }

  /** Workers the core counts as alive (a restarted shell declares down those that do not come back). */
  aliveWorkers(): string[] {
    return [...this.alive];
  }

  /** The actions of the events since the last call, in order. */
  drain(): Action[] {
    const out = this.actions;
    this.actions = [];
    return out;
  }

  workerUp(w: CoreWorker, now: number): void {
    if (!this.workers.some((x) => x.id === w.id)) this.workers.push(w);
    this.alive.add(w.id);
    this.schedule(now);
  }

  /** A worker died or disconnected: its running replicas are lost and replaced; outputs only it held reopen maps. */
  workerDown(id: string, now: number): void {
    if (!this.alive.delete(id)) return;
    for (const job of this.running()) {
      for (const t of [...job.maps, ...job.reduces]) {
        for (const r of t.replicas) {
          if (r.worker !== id || r.state !== 'running') continue;
          r.state = 'lost';
          job.counters.lost++;
        }
      }
      this.reopenOrphanedMaps(job);
    }
    this.schedule(now);
  }

  submit(
    id: string,
    replication: JobReplication,
    tasks: { maps: number; reduces: number },
    times: { timeoutMs: number; stragglerMs: number },
    now: number,
    options: { tentative?: boolean; awaitingInput?: number[] } = {},
  ): void {
    const { maps, reduces } = tasks;
    const task = (kind: TaskKind, index: number): Task => ({ kind, index, replicas: [], accepted: null, agreeing: [] });
    this.jobs.set(id, {
      id,
      state: 'running',
      replication,
      maps: Array.from({ length: maps }, (_, i) => task('map', i)),
      reduces: Array.from({ length: reduces }, (_, i) => task('reduce', i)),
      ...times,
      tentative: options.tentative === true,
      ...(options.awaitingInput?.length
        ? { awaitingInput: [...new Set(options.awaitingInput)].sort((a, b) => a - b) }
        : {}),
      counters: { mapReplicas: 0, reduceReplicas: 0, mismatches: 0, timeouts: 0, lost: 0, tentativeRestarts: 0 },
      suspects: [],
      failure: null,
      submittedAt: now,
      finishedAt: null,
    });
    this.schedule(now);
  }

  /**
   * A replica finished with `vote` (its output digests, or an error vote). `lost` says it could not run for a reason
   * that is not the job's (its inputs could not be fetched): it is replaced like a replica of a dying worker.
   * Reports of unknown jobs, tasks or attempts, or from another worker than the one that ran it, are ignored.
   */
  report(job: string, kind: TaskKind, index: number, attempt: number, worker: string, vote: string, now: number): void {
    this.finishReplica(job, kind, index, attempt, worker, now, (j, t, r) => {
      r.state = 'done';
      r.vote = vote;
      if (t.accepted !== null) {
        if (vote !== t.accepted) this.suspect(j, t, r.worker, 'mismatch');
        return;
      }
      this.vote(j, t, now);
    });
  }

  lost(job: string, kind: TaskKind, index: number, attempt: number, worker: string, now: number): void {
    this.finishReplica(job, kind, index, attempt, worker, now, (j, _t, r) => {
      r.state = 'lost';
      j.counters.lost++;
    });
  }

  /** The input chunk of map task `index` reached the tracker: the task may get replicas. */
  inputArrived(id: string, index: number, now: number): void {
    const job = this.jobs.get(id);
    if (job?.state !== 'running' || !job.awaitingInput?.includes(index)) return;
    job.awaitingInput = job.awaitingInput.filter((i) => i !== index);
    if (job.awaitingInput.length === 0) delete job.awaitingInput;
    this.mutations++;
    this.schedule(now);
  }

  tick(now: number): void {
    this.schedule(now);
  }

  cancel(id: string, now: number): boolean {
    const job = this.jobs.get(id);
    if (job?.state !== 'running') return false;
    this.end(job, 'cancelled', now);
    return true;
  }

  /** Forget a finished job (the shell keeps its record on disk). */
  forget(id: string): void {
    if (this.jobs.get(id)?.state !== 'running') this.jobs.delete(id);
  }

  private finishReplica(
    jobId: string,
    kind: TaskKind,
    index: number,
    attempt: number,
    worker: string,
    now: number,
    apply: (j: CoreJob, t: Task, r: Replica) => void,
  ): void {
    const job = this.jobs.get(jobId);
    if (job?.state !== 'running') return;
    const t = (kind === 'map' ? job.maps : job.reduces)[index];
    const r = t?.replicas.find((x) => x.attempt === attempt);
    if (!t || !r || r.worker !== worker || r.state !== 'running') return;
    r.finishedAt = now;
    apply(job, t, r);
    this.schedule(now);
  }

  /** Counts the votes of a task's finished replicas; accepts, or fails the job when no agreement is possible. */
  private vote(job: CoreJob, t: Task, now: number): void {
    const { f, maxReplicas } = job.replication;
    const counts = tally(job, t);
    for (const [vote, n] of counts) {
      if (n < f + 1) continue;
      t.accepted = vote;
      t.agreeing = t.replicas
        .filter((r) => r.state === 'done' && r.vote === vote && confirmed(job, r))
        .map((r) => r.worker);
      for (const r of t.replicas) {
        if (r.state === 'done' && r.vote !== vote && confirmed(job, r)) this.suspect(job, t, r.worker, 'mismatch');
        if (r.state === 'running') {
          r.state = 'aborted';
          this.abortAction(job, t, r);
        }
      }
      if (vote.startsWith(ERROR_VOTE)) {
        job.failure = { task: taskName(t.kind, t.index), vote, reason: 'error' };
        this.end(job, 'failed', now);
      } else if (t.kind === 'map' && job.tentative) {
        this.settleTentative(job, t, now);
      } else if (job.maps.every((m) => m.accepted !== null) && job.reduces.every((x) => x.accepted !== null)) {
        this.end(job, 'done', now);
      }
      return;
    }
    if (counts.size > 1 && !t.replicas.some((r) => r.state === 'running')) job.counters.mismatches++;
    const counted = t.replicas.filter((r) => r.state === 'done' || r.state === 'running').length;
    const waiting = t.replicas.some((r) => r.state === 'running' || (r.state === 'done' && !confirmed(job, r)));
    if (counted >= maxReplicas && !waiting) {
      for (const r of t.replicas) if (r.state === 'done') this.suspect(job, t, r.worker, 'mismatch');
      job.failure = { task: taskName(t.kind, t.index), vote: null, reason: 'no-agreement' };
      this.end(job, 'failed', now);
    }
  }

  /**
   * A map output was accepted in a tentative job: reduce replicas that read another copy of it are aborted (or
   * their output dropped) and will be replaced; the others may now count, so each open reduce is voted again.
   */
  private settleTentative(job: CoreJob, map: Task, now: number): void {
    for (const t of job.reduces) {
      for (const r of t.replicas) {
        const used = r.basis?.[map.index]?.vote;
        if (used === undefined || used === map.accepted || (r.state !== 'running' && r.state !== 'done')) continue;
        if (r.state === 'running') this.abortAction(job, t, r);
        r.state = 'aborted';
        job.counters.tentativeRestarts++;
        this.mutations++;
      }
    }
    if (job.maps.every((m) => m.accepted !== null))
      for (const t of job.reduces) if (t.accepted === null && job.state === 'running') this.vote(job, t, now);
  }

  /** Tell the worker running replica `r` of task `t` to stop it. */
  private abortAction(job: CoreJob, t: Task, r: Replica): void {
    this.actions.push({ t: 'abort', job: job.id, task: t.kind, index: t.index, attempt: r.attempt, worker: r.worker });
  }

  private suspect(job: CoreJob, t: Task, worker: string, reason: Suspect['reason']): void {
    const task = taskName(t.kind, t.index);
    if (job.suspects.some((s) => s.task === task && s.worker === worker && s.reason === reason)) return;
    job.suspects.push({ task, worker, reason });
    if (reason === 'timeout') job.counters.timeouts++;
    this.mutations++;
  }

  private end(job: CoreJob, state: JobState, now: number): void {
    this.mutations++;
    job.state = state;
    job.finishedAt = now;
    for (const t of [...job.maps, ...job.reduces]) {
      for (const r of t.replicas) {
        if (r.state !== 'running') continue;
        r.state = 'aborted';
        this.abortAction(job, t, r);
      }
    }
    this.actions.push({ t: 'finished', job: job.id, state });
  }

  private running(): CoreJob[] {
    return [...this.jobs.values()].filter((j) => j.state === 'running');
  }

  /** An accepted map output none of whose agreeing workers is alive must be computed again while reduces need it. */
  private reopenOrphanedMaps(job: CoreJob): void {
    if (job.reduces.every((t) => t.accepted !== null)) return;
    for (const t of job.maps) {
      if (t.accepted === null || t.agreeing.some((w) => this.alive.has(w))) continue;
      t.accepted = null;
      t.agreeing = [];
      for (const r of t.replicas) if (r.state === 'done') r.state = 'lost';
    }
    // Reduces already running on outputs that are gone will report lost when their fetch fails.
  }

  /** Starts the replicas every open task wants, on free workers; tasks that already started come first. */
  private schedule(now: number): void {
    const busy = new Map<string, number>();
    for (const job of this.running()) {
      for (const t of [...job.maps, ...job.reduces]) {
        for (const r of t.replicas) if (r.state === 'running') busy.set(r.worker, (busy.get(r.worker) ?? 0) + 1);
      }
    }
    for (const pass of [true, false]) {
      for (const job of this.running()) {
        const mapsDone = job.maps.every((t) => t.accepted !== null);
        const early = !mapsDone && job.tentative && job.maps.every((t) => t.accepted !== null || firstCopy(t));
        const awaiting = new Set(job.awaitingInput);
        for (const t of mapsDone ? job.reduces : early ? [...job.maps, ...job.reduces] : job.maps) {
          if (t.accepted !== null || t.replicas.length > 0 !== pass) continue;
          if (t.kind === 'map' && awaiting.has(t.index)) continue;
          let want = this.wanted(job, t, now);
          if (job.state !== 'running') break;
          while (want-- > 0) {
            const w = this.pick(t, busy);
            if (!w) break;
            busy.set(w.id, (busy.get(w.id) ?? 0) + 1);
            this.start(job, t, w.id, now);
          }
        }
      }
    }
  }

  /** How many more replicas a task needs now: f+1 agreeing, counting running ones that are not overdue as hopeful. */
  private wanted(job: CoreJob, t: Task, now: number): number {
    const { f, maxReplicas } = job.replication;
    const best = Math.max(0, ...tally(job, t).values());
    const firstDone = Math.min(...t.replicas.flatMap((r) => (r.state === 'done' ? [r.finishedAt as number] : [])));
    // Done reduce replicas of a tentative job waiting for their map copies to be confirmed still hope to count.
    let hopeful = t.replicas.filter((r) => r.state === 'done' && !confirmed(job, r)).length;
    for (const r of t.replicas) {
      if (r.state !== 'running') continue;
      const straggling =
        Number.isFinite(firstDone) &&
        now - firstDone > Math.max(job.stragglerMs, STRAGGLER_FACTOR * (firstDone - r.startedAt));
      if (now - r.startedAt > job.timeoutMs || straggling) {
        if (!r.suspected) {
          r.suspected = true;
          this.mutations++;
          this.suspect(job, t, r.worker, 'timeout');
        }
      } else hopeful++;
    }
    const counted = t.replicas.filter((r) => r.state === 'done' || r.state === 'running').length;
    const lost = t.replicas.filter((r) => r.state === 'lost').length;
    const expired = t.replicas.every((r) => r.state !== 'running' || now - r.startedAt > job.timeoutMs);
    if (counted >= maxReplicas && hopeful === 0 && best < f + 1 && expired && counted > 0) {
      // 2f+1 replicas and none left to hope for: more than f faulty workers, or a job that is not deterministic.
      for (const r of t.replicas) if (r.state === 'done') this.suspect(job, t, r.worker, 'mismatch');
      job.failure = { task: taskName(t.kind, t.index), vote: null, reason: 'no-agreement' };
      this.end(job, 'failed', now);
      return 0;
    }
    if (lost > MAX_LOST_RESTARTS + maxReplicas) return 0;
    return Math.max(0, Math.min(f + 1 - best - hopeful, maxReplicas - counted));
  }

  /** A free worker that has no live replica of the task: a new fault domain first, then the least busy. */
  private pick(t: Task, busy: Map<string, number>): CoreWorker | undefined {
    // Lost replicas, and tentative ones aborted because they read a rejected copy, free their worker for the task.
    const live = t.replicas.filter((r) => r.state !== 'lost' && r.state !== 'aborted');
    const used = new Set(live.map((r) => r.worker));
    const domains = new Set(live.map((r) => this.workers.find((w) => w.id === r.worker)?.domain));
    let best: CoreWorker | undefined;
    let bestKey = Number.POSITIVE_INFINITY;
    for (const w of this.workers) {
      const load = busy.get(w.id) ?? 0;
      if (!this.alive.has(w.id) || used.has(w.id) || load >= this.config.slots) continue;
      const key = (domains.has(w.domain) ? 1000 : 0) + load;
      if (key < bestKey) {
        best = w;
        bestKey = key;
      }
    }
    return best;
  }

  private start(job: CoreJob, t: Task, worker: string, now: number): void {
    const attempt = t.replicas.length;
    this.mutations++;
    const basis =
      t.kind === 'reduce' && job.tentative
        ? job.maps.map((m) => {
            if (m.accepted !== null) return { vote: m.accepted, workers: [...m.agreeing] };
            const first = firstCopy(m) as Replica;
            return { vote: first.vote as string, workers: [first.worker] };
          })
        : null;
    t.replicas.push({
      worker,
      attempt,
      state: 'running',
      startedAt: now,
      finishedAt: null,
      vote: null,
      suspected: false,
      basis,
    });
    if (t.kind === 'map') job.counters.mapReplicas++;
    else job.counters.reduceReplicas++;
    this.actions.push({ t: 'run', job: job.id, task: t.kind, index: t.index, attempt, worker });
  }
}

/** Votes of a task's finished replicas that count (confirmed ones) and how many replicas reported each. */
function tally(job: CoreJob, t: Task): Map<string, number> {
  const counts = new Map<string, number>();
  for (const r of t.replicas)
    if (r.state === 'done' && r.vote !== null && confirmed(job, r)) counts.set(r.vote, (counts.get(r.vote) ?? 0) + 1);
  return counts;
}

/** A replica's output counts: it is not a tentative reduce, or every map copy it read is the accepted one. */
function confirmed(job: CoreJob, r: Replica): boolean {
  return r.basis === null || r.basis.every((b, i) => job.maps[i]?.accepted === b.vote);
}

/** The first finished replica of a map task that is not an error (a tentative reduce may read its output). */
function firstCopy(t: Task): Replica | undefined {
  let first: Replica | undefined;
  for (const r of t.replicas) {
    if (r.state !== 'done' || r.vote === null || r.vote.startsWith(ERROR_VOTE)) continue;
    if (!first || (r.finishedAt ?? 0) < (first.finishedAt ?? 0)) first = r;
  }
  return first;
}

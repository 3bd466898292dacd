/**
 * A job as the tracker reports it (`mapreduce status --json`, record.json beside the job's files): stable JSON built
 * from the scheduler core's state. It names the workers that disagreed with the agreed output or were overdue, and
 * says that the tracker itself is trusted.
 */
import type { CoreJob, JobCounters, JobState, Suspect } from './core.js';
import type { JobError } from './wire.js';

export interface ReplicaRecord {
  worker: string;
  attempt: number;
  state: 'running' | 'done' | 'lost' | 'aborted';
  /** Whether its output matched the accepted one (null while running or when none was accepted). */
  agreed: boolean | null;
}

export interface TaskRecord {
  task: string;
  accepted: boolean;
  replicas: ReplicaRecord[];
}

export interface JobRecord {
  job: string;
  name: string;
  state: JobState;
  submittedAt: string;
  finishedAt: string | null;
  /** f of the job's replication (0 for an unreplicated run: one replica per task, no vote). */
  f: number;
  replicated: boolean;
  /** sha256 of the job module that ran (for a replicated tracker: the digest its replicas agreed on). */
  moduleDigest?: string;
  maps: number;
  reducers: number;
  tasks: { maps: number; mapsAccepted: number; reduces: number; reducesAccepted: number };
  counters: JobCounters;
  /** Workers whose output disagreed with the accepted one, or that were overdue, per task. */
  suspects: Suspect[];
  /** Distinct workers among `suspects` with reason mismatch. */
  disagreeing: string[];
  failure: { task: string; reason: 'error' | 'no-agreement'; error: JobError | null; message: string } | null;
  trust: string;
  taskDetail: TaskRecord[];
}

export const TRACKER_TRUST =
  'the job tracker is assumed correct (TClouds D2.2.1, ch. 10): it schedules tasks and counts votes; workers are not trusted';

export const REPLICATED_TRACKER_TRUST =
  'the job tracker is replicated on the SMR (3f+1 replicas): no tracker replica is trusted; workers and clients act on f+1 identical tracker messages, workers are not trusted';

export interface JobMeta {
  id: string;
  name: string;
  reducers: number;
  replicated: boolean;
  f: number;
  /**
   * sha256 of the job module's text. With a replicated tracker it is part of the ordered submission (f+1 shells
   * endorsed it), and workers run only module bytes with this digest.
   */
  moduleDigest?: string;
}

/** The JobError of an error vote `error:<kind>:<record>:<message>` (record JSON-encoded). */
export function errorOfVote(vote: string | null): JobError | null {
  if (!vote?.startsWith('error:')) return null;
  try {
    const e = JSON.parse(vote.slice('error:'.length)) as JobError;
    return e;
  } catch {
    return null;
  }
}

export function errorVote(e: JobError): string {
  return `error:${JSON.stringify({ kind: e.kind, message: e.message, record: e.record })}`;
}

function failureText(j: CoreJob): string {
  const f = j.failure;
  if (!f) return '';
  if (f.reason === 'no-agreement') {
    return `${f.task}: no ${j.replication.f + 1} of ${j.replication.maxReplicas} replicas agreed (a non-deterministic job module, or more than f faulty workers)`;
  }
  const e = errorOfVote(f.vote);
  const at = e?.record ? ` at record ${e.record}` : '';
  const what = e?.kind === 'timeout' ? 'never returned' : e?.kind === 'memory' ? 'ran out of memory' : 'failed';
  return `${f.task}: the job module ${what}${at}: ${e?.message ?? '?'}`;
}

export function jobRecord(meta: JobMeta, j: CoreJob, origin: number, trust = TRACKER_TRUST): JobRecord {
  const tasks = [...j.maps, ...j.reduces];
  const iso = (t: number) => new Date(origin + t).toISOString();
  return {
    job: meta.id,
    name: meta.name,
    state: j.state,
    submittedAt: iso(j.submittedAt),
    finishedAt: j.finishedAt === null ? null : iso(j.finishedAt),
    f: meta.f,
    replicated: meta.replicated,
    ...(meta.moduleDigest ? { moduleDigest: meta.moduleDigest } : {}),
    maps: j.maps.length,
    reducers: j.reduces.length,
    tasks: {
      maps: j.maps.length,
      mapsAccepted: j.maps.filter((t) => t.accepted !== null).length,
      reduces: j.reduces.length,
      reducesAccepted: j.reduces.filter((t) => t.accepted !== null).length,
    },
    counters: { ...j.counters },
    suspects: [...j.suspects],
    disagreeing: [...new Set(j.suspects.filter((s) => s.reason === 'mismatch').map((s) => s.worker))].sort(),
    failure: j.failure
      ? { task: j.failure.task, reason: j.failure.reason, error: errorOfVote(j.failure.vote), message: failureText(j) }
      : null,
    trust,
    taskDetail: tasks.map((t) => ({
      task: `${t.kind}-${t.index}`,
      accepted: t.accepted !== null,
      replicas: t.replicas.map((r) => ({
        worker: r.worker,
        attempt: r.attempt,
        state: r.state,
        agreed: r.state === 'done' && t.accepted !== null ? r.vote === t.accepted : null,
      })),
    })),
  };
}

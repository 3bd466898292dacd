/**
 * The scheduling core's inputs as data: every event the tracker feeds the core (a worker up or down, a job
 * submitted, an input chunk of a started job arrived, a replica's report or loss, a tick, a cancel, a job
 * forgotten) with the time it happened. The core is deterministic, so the same inputs in the same order give the same state and the same actions: the tracker writes
 * them ahead to its journal (tracker-journal.ts) and replays them at a restart, and a replicated tracker orders
 * them through the SMR so every replica computes the same schedule (tracker-service.ts).
 */
import { z } from 'zod';
import type { SchedulerCore } from './core.js';
import { MAX_MAP_TASKS, MAX_REDUCERS } from './limits.js';

const id = z.string().min(1).max(128);
const idx = z.int().min(0).max(1_000_000);
const time = z.number().int().min(0);
const kind = z.enum(['map', 'reduce']);
const replicaRef = { job: id, kind, index: idx, attempt: idx, worker: id, now: time };

export const CoreInputSchema = z.discriminatedUnion('t', [
  z.object({ t: z.literal('up'), worker: id, domain: z.string().max(300), now: time }),
  z.object({ t: z.literal('down'), worker: id, now: time }),
  z.object({
    t: z.literal('submit'),
    job: id,
    f: z.int().min(0).max(100),
    maps: z.int().min(1).max(MAX_MAP_TASKS),
    reduces: z.int().min(1).max(MAX_REDUCERS),
    timeoutMs: z.int().min(1),
    stragglerMs: z.int().min(0),
    tentative: z.boolean().optional(),
    /** Map tasks whose input chunk is still being uploaded (a single tracker starts a job before its upload ends). */
    awaitingInput: z.array(idx).max(MAX_MAP_TASKS).optional(),
    now: time,
  }),
  z.object({ t: z.literal('input'), job: id, index: idx, now: time }),
  z.object({ t: z.literal('report'), ...replicaRef, vote: z.string().max(200_000) }),
  z.object({ t: z.literal('lost'), ...replicaRef }),
  z.object({ t: z.literal('tick'), now: time }),
  z.object({ t: z.literal('cancel'), job: id, now: time }),
  z.object({ t: z.literal('forget'), job: id }),
]);
export type CoreInput = z.infer<typeof CoreInputSchema>;

/** Feeds one input to the core (its actions are left for the caller to drain). */
export function applyInput(core: SchedulerCore, i: CoreInput): void {
  switch (i.t) {
    case 'up':
      core.workerUp({ id: i.worker, domain: i.domain }, i.now);
      return;
    case 'down':
      core.workerDown(i.worker, i.now);
      return;
    case 'submit':
      core.submit(
        i.job,
        { f: i.f, maxReplicas: 2 * i.f + 1 },
        { maps: i.maps, reduces: i.reduces },
        { timeoutMs: i.timeoutMs, stragglerMs: i.stragglerMs },
        i.now,
        { tentative: i.tentative === true, ...(i.awaitingInput ? { awaitingInput: i.awaitingInput } : {}) },
      );
      return;
    case 'input':
      core.inputArrived(i.job, i.index, i.now);
      return;
    case 'report':
      core.report(i.job, i.kind, i.index, i.attempt, i.worker, i.vote, i.now);
      return;
    case 'lost':
      core.lost(i.job, i.kind, i.index, i.attempt, i.worker, i.now);
      return;
    case 'tick':
      core.tick(i.now);
      return;
    case 'cancel':
      core.cancel(i.job, i.now);
      return;
    case 'forget':
      core.forget(i.job);
      return;
  }
}

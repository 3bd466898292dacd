/**
 * Plan of a BFT MapReduce component (seed ch. 10): one job tracker (assumed correct: a trusted single point,
 * said so in the plan notes), or with `jobTracker: replicated` 3f+1 tracker replicas running the scheduling state
 * on the SMR (none trusted; the notes say so), and a pool of workers (task trackers) spread over the clouds. The job tracker
 * starts f+1 replicas of each task and up to f more when results disagree, so the TIA config carries f.
 * Node software: components/mapreduce/node.ts (the job-tracker and worker roles).
 */
import type { z } from 'zod';
import type { KindPlanInput } from '../kind.js';
import { planRoleGroups } from '../plan-layout.js';
import type { ComponentPlan } from '../plan-types.js';
import type { MAPREDUCE_CONFIGS } from './config.js';

export const MAPREDUCE_PORTS = {
  'job-tracker': { rpc: 7600, http: 7601 },
  worker: { rpc: 7610, shuffle: 7611 },
} as const;
/** A replicated tracker's SMR ports (replica-to-replica, and the group's client port its shells use). */
export const MAPREDUCE_REPLICATED_TRACKER_PORTS = { peer: 7602, client: 7603 } as const;
export const MAPREDUCE_CONTROL_PORT = 7699;

export function planMapReduce(input: KindPlanInput<'mapreduce'>): ComponentPlan {
  const c = input.component;
  const replicated = c.jobTracker === 'replicated';
  const trackers = replicated ? 3 * c.f + 1 : 1;
  // Pushed before the nodes are placed, so it comes before any placement note (the plan's bytes are fixed).
  input.notes.push(
    replicated
      ? `${input.name}: the MapReduce job tracker is replicated on the SMR (${trackers} replicas, Byzantine): no tracker replica is trusted; workers and clients act on ${c.f + 1} identical tracker messages`
      : `${input.name}: the MapReduce job tracker is assumed correct (a trusted single point, seed ch. 10)`,
  );
  return planRoleGroups(input, {
    kind: 'mapreduce',
    f: c.f,
    faults: 'byzantine',
    clouds: c.clouds,
    groups: [
      {
        role: 'job-tracker',
        count: trackers,
        ports: replicated
          ? { ...MAPREDUCE_PORTS['job-tracker'], ...MAPREDUCE_REPLICATED_TRACKER_PORTS }
          : { ...MAPREDUCE_PORTS['job-tracker'] },
        controlPort: MAPREDUCE_CONTROL_PORT,
        config: (): z.input<(typeof MAPREDUCE_CONFIGS)['job-tracker']> => ({
          f: c.f,
          workers: c.workers,
          taskReplicas: c.f + 1,
          maxTaskReplicas: 2 * c.f + 1,
          ...(replicated ? { replicated: true } : {}),
        }),
      },
      {
        role: 'worker',
        count: c.workers,
        ports: { ...MAPREDUCE_PORTS.worker },
        controlPort: MAPREDUCE_CONTROL_PORT,
        config: (): z.input<(typeof MAPREDUCE_CONFIGS)['worker']> => ({ f: c.f }),
      },
    ],
    links: [
      { from: 'worker', to: 'job-tracker', port: 'rpc' },
      { from: 'job-tracker', to: 'worker', port: 'rpc' },
      { from: 'worker', to: 'worker', port: 'shuffle' },
      { from: 'clients', to: 'job-tracker', port: 'http' },
      // A replicated tracker: its replicas order among themselves, and each shell is a client of the group.
      ...(replicated
        ? [
            { from: 'job-tracker', to: 'job-tracker', port: 'peer' },
            { from: 'job-tracker', to: 'job-tracker', port: 'client' },
          ]
        : []),
    ],
    client: {
      f: c.f,
      workers: c.workers,
      taskReplicas: c.f + 1,
      maxTaskReplicas: 2 * c.f + 1,
      ...(replicated ? { jobTracker: 'replicated', trackers, trackerQuorum: c.f + 1 } : {}),
    },
  });
}

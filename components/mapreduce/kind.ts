/** The mapreduce kind (components/kind.ts): Byzantine fault-tolerant MapReduce (TClouds D2.2.1, ch. 10). */
import type { KindModule } from '../kind.js';
import { lastDecidedOnly, num, replicatedServiceStatus } from '../kind-status.js';
import { MAPREDUCE_CONFIGS } from './config.js';
import { planMapReduce } from './plan.js';
import { WORKER_FAULTS } from './worker-faults.js';

export const mapreduceKind: KindModule<'mapreduce'> = {
  kind: 'mapreduce',
  plan: planMapReduce,
  configs: MAPREDUCE_CONFIGS,
  roles: () => import('./node.js').then((m) => m.roles),
  status: {
    ...replicatedServiceStatus,
    // A task needs f+1 workers that agree: the quorum counts workers. The tracker is trusted (the seed assumes it
    // correct), so the job stops with it: it is required, not counted.
    quorum(client, units) {
      const f = num(client.f) ?? 1;
      return { n: units, f, quorum: Math.min(units, f + 1) };
    },
    quorumRoles: ['worker'],
    requiredRoles: ['job-tracker'],
    // The tracker says it is trusted (the seed assumes it correct); a worker shows its tasks and fault mode.
    keyMetric(role) {
      if (role.trusted === true) {
        return `tracker (trusted) · workers ${num(role.workersConnected) ?? '?'} · jobs running ${num(role.jobsRunning) ?? '?'}`;
      }
      // A replica of a replicated tracker: none is trusted; workers and clients need f+1 of them to agree.
      if (role.mode === 'replicated') {
        const fault = typeof role.fault === 'string' ? ` · fault ${role.fault}` : '';
        return `tracker replica (not trusted) · workers ${num(role.workersConnected) ?? '?'} · jobs running ${num(role.jobsRunning) ?? '?'}${fault}`;
      }
      const fault = typeof role.fault === 'string' && role.fault !== 'none' ? ` · fault ${role.fault}` : '';
      return `tasks done ${num(role.tasksDone) ?? '?'} · running ${num(role.running) ?? '?'}${fault}`;
    },
    agreement: lastDecidedOnly,
  },
  chaos: { faultModes: WORKER_FAULTS, corruptibleBuckets: false },
};

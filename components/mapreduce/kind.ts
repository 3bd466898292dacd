/** The mapreduce kind (components/kind.ts): Byzantine fault-tolerant MapReduce (seed ch. 10); no node software in this release. */
import type { KindModule } from '../kind.js';
import { replicatedServiceStatus } from '../kind-status.js';
import { MAPREDUCE_CONFIGS } from './config.js';
import { planMapReduce } from './plan.js';

export const mapreduceKind: KindModule<'mapreduce'> = {
  kind: 'mapreduce',
  plan: planMapReduce,
  configs: MAPREDUCE_CONFIGS,
  status: replicatedServiceStatus,
  chaos: { faultModes: [], corruptibleBuckets: false },
};

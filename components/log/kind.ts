/** The log kind (components/kind.ts): a tamper-evident log (seed ch. 11); no node software in this release. */
import type { KindModule } from '../kind.js';
import { replicatedServiceStatus } from '../kind-status.js';
import { LOG_CONFIGS } from './config.js';
import { planLog } from './plan.js';

export const logKind: KindModule<'log'> = {
  kind: 'log',
  plan: planLog,
  configs: LOG_CONFIGS,
  status: replicatedServiceStatus,
  chaos: { faultModes: [], corruptibleBuckets: false },
};

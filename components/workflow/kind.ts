/** The workflow kind (components/kind.ts): fault-tolerant workflow execution (seed ch. 9); no node software in this release. */
import type { KindModule } from '../kind.js';
import { replicatedServiceStatus } from '../kind-status.js';
import { WORKFLOW_CONFIGS } from './config.js';
import { planWorkflow } from './plan.js';

export const workflowKind: KindModule<'workflow'> = {
  kind: 'workflow',
  plan: planWorkflow,
  configs: WORKFLOW_CONFIGS,
  status: replicatedServiceStatus,
  chaos: { faultModes: [], corruptibleBuckets: false },
};

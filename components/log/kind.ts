/** The log kind (components/kind.ts): a tamper-evident, forward-secure log over the cloud-of-clouds (ch. 11). */
import type { KindModule } from '../kind.js';
import { lastDecidedOnly, num } from '../kind-status.js';
import { smrKind } from '../smr/kind.js';
import { LOG_CONFIGS } from './config.js';
import { planLog } from './plan.js';

export const logKind: KindModule<'log'> = {
  kind: 'log',
  plan: planLog,
  configs: LOG_CONFIGS,
  roles: () => import('./roles.js').then((m) => m.roles),
  status: {
    unit: 'node',
    // The core replicas are an SMR group (3f+1, Byzantine): its quorum is theirs. The console is listed, not
    // counted: without it the HTTP interface is gone, appends through the core and verify from storage are not.
    quorum: smrKind.status.quorum,
    quorumRoles: ['core'],
    keyMetric: (role) => {
      if (num(role.entries) !== null) {
        const err = typeof role.storageError === 'string' ? ' · storage failing' : '';
        return `${role.entries} entries · ${role.persisted ?? 0}/${role.segments ?? 0} segments stored${err}`;
      }
      if (num(role.verifiedEntries) !== null) {
        return role.verified === false
          ? `verification failing at entry ${role.verifiedEntries}`
          : `${role.verifiedEntries} entries verified`;
      }
      return '';
    },
    agreement: lastDecidedOnly,
  },
  chaos: { faultModes: [], corruptibleBuckets: false },
};

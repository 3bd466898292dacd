/** The log kind (components/kind.ts): a tamper-evident, forward-secure log over the cloud-of-clouds (ch. 11). */
import type { KindModule } from '../kind.js';
import { lastDecidedOnly, num } from '../kind-status.js';
import { LOG_CONFIGS } from './config.js';
import { planLog } from './plan.js';

export const logKind: KindModule<'log'> = {
  kind: 'log',
  plan: planLog,
  configs: LOG_CONFIGS,
  roles: () => import('./roles.js').then((m) => m.roles),
  status: {
    unit: 'node',
    quorum(client, units) {
      // The core is a BFT SMR group: 3f+1 replicas, f+1 matching replies accept an append. The console counts
      // as one more node, so n is the core's own size.
      const n = num(client.n) ?? units;
      const f = num(client.f) ?? Math.floor((n - 1) / 3);
      return { n, f, quorum: Math.floor((n + f) / 2) + 1 };
    },
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

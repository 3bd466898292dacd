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
      // Units are every node: the 3f+1 core replicas (f of which may fail) and the console. Counting them together
      // is a simplification: with all of them up the verdict is ok, one core or the console down is degraded, and
      // more than f down is reported lost (it is, for the core; a down console loses only the HTTP interface).
      const f = num(client.f) ?? 1;
      return { n: units, f, quorum: Math.max(1, units - f) };
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

/** The storage kind (components/kind.ts): DepSky object storage over n >= 3f+1 clouds, with optional gateways. */

import { formatBytes } from '../../kernel/format.js';
import type { KindModule } from '../kind.js';
import { lastDecidedOnly, num } from '../kind-status.js';
import { STORAGE_CONFIGS } from './config.js';
import { planStorage } from './plan.js';

export const storageKind: KindModule<'storage'> = {
  kind: 'storage',
  plan: planStorage,
  configs: STORAGE_CONFIGS,
  roles: () => import('./node.js').then((m) => m.roles),
  status: {
    unit: 'cloud',
    quorum(client, units) {
      // DepSky: operations need n - f clouds.
      const n = num(client.n) ?? units;
      const f = num(client.f) ?? Math.floor((n - 1) / 3);
      return { n, f, quorum: n - f };
    },
    keyMetric: (role) =>
      num(role.objects) === null ? '' : `${role.objects} obj · ${formatBytes(num(role.bytes) ?? 0)}`,
    agreement: lastDecidedOnly,
    // A read needs the whole value from one cloud (DepSky-A) or f+1 blocks (DepSky-CA).
    copiesNeeded: (client) => (client.protocol === 'depsky-a' ? 1 : (num(client.f) ?? 1) + 1),
  },
  chaos: { faultModes: [], corruptibleBuckets: true },
};

/** The SMR kind (components/kind.ts): BFT-SMaRt-style state machine replication. */
import type { KindModule } from '../kind.js';
import { decidedText, mostCommon, num } from '../kind-status.js';
import { SMR_CONFIGS } from './config.js';
import { MISBEHAVIOURS } from './misbehaviour.js';
import { planSmr } from './plan.js';

export const smrKind: KindModule<'smr'> = {
  kind: 'smr',
  plan: planSmr,
  configs: SMR_CONFIGS,
  roles: () => import('./node.js').then((m) => m.roles),
  status: {
    unit: 'node',
    quorum(client, units) {
      const n = num(client.n) ?? units;
      const crash = client.faults === 'crash';
      const f = num(client.f) ?? (crash ? Math.floor((n - 1) / 2) : Math.floor((n - 1) / 3));
      // BFT-SMaRt: more than (n+f)/2 matching votes; crash (Paxos-like): a plain majority.
      const quorum = crash ? Math.floor(n / 2) + 1 : Math.floor((n + f) / 2) + 1;
      return { n, f, quorum };
    },
    keyMetric: (role) =>
      [
        ['leader', role.leader],
        ['regency', role.regency],
        ['decided', role.lastDecided],
      ]
        .filter(([, v]) => num(v) !== null)
        .map(([k, v]) => `${k} ${k === 'decided' ? decidedText(v) : v}`)
        .join(' · '),
    agreement(roles) {
      const decided = roles.flatMap((r) => num(r.lastDecided) ?? []);
      return {
        leader: mostCommon(roles.flatMap((r) => num(r.leader) ?? [])),
        regency: mostCommon(roles.flatMap((r) => num(r.regency) ?? [])),
        lastDecided: decided.length > 0 ? Math.max(...decided) : null,
      };
    },
    leaderRole: 'replica',
  },
  chaos: { faultModes: MISBEHAVIOURS, corruptibleBuckets: false },
};

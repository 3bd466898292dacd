/**
 * The rule of a rolling update that the local target and the clouds share (stacks/rollout-plan.ts), as pure
 * functions: the waves (at most min(maxUnavailable, f) per component, storage gateways one at a time, components
 * side by side), the peers a restarted node is compared with, its catch-up target and the health gate's verdict.
 */
import { describe, expect, it } from 'vitest';
import { TcError } from '../../kernel/errors.js';
import {
  catchUpPeers,
  catchUpTarget,
  catchUpTargets,
  caughtUp,
  rolloutWaves,
  waitCaughtUp,
} from '../../stacks/rollout-plan.js';
import { handPlan } from '../pulumi/plans.js';

const four = [0, 1, 2, 3].map((d) => ({ cloud: 'a', domain: d }));
const plan = handPlan({
  clouds: { a: { provider: 'local' } },
  components: {
    ledger: { nodes: four },
    vault: { kind: 'storage', role: 'gateway', nodes: four.slice(0, 2) },
  },
});
const ledger = [0, 1, 2, 3].map((i) => `ledger-replica-${i}`);
const gateways = ['vault-gateway-0', 'vault-gateway-1'];

describe('rollout waves', () => {
  it('one replica per wave by default; gateways one at a time beside them', () => {
    expect(rolloutWaves(plan, [...ledger, ...gateways], 1)).toEqual([
      ['ledger-replica-0', 'vault-gateway-0'],
      ['ledger-replica-1', 'vault-gateway-1'],
      ['ledger-replica-2'],
      ['ledger-replica-3'],
    ]);
  });

  it('maxUnavailable is capped at f (1 here), and never below one', () => {
    expect(rolloutWaves(plan, ledger, 3)).toEqual(ledger.map((id) => [id]));
    expect(rolloutWaves(plan, ledger, 0)).toEqual(ledger.map((id) => [id]));
  });

  it('only the nodes that roll', () => {
    expect(rolloutWaves(plan, ['ledger-replica-2'], 1)).toEqual([['ledger-replica-2']]);
    expect(rolloutWaves(plan, [], 1)).toEqual([]);
  });
});

describe('catch-up', () => {
  it('a node is compared with the nodes of its component and role that stay up', () => {
    expect(catchUpPeers(plan, ['ledger-replica-1'], 'ledger-replica-1')).toEqual([
      'ledger-replica-0',
      'ledger-replica-2',
      'ledger-replica-3',
    ]);
    expect(catchUpPeers(plan, ['nobody'], 'nobody')).toEqual([]);
  });

  it('the target is what the peers decided (the most any of them did); none answered: nothing to wait for', () => {
    expect(catchUpTarget(plan, 'ledger-replica-0', [{ lastDecided: 41 }, { lastDecided: 42 }])).toBe(42);
    expect(catchUpTarget(plan, 'ledger-replica-0', [])).toBeNull();
    expect(caughtUp(42, { lastDecided: 42 })).toBe(true);
    expect(caughtUp(42, { lastDecided: 41 })).toBe(false);
    expect(caughtUp(42, undefined)).toBe(false);
    expect(caughtUp(null, undefined)).toBe(true);
    expect(caughtUp(-1, undefined)).toBe(true);
  });

  it('targets are read from the peers through the probe, before the wave goes down', async () => {
    const asked: string[] = [];
    const targets = await catchUpTargets(plan, ['ledger-replica-0'], async (id) => {
      asked.push(id);
      return { lastDecided: Number(id.slice(-1)) * 10 };
    });
    expect(asked.sort()).toEqual(['ledger-replica-1', 'ledger-replica-2', 'ledger-replica-3']);
    expect(targets.get('ledger-replica-0')).toBe(30);
  });

  it('the gate waits until the node has caught up, and stops the rollout (TC318) when it does not in time', async () => {
    let clock = 0;
    const timing = {
      timeoutMs: 1000,
      pollMs: 100,
      now: () => clock,
      sleep: async (ms: number) => {
        clock += ms;
      },
      checkAborted: () => {},
    };
    const seen = [5, 8, 10];
    await waitCaughtUp('ledger-replica-0', 10, async () => ({ lastDecided: seen.shift() }), timing);
    expect(seen).toEqual([]);
    const err = await waitCaughtUp('ledger-replica-0', 10, async () => ({ lastDecided: 7 }), timing).catch((e) => e);
    expect(err).toBeInstanceOf(TcError);
    expect((err as TcError).code).toBe('TC318');
    expect((err as TcError).message).toContain('decided 7, its group had decided 10');
    expect((err as TcError).hint).toContain('deploy` again to resume');
  });
});

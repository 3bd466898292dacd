import { describe, expect, it } from 'vitest';
import { resolveTargets } from '../../chaos/actions.js';
import { planChaosRuns } from '../../chaos/run.js';
import { loadKeepProbability } from '../../placement/keep-probability.js';
import type { Deployment } from '../../stacks/deployment.js';
import { model, outputs } from '../dashboard/fixtures.js';

const dep: Deployment = { outputs, stackDir: '/nonexistent', placement: model };

describe('chaos targets', () => {
  it('a fault domain is every node on one PM of one cloud', () => {
    expect(resolveTargets(dep, { host: 0, cloud: 'local-a' }).map((n) => n.id)).toEqual([
      'ledger-replica-0',
      'ledger-replica-1',
    ]);
    expect(resolveTargets(dep, { node: ['ledger-replica-3'] }).map((n) => n.id)).toEqual(['ledger-replica-3']);
  });

  it('names what exists when a target does not', () => {
    expect(() => resolveTargets(dep, { node: ['ledger-replica-9'] })).toThrow(/no node "ledger-replica-9"/);
    try {
      resolveTargets(dep, { host: 5, cloud: 'local-a' });
    } catch (e) {
      expect(e).toMatchObject({ code: 'TC502', hint: expect.stringContaining('--cloud local-a --host 0') });
    }
    expect(() => resolveTargets(dep, { host: 0 })).toThrow(/both --host/);
    expect(() => resolveTargets(dep, { node: ['ledger-replica-0'], cloud: 'local-a', host: 0 })).toThrow(/not both/);
    expect(() => resolveTargets(dep, {})).toThrow(/name the target/);
  });
});

describe('chaos run plan (dry run)', async () => {
  const keepProbability = await loadKeepProbability();
  it('maps each draw onto node ids, same seed same faults, next to the advisor figure', () => {
    const opts = { model, faults: 2, seed: 'abc', runs: 200 };
    const a = planChaosRuns(outputs, opts, keepProbability);
    const b = planChaosRuns(outputs, opts, keepProbability);
    expect(a).toEqual(b);
    const ledger = a.components[0]!;
    expect(a.components.map((c) => c.component)).toEqual(['ledger']); // storage has no nodes
    expect(ledger.layout).toEqual([2, 1, 1]);
    expect(ledger.domains.map((d) => `${d.cloud}/${d.domain}`)).toEqual(['local-a/0', 'local-c/0', 'local-d/1']);
    for (const run of ledger.runs) {
      // byzantine-vm contaminates whole PMs: the lost nodes are exactly the nodes of the PMs hit.
      const hitNodes = new Set(
        run.hits.flatMap((h) => ledger.domains.find((d) => `${d.cloud}/${d.domain}` === h)!.nodes),
      );
      expect(run.lostNodes).toEqual([...hitNodes].sort());
      expect(run.kept).toBe(new Set(run.hits).size <= 1);
    }
    if (keepProbability) {
      const p = ledger.predicted!;
      expect(p).toBeCloseTo(keepProbability([2, 1, 1], model, 2), 12);
      expect(Math.abs(ledger.keptRate - p)).toBeLessThanOrEqual(4 * Math.sqrt((p * (1 - p)) / 200) + 0.02);
    }
  });
});

/**
 * The misbehaviour switch (SMR spec config `faultInjection`, POST /admin/fault) on cloud targets: a cloud VM gets it
 * only when the topology asks for it on the component (`chaos: { byzantine: true }`); the plan carries it, and the
 * spec a VM boots with is built from the plan as it is.
 */
import { describe, expect, it } from 'vitest';
import type { Plan } from '../../components/plan-types.js';
import { replicaConfig } from '../../components/smr/config.js';
import { cloudNodeSpec } from '../../stacks/pulumi/cloud-init.js';
import { renderTopology } from '../../topology/templates.js';
import { compileText, templatePlan } from './plans.js';

function vmConfigs(plan: Plan, component: string): Record<string, unknown>[] {
  return plan.components[component]!.nodes.map(
    (n) => cloudNodeSpec(plan, n, '10.0.0.1', () => '10.0.0.2', {}).config as Record<string, unknown>,
  );
}

describe('fault switch on cloud targets', () => {
  it.each(['aws', 'gcp', 'azure'] as const)('%s: off unless the topology asks', async (provider) => {
    const plan = await templatePlan('mediator', provider);
    const configs = vmConfigs(plan, 'ledger');
    expect(configs.length).toBeGreaterThan(0);
    for (const c of configs) {
      expect(c.faultInjection).toBeUndefined();
      expect(replicaConfig(c, configs.length).faultInjection).toBe(false);
    }
    for (const c of vmConfigs(plan, 'vault')) expect(c.faultInjection).toBeUndefined();
  });

  it('chaos.byzantine on a component turns it on for that component only', async () => {
    const text = renderTopology({ mode: 'mediator', providers: ['aws'], name: 'demo' }).text.replace(
      /( {4}service: kv.*\n)/,
      '$1    chaos: { byzantine: true }\n',
    );
    expect(text).toContain('chaos: { byzantine: true }');
    const plan = await compileText(text);
    const configs = vmConfigs(plan, 'ledger');
    for (const c of configs) expect(replicaConfig(c, configs.length).faultInjection).toBe(true);
    for (const c of vmConfigs(plan, 'vault')) expect(c.faultInjection).toBeUndefined();
  });

  it('chaos.byzantine: false is the same as leaving it out', async () => {
    const text = renderTopology({ mode: 'mediator', providers: ['aws'], name: 'demo' }).text.replace(
      /( {4}service: kv.*\n)/,
      '$1    chaos: { byzantine: false }\n',
    );
    const plan = await compileText(text);
    for (const c of vmConfigs(plan, 'ledger')) expect(c.faultInjection).toBeUndefined();
  });
});

/**
 * A new build on the clouds is rolled, never a replacement: two successive programs that differ only in the
 * artifact's SHA-256 (same plan, same keys) leave every VM's inputs as they were, with nothing on any VM that
 * would replace it when user data changed, and change every node's software secret and so its digest (the one
 * deploy restarts nodes by, in waves). `plan` shows the change per deployed node as an update in place with the
 * SHA-256 before and after. Real programs under Pulumi's mock runtime.
 */
import { describe, expect, it } from 'vitest';
import type { CloudProvider } from '../../stacks/pulumi/constructs.js';
import { ephemeralKeys } from '../../stacks/pulumi/keys.js';
import type { MockRun } from '../../stacks/pulumi/mock-preview.js';
import { pinnedNodeRuntime } from '../../stacks/pulumi/node-runtime.js';
import { markSoftwareUpdates, SOFTWARE_RESTART, softwareChanges } from '../../stacks/pulumi/software-diff.js';
import type { PreviewResource } from '../../stacks/realizer.js';
import { secretValue, softwareOf } from './boot.js';
import { ofType, runPlan, targetNodes, testArtifact, VM_TYPE } from './graph.js';
import { compileText, denseTopology } from './plans.js';

const REGION: Record<CloudProvider, string> = { aws: 'eu-west-1', azure: 'westeurope', gcp: 'europe-west1' };
/** The VM input that carries user data, as a replaceOnChanges / ignoreChanges path. */
const USER_DATA_PATH: Record<CloudProvider, string> = {
  aws: 'userData',
  azure: 'osProfile.customData',
  gcp: 'metadata["user-data"]',
};
const SLOW_MS = 300_000;

const digests = (run: MockRun) => run.outputs.specDigests as Record<string, string>;

describe('a new build on the clouds (mock runtime)', () => {
  for (const provider of ['aws', 'azure', 'gcp'] as const) {
    it(
      `${provider}: no VM changes, every node's software secret and digest do`,
      async () => {
        const plan = await compileText(denseTopology(provider, REGION[provider], 4));
        const keys = ephemeralKeys(plan);
        const a = testArtifact();
        const b = { ...a, sha256: 'b'.repeat(64) };
        const first = await runPlan(plan, provider, {}, { keys, software: { artifact: a } });
        const second = await runPlan(plan, provider, {}, { keys, software: { artifact: b } });
        const vms = (run: MockRun) => new Map(ofType(run, VM_TYPE[provider]).map((r) => [r.name, r] as const));
        const before = vms(first);
        const after = vms(second);
        expect([...after.keys()].sort()).toEqual([...before.keys()].sort());
        for (const [name, vm] of after) {
          // Nothing to update, so nothing to replace: the VM's inputs (user data included) are the same.
          expect(vm.inputs, name).toEqual(before.get(name)!.inputs);
          expect(vm.inputs.userDataReplaceOnChange, name).toBeUndefined();
          expect(vm.options.replaceOnChanges, name).not.toContain(USER_DATA_PATH[provider]);
          // Read once at first boot: a later change of it would never replace a running VM either.
          expect(vm.options.ignoreChanges, name).toContain(USER_DATA_PATH[provider]);
        }
        const nodes = targetNodes(plan, provider);
        expect(nodes.length).toBeGreaterThan(0);
        for (const n of nodes) {
          expect(softwareOf(provider, first, n.id).artifact?.sha256).toBe(a.sha256);
          expect(softwareOf(provider, second, n.id).artifact?.sha256).toBe(b.sha256);
          // The spec and keys are the same: only the software record moved the digest.
          expect(secretValue(provider, second, n.id, 'spec')).toBe(secretValue(provider, first, n.id, 'spec'));
          expect(digests(second)[n.id], n.id).not.toBe(digests(first)[n.id]);
        }
      },
      SLOW_MS,
    );
  }

  it('plan: a deployed node whose build changes is an update in place with the SHA-256 before and after', () => {
    const runtime = pinnedNodeRuntime();
    const before = { artifact: { path: 'x', sha256: 'a'.repeat(64) }, nodeRuntime: runtime };
    const after = { artifact: { path: 'y', sha256: 'b'.repeat(64) }, nodeRuntime: runtime };
    const changes = softwareChanges(before, after);
    expect(changes).toEqual([{ field: 'software.sha256', before: 'a'.repeat(64), after: 'b'.repeat(64) }]);
    const resources: PreviewResource[] = [
      { type: VM_TYPE.aws, name: 'ledger-replica-0', inputs: {}, op: 'create' },
      { type: VM_TYPE.aws, name: 'ledger-replica-9', inputs: {}, op: 'create' },
      { type: 'aws:secretsmanager/secret:Secret', name: 'ledger-replica-0-software', inputs: {}, op: 'create' },
    ];
    markSoftwareUpdates(resources, changes, (t) => t === VM_TYPE.aws, new Set(['ledger-replica-0']));
    expect(resources[0]).toMatchObject({ op: 'update', changes, restart: SOFTWARE_RESTART });
    // A node not deployed yet is created with the new build; other resources are as they were.
    expect(resources[1]!.op).toBe('create');
    expect(resources[2]!.op).toBe('create');
    // --node-package and a new pinned runtime are software changes too; the same build, or no deploy yet, none.
    const pkg = { packageSpec: 'tclouds@0.2.0', nodeRuntime: { ...runtime, version: 'v24.12.0' } };
    expect(softwareChanges(before, pkg)).toEqual([
      { field: 'software.sha256', before: 'a'.repeat(64) },
      { field: 'software.package', after: 'tclouds@0.2.0' },
      { field: 'software.nodeRuntime', before: runtime.version, after: 'v24.12.0' },
    ]);
    expect(softwareChanges(before, { ...before })).toEqual([]);
    expect(softwareChanges(undefined, after)).toEqual([]);
  });
});

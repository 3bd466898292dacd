/**
 * Which cloud nodes a deploy restarts after `pulumi up`: those whose spec secret changed, by the digests the
 * program outputs of each node's spec and other secrets (mock runtime) against the ones recorded at the last deploy. The restart driver itself
 * (rollout.ts) is tested against a local deployment in rollout.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { ephemeralKeys } from '../../stacks/pulumi/keys.js';
import { secretFilesOf } from '../../stacks/pulumi/node-boot.js';
import { changedNodes } from '../../stacks/pulumi/rollout.js';
import { rolloutDecision, specDigest, unreachableNote } from '../../stacks/pulumi/spec-digests.js';
import { secretValue } from './boot.js';
import { runPlan } from './graph.js';
import { templatePlan } from './plans.js';

describe('spec digests: which nodes a cloud deploy restarts', () => {
  it('the program outputs each node a digest of its secrets; a config or token change moves only that node', async () => {
    const plan = await templatePlan('mediator', 'aws', ['198.51.100.0/24']);
    const keys = ephemeralKeys(plan);
    const first = await runPlan(plan, 'aws', {}, { keys });
    const before = first.outputs.specDigests as Record<string, string>;
    const nodeOf = (id: string) =>
      Object.values(plan.components)
        .flatMap((c) => c.nodes)
        .find((n) => n.id === id)!;
    for (const [id, digest] of Object.entries(before)) {
      const values = secretFilesOf(plan, nodeOf(id)).map((f) => secretValue('aws', first, id, f.kind));
      expect(digest, id).toBe(specDigest(values.join('\0')));
    }
    const node = plan.components.ledger!.nodes[1]!;
    node.config = { ...node.config, batchSize: 128 };
    const second = await runPlan(plan, 'aws', {}, { keys });
    const after = second.outputs.specDigests as Record<string, string>;
    expect(changedNodes(before, after)).toEqual([node.id]);
    expect(rolloutDecision(plan, before, after)).toMatchObject({ changed: [node.id], reachable: true });
    // A secret that changes without the spec (here a node's admin token) restarts that node too.
    const other = plan.components.ledger!.nodes[2]!;
    const third = await runPlan(
      plan,
      'aws',
      {},
      {
        keys: { ...keys, adminTokens: { ...keys.adminTokens, [other.id]: 'f'.repeat(64) } },
      },
    );
    expect(changedNodes(after, third.outputs.specDigests as Record<string, string>)).toEqual([other.id]);
  });

  it('the first deploy and new nodes restart nothing; without clients.cidrs the changed keep their old digest', async () => {
    const plan = await templatePlan('mediator', 'aws');
    expect(rolloutDecision(plan, {}, { a: '1', b: '2' })).toMatchObject({ changed: [], reachable: false });
    const d = rolloutDecision(plan, { a: '1', b: '2' }, { a: '1', b: '3', c: '4' });
    expect(d.changed).toEqual(['b']);
    expect(d.reachable).toBe(false);
    // b was not restarted: a later deploy (with clients.cidrs) must still see it as changed.
    expect(d.recordWithoutRollout).toEqual({ a: '1', b: '2', c: '4' });
    expect(changedNodes(d.recordWithoutRollout, { a: '1', b: '3', c: '4' })).toEqual(['b']);
    expect(unreachableNote(d.changed)).toMatch(
      /1 node \(b\) got a new spec or software and was not restarted.*clients\.cidrs/,
    );
  });
});

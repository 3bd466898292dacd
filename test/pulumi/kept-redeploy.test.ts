/**
 * A destroy that keeps the data, then a deploy of the same stack, through the realizer (`--target clouds`) with an
 * engine that runs each program under Pulumi's mock runtime (the cloud boundary; everything of ours is real): the
 * destroy records the ids of what it keeps, the next deploy adopts exactly those (Pulumi `import`) instead of
 * creating buckets that exist, and then forgets the record.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { keptKey } from '../../stacks/pulumi/adopt.js';
import type { PulumiEngine } from '../../stacks/pulumi/engine.js';
import { createPulumiRealizer } from '../../stacks/pulumi/index.js';
import { type MockRun, runUnderMocks } from '../../stacks/pulumi/mock-preview.js';
import type { RealizeContext } from '../../stacks/realizer.js';
import { tempDir } from '../support/tmp.js';
import { testArtifact } from './graph.js';
import { awsGcpLedgerPlan, handPlan } from './plans.js';

/** The kept resource an adopted one stands for (a writer's kept key is adopted as `<name>-previous`). */
const keptName = (name: string) => name.replace(/-previous$/, '');

/** What deploy and destroy get: a stack directory under a temp checkout, no events, a state passphrase. */
function realizeContext(stackDir: string): RealizeContext {
  return {
    topologyFile: join(stackDir, '..', '..', 'tclouds.yaml'),
    stackDir,
    signal: new AbortController().signal,
    onEvent: () => {},
    passphrase: 'test-passphrase',
  };
}

/** The engine port over the mock runtime: `up` runs the program, `destroy` forgets the stack. */
function mockEngine(runs: MockRun[]): PulumiEngine {
  let deployed = false;
  return {
    check: async () => {},
    async up(ref, program) {
      const run = await runUnderMocks(program, ref.stackName);
      runs.push(run);
      deployed = true;
      const outputs = Object.fromEntries(
        Object.entries(run.outputs).map(([k, value]) => [k, { value, secret: run.secretOutputs.includes(k) }]),
      );
      return { outputs, summary: { resourceChanges: { create: run.resources.length } } };
    },
    async destroy() {
      deployed = false;
      return { summary: { resourceChanges: { delete: 1 } } };
    },
    outputs: async () => (deployed ? {} : null),
    cancel: async () => {},
  };
}

describe('kept buckets and a redeploy of the same stack (mock runtime)', () => {
  it('destroy records what it keeps; the next deploy imports exactly that, then forgets the record', async () => {
    const plan = awsGcpLedgerPlan({
      stack: 'keep',
      buckets: [
        { cloud: 'a', name: 'keep-ledger-a' },
        { cloud: 'g', name: 'keep-ledger-g' },
      ],
    });
    const runs: MockRun[] = [];
    const realizer = createPulumiRealizer('clouds', {
      engine: mockEngine(runs),
      artifact: async () => ({ ...testArtifact(), bytes: 4096 }),
    });
    const stackDir = join(tempDir('tc-kept-'), '.tclouds', 'keep');
    const ctx = realizeContext(stackDir);
    await realizer.deploy(plan, ctx);
    expect(runs[0]!.resources.every((r) => r.options.importId === '')).toBe(true);
    await realizer.destroy({ ...ctx, keepData: true });
    const keptFile = join(stackDir, 'pulumi', 'clouds.kept.json');
    const kept = JSON.parse(readFileSync(keptFile, 'utf8')) as Record<string, string>;
    expect(kept[keptKey('aws:s3/bucket:Bucket', 'keep-ledger-a')]).toMatch(/@eu-west-1$/);
    expect(kept[keptKey('gcp:storage/bucket:Bucket', 'keep-ledger-g')]).toBeTruthy();
    const events: string[] = [];
    await realizer.deploy(plan, { ...ctx, onEvent: (e) => events.push(e.message ?? '') });
    const redeploy = runs.at(-1)!;
    const adopted = redeploy.resources.filter((r) => r.options.importId !== '');
    expect(adopted.map((r) => keptKey(r.type, keptName(r.name))).sort()).toEqual(Object.keys(kept).sort());
    for (const r of adopted) expect(r.options.importId).toBe(kept[keptKey(r.type, keptName(r.name))]);
    // The writer's kept access key is adopted beside the new one (never as it: it has no secret).
    expect(adopted.filter((r) => r.type === 'aws:iam/accessKey:AccessKey').map((r) => r.name)).toEqual([
      'keep-ledger-a-writer-key-previous',
    ]);
    expect(events.some((m) => m.startsWith('adopting '))).toBe(true);
    expect(existsSync(keptFile)).toBe(false);
  });

  it('a topology deployed --target aws that now spans providers: the clouds deploy adopts what the aws destroy kept', async () => {
    const awsOnly = handPlan({
      stack: 'move',
      clouds: { a: { provider: 'aws', region: 'eu-west-1' } },
      components: {
        ledger: {
          nodes: [0, 1, 2, 3].map((domain) => ({ cloud: 'a', domain })),
          buckets: [{ cloud: 'a', name: 'move-ledger-a' }],
        },
      },
    });
    const spanning = awsGcpLedgerPlan({
      stack: 'move',
      buckets: [
        { cloud: 'a', name: 'move-ledger-a' },
        { cloud: 'g', name: 'move-ledger-g' },
      ],
    });
    const runs: MockRun[] = [];
    const artifact = async () => ({ ...testArtifact(), bytes: 4096 });
    const stackDir = join(tempDir('tc-move-'), '.tclouds', 'move');
    const ctx = realizeContext(stackDir);
    const aws = createPulumiRealizer('aws', { engine: mockEngine(runs), artifact });
    await aws.deploy(awsOnly, ctx);
    await aws.destroy({ ...ctx, keepData: true });
    const keptFile = join(stackDir, 'pulumi', 'aws.kept.json');
    const kept = JSON.parse(readFileSync(keptFile, 'utf8')) as Record<string, string>;
    await createPulumiRealizer('clouds', { engine: mockEngine(runs), artifact }).deploy(spanning, ctx);
    const adopted = runs.at(-1)!.resources.filter((r) => r.options.importId !== '');
    expect(adopted.map((r) => keptKey(r.type, keptName(r.name))).sort()).toEqual(Object.keys(kept).sort());
    expect(adopted.some((r) => r.type === 'aws:s3/bucket:Bucket' && r.name === 'move-ledger-a')).toBe(true);
    expect(existsSync(keptFile)).toBe(false);
  });
});

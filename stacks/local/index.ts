/**
 * The local realizer, the embedded default target: every cloud of the topology becomes a directory on this
 * machine and every node a `tclouds node run` process on its own 127.x address, kept alive by a per-stack
 * supervisor (supervisor.ts). Where it keeps things: paths.ts. Its steps: preview.ts, deploy.ts, destroy.ts.
 */
import type { Realizer } from '../realizer.js';
import { deployLocal } from './deploy.js';
import { destroyLocal } from './destroy.js';
import { previewLocal } from './preview.js';
import { readOutputs } from './specs.js';

export function createLocalRealizer(): Realizer {
  return {
    preview: (plan, ctx) => previewLocal(plan, ctx),
    deploy: (plan, ctx) => deployLocal(plan, ctx),
    destroy: (ctx) => destroyLocal(ctx),
    outputs: (ctx) => readOutputs(ctx.stackDir),
  };
}

/** `plan --target local`: what a deploy would create, change or delete on this machine, without doing any of it. */
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { allNodes } from '../../components/plan.js';
import type { Plan } from '../../components/plan-types.js';
import type { NodeSpec } from '../../runtime/node-spec.js';
import { DeployCode } from '../codes.js';
import { hasSigningKey, keyFileOf, signingKeyFileOf } from '../plan-keys.js';
import type { PreviewResource, RealizeContext } from '../realizer.js';
import { isSupervisor } from './control.js';
import { design, unsupported } from './design.js';
import { stackPaths } from './paths.js';
import { specChanges } from './spec-diff.js';
import { buildSpecs, existingKeys, specHash } from './specs.js';
import { type LocalState, readState, readSupervisorStatus } from './state.js';

export async function previewLocal(
  plan: Plan,
  ctx: RealizeContext,
): Promise<{ resources: PreviewResource[]; changes: number }> {
  const d = design(plan, ctx);
  const state = await readState(ctx.stackDir);
  const sup = await readSupervisorStatus(ctx.stackDir);
  const supAlive = isSupervisor(sup?.pid, ctx.stackDir);
  const rel = (f: string) => path.relative(path.dirname(ctx.topologyFile), f) || '.';
  const resources: PreviewResource[] = [];
  resources.push({
    type: 'local:directory',
    name: rel(ctx.stackDir),
    inputs: {},
    op: existsSync(ctx.stackDir) ? 'same' : 'create',
  });
  for (const b of d.buckets) {
    resources.push({
      type: 'local:bucket',
      name: `${b.component}/${b.cloud}`,
      inputs: { path: rel(b.path) },
      op: existsSync(b.path) ? 'same' : 'create',
    });
  }
  for (const c of Object.values(plan.components)) {
    for (const k of c.keys) {
      resources.push({
        type: 'local:key',
        name: k.id,
        inputs: { kind: k.kind, file: rel(keyFileOf(ctx.stackDir, k)), mode: '0600', privateKey: '[secret]' },
        op: existsSync(keyFileOf(ctx.stackDir, k)) ? 'same' : 'create',
      });
      if (!hasSigningKey(k, c.kind)) continue;
      // The SMR client's Ed25519 request-signing key, beside its X25519 key.
      resources.push({
        type: 'local:key',
        name: `${k.id}.sign`,
        inputs: {
          kind: 'client-signing',
          file: rel(signingKeyFileOf(ctx.stackDir, k)),
          mode: '0600',
          privateKey: '[secret]',
        },
        op: existsSync(signingKeyFileOf(ctx.stackDir, k)) ? 'same' : 'create',
      });
    }
  }
  const missing = new Map((await unsupported(plan)).map((u) => [u.name, u.roles]));
  const existing = await existingKeys(plan, ctx.stackDir);
  const specs = await buildSpecs(plan, ctx, d, existing.publicKeys, existing.signingKeys);
  for (const n of allNodes(plan)) {
    const spec = specs.get(n.id);
    const old = state?.nodes[n.id];
    const running = supAlive && sup?.nodes[n.id]?.pid;
    const hash = spec ? specHash(spec) : undefined;
    const p = stackPaths(ctx.stackDir);
    const held = existsSync(p.hold(n.id)) || existsSync(p.paused(n.id));
    const op = !old ? 'create' : hash && hash === old.specHash && running && !held ? 'same' : 'update';
    const inputs: Record<string, unknown> = {
      component: n.component,
      role: n.role,
      cloud: n.cloud,
      domain: n.domain,
      address: d.addresses.get(n.id),
      ports: n.ports,
      controlPort: n.controlPort,
    };
    if (missing.get(n.component)?.includes(n.role)) {
      inputs.unsupported = `${DeployCode.noNodeSoftware}: no node software for role ${n.role} (${n.kind}) in this release`;
    }
    const resource: PreviewResource = { type: 'local:process', name: n.id, inputs, op };
    if (op === 'update' && old && spec) {
      const specChanged = hash !== old.specHash;
      resource.restart = specChanged ? 'spec changed' : held ? 'held down or paused by chaos' : 'not running';
      resource.changes = specChanged ? specChanges(await previousSpec(old), spec) : [];
    }
    resources.push(resource);
  }
  const planned = new Set(allNodes(plan).map((n) => n.id));
  for (const id of Object.keys(state?.nodes ?? {})) {
    if (!planned.has(id)) resources.push({ type: 'local:process', name: id, inputs: {}, op: 'delete' });
  }
  const changes = resources.filter((r) => r.op !== 'same').length;
  return { resources, changes };
}

/** The spec a running node was started from; unreadable (damaged, deleted) means no field list, not an error. */
async function previousSpec(node: LocalState['nodes'][string]): Promise<NodeSpec | undefined> {
  try {
    return JSON.parse(await fs.readFile(node.specFile, 'utf8')) as NodeSpec;
  } catch {
    return undefined;
  }
}

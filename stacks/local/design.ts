/**
 * What a plan needs on this machine: a loopback address per node, a directory per bucket (inside the stack
 * directory, or a local cloud's own `path:`), and which components this build has no node software for.
 * Shared by preview and deploy, and the events and cancellation checks every step uses.
 */
import path from 'node:path';
import { rolesOf } from '../../components/kinds.js';
import type { ComponentPlan, Plan } from '../../components/plan-types.js';
import { ExitCode, TcError } from '../../kernel/errors.js';
import { DeployCode } from '../codes.js';
import type { DeployEvent, RealizeContext } from '../realizer.js';
import { assignAddresses } from './addresses.js';
import { stackPaths } from './paths.js';
import type { LocalBucketState } from './state.js';

export interface LocalDesign {
  addresses: Map<string, string>;
  buckets: LocalBucketState[];
  /** Cloud directories outside stackDir (clouds with `path:`), absolute. */
  externalClouds: string[];
}

export function design(plan: Plan, ctx: RealizeContext): LocalDesign {
  const topologyDir = path.dirname(ctx.topologyFile);
  const p = stackPaths(ctx.stackDir);
  const buckets: LocalBucketState[] = [];
  const externalClouds = new Set<string>();
  for (const [component, c] of Object.entries(plan.components)) {
    for (const b of c.buckets) {
      const cloud = plan.clouds[b.cloud];
      const cloudDir = cloud?.path ? path.resolve(topologyDir, cloud.path) : path.join(p.clouds, b.cloud);
      if (cloud?.path) externalClouds.add(cloudDir);
      buckets.push({ component, cloud: b.cloud, name: b.name, path: path.join(cloudDir, b.name) });
    }
  }
  return { addresses: assignAddresses(plan), buckets, externalClouds: [...externalClouds] };
}

/** Components whose node roles have no software in this build (kinds registry), with the roles missing. */
export async function unsupported(plan: Plan): Promise<Array<{ name: string; c: ComponentPlan; roles: string[] }>> {
  const out: Array<{ name: string; c: ComponentPlan; roles: string[] }> = [];
  for (const [name, c] of Object.entries(plan.components)) {
    const known = await rolesOf(c.kind);
    const missing = [...new Set(c.nodes.map((n) => n.role))].filter((r) => typeof known?.[r] !== 'function');
    if (missing.length > 0) out.push({ name, c, roles: missing });
  }
  return out;
}

export function unsupportedError(u: { name: string; c: ComponentPlan; roles: string[] }, more: number): TcError {
  const what =
    u.c.kind === 'storage'
      ? 'use mode client-resident for a local deployment (clients talk to the buckets directly, no gateways)'
      : `remove component "${u.name}" for a local deployment, or preview it on a cloud target: tclouds plan --target aws`;
  return new TcError(
    DeployCode.noNodeSoftware,
    `component "${u.name}" (${u.c.kind}) cannot run on the local target: this release has no node software for its role${u.roles.length > 1 ? 's' : ''} ${u.roles.join(', ')}${more > 0 ? ` (and ${more} more component${more > 1 ? 's' : ''})` : ''}`,
    { exit: ExitCode.invalid, hint: what, location: { path: `components.${u.name}` } },
  );
}

export function emit(ctx: RealizeContext, e: DeployEvent): void {
  ctx.onEvent(e);
}

export function aborted(ctx: RealizeContext): void {
  if (ctx.signal.aborted) {
    throw new TcError(DeployCode.interrupted, 'cancelled; nodes already started keep running under the supervisor', {
      exit: ExitCode.interrupted,
      hint: 'run `tclouds deploy` again to finish, or `tclouds destroy` to remove what was created',
    });
  }
}

/**
 * The interface every realizer implements: `local` (stacks/local, this machine's processes and directories)
 * and `aws` / `azure` / `gcp` / `clouds` (stacks/pulumi, `createPulumiRealizer(target)`).
 *
 * A realizer consumes only a Plan (components/plan-types.ts) and reports progress as DeployEvents, which the
 * commands turn into the Ink view, plain lines or newline-delimited JSON.
 */
import type { Plan } from '../components/plan-types.js';
import type { DeploymentOutputs } from '../runtime/node-spec.js';

/**
 * `clouds`: every aws, azure and gcp cloud of the topology as one deployment (one Pulumi stack); `aws`, `azure`,
 * `gcp`: the same for a topology whose clouds are all of that one provider.
 */
export type Target = 'local' | 'aws' | 'azure' | 'gcp' | 'clouds';
export const TARGETS: readonly Target[] = ['local', 'aws', 'azure', 'gcp', 'clouds'];

export type ResourceOp = 'create' | 'update' | 'delete' | 'replace' | 'same';

/** One progress event. `--json` prints each as one line: `{"event":{...}}`. */
export interface DeployEvent {
  /** `resource`: a cloud resource or local directory/key; `node`: a node process or VM; `log`: a free-form message. */
  kind: 'resource' | 'node' | 'log';
  /** Node id, resource URN/name, or a log topic. Stable across the events of one row. */
  id: string;
  /** Pulumi type token (`aws:ec2/instance:Instance`) or local kind (`local:bucket`, `local:process`). */
  type?: string;
  state: 'pending' | 'running' | 'done' | 'unchanged' | 'failed' | 'deleted';
  op?: ResourceOp;
  message?: string;
  /** Time since this row started, ms. */
  elapsedMs?: number;
}

export interface RealizeContext {
  /** Absolute path of the topology file. */
  topologyFile: string;
  /** `<topology dir>/.tclouds/<stack>/` (absolute). */
  stackDir: string;
  /** Aborted on Ctrl-C: stop starting new work, clean up what is half-done, release locks, then throw. */
  signal: AbortSignal;
  onEvent(e: DeployEvent): void;
  /** Pulumi state backend URL from `--backend` (cloud targets); else stacks/pulumi/backend.ts decides. */
  backend?: string;
  /** Pulumi secrets passphrase given by the caller (tests); else stacks/pulumi/backend.ts decides. Never logged. */
  passphrase?: string;
  /** Rolling updates: at most this many nodes of a component restart at once (capped at its f; default 1). */
  maxUnavailable?: number;
  /** Cloud targets: resolve VM images again instead of the ones pinned at the first deploy (replaces those VMs). */
  refreshImages?: boolean;
  /** Cloud targets: VMs install this published package (`tclouds@x.y.z`) instead of the deploy's own build. */
  nodePackage?: string;
}

/** Something a cloud deployment needs provider quota for (dedicated hosts, sole-tenant nodes, addresses). */
export interface QuotaNeed {
  provider: 'aws' | 'azure' | 'gcp';
  cloud: string;
  region: string;
  resource: string;
  count: number;
  note: string;
}

/** One changed field of a resource, by its dotted path (`config.batchSize`), with the values as short text. */
export interface FieldChange {
  field: string;
  /** Absent when the field is new. */
  before?: string;
  /** Absent when the field went away. */
  after?: string;
}

export interface PreviewResource {
  /** Pulumi type token or local kind (`local:process`, `local:bucket`, `local:key`, `local:directory`). */
  type: string;
  name: string;
  /** Key inputs; secrets are shown as "[secret]". */
  inputs: Record<string, unknown>;
  op: ResourceOp;
  /** For an update: the fields before and after (empty when the resource changes for another reason). */
  changes?: FieldChange[];
  /** For a node that a deploy would (re)start: why (`spec changed`, `not running`, `held down by chaos`). */
  restart?: string;
}

export interface Realizer {
  /**
   * What the target needs on this machine (cloud targets: the `pulumi` CLI), checked before a command asks,
   * prints progress or writes anything: a missing tool is one clear error, not "deploying ... deploy failed".
   */
  check?(): Promise<void>;
  /** `quota`: cloud targets list what needs provider quota before anything is created. */
  preview(
    plan: Plan,
    ctx: RealizeContext,
  ): Promise<{ resources: PreviewResource[]; changes: number; quota?: QuotaNeed[] }>;
  deploy(plan: Plan, ctx: RealizeContext): Promise<{ outputs: DeploymentOutputs; changes: number }>;
  destroy(ctx: RealizeContext & { keepData: boolean }): Promise<{ removed: number }>;
  outputs(ctx: RealizeContext): Promise<DeploymentOutputs | null>;
}

/**
 * Load the realizer of a target. Lazy: the Pulumi SDKs take most of a second to import and are loaded only
 * for cloud targets, so a local deploy never pays for them.
 */
export async function loadRealizer(target: Target): Promise<Realizer> {
  if (target === 'local') {
    const { createLocalRealizer } = await import('./local/index.js');
    return createLocalRealizer();
  }
  const mod = await import('./pulumi/index.js');
  return mod.createPulumiRealizer(target);
}

import { Flags } from '@oclif/core';
import { NdjsonCommand } from '../cli/ndjson-command.js';
import { interruptible, loadPlan, parseTarget, realizeContext, realizedTarget } from '../cli/session.js';
import { topologyFileArg, topologyFileFlag, topologyFileOf } from '../cli/topology-file.js';
import type { Plan } from '../components/plan-types.js';
import { style, table } from '../dashboard/style.js';
import { ExitCode } from '../kernel/errors.js';
import { changeText } from '../stacks/local/spec-diff.js';
import { resolveBackend } from '../stacks/pulumi/backend.js';
import { loadRealizer, type PreviewResource, type QuotaNeed, TARGETS, type Target } from '../stacks/realizer.js';
import { displayName } from '../topology/load.js';

export interface PlanResult {
  target: Target;
  stack: string;
  changes: number;
  resources: PreviewResource[];
  /** Cloud targets: what needs provider quota (dedicated hosts, sole-tenant nodes, addresses); [] for local. */
  quota: QuotaNeed[];
  /** What the target says about this plan (e.g. ports that stay closed, buckets leaving the topology). */
  targetNotes: string[];
  plan: Plan;
  /** Cloud targets: where a deploy keeps the Pulumi state and the secrets passphrase (no secret in it). */
  stateBackend?: string;
}

export default class PlanCommand extends NdjsonCommand {
  static override summary = 'Show what a deployment would create, offline';
  static override description =
    'Compiles the topology into the deployment plan (deterministic JSON: nodes with roles, clouds, fault domains ' +
    'and ports, buckets, links, keys, client configuration) and previews it on a target without changing anything.\n\n' +
    'local: lists the directories, keys, processes, 127.x addresses and ports, compared with what is deployed.\n' +
    'aws, azure, gcp, clouds: runs the real Pulumi program under Pulumi mocks (no cloud account, no pulumi CLI) and ' +
    'lists every resource with its type token, name and key inputs (secrets shown as "[secret]"); clouds shows every ' +
    'provider of the topology in its one program (a topology spanning providers needs clouds: TC335).\n\n' +
    'A node a deploy would restart is listed with why and, when its spec changes, each field before and after ' +
    '(`~ ledger-replica-0, ... restart (spec changed: config.batchSize 64 -> 128)`); a deploy restarts the replicas ' +
    'of a component one at a time (see deploy --help).\n\n' +
    'Cloud targets also list what needs provider quota before anything is created: dedicated hosts and sole-tenant ' +
    'nodes (a whole machine per fault domain) and static addresses per region.\n\n' +
    'With --json prints one line {"summary":{"target","stack","changes","resources","quota","targetNotes","plan","stateBackend"}} ' +
    '(stateBackend: cloud targets only, where a deploy keeps the Pulumi state and passphrase); a resource that ' +
    'changes has "restart" and "changes":[{"field","before","after"}]. ' +
    'Exit codes: 0 ok; 5 with --exit-code when a deploy would change something; 3 invalid topology.';
  static override examples = [
    '<%= config.bin %> plan',
    '<%= config.bin %> plan --target aws',
    "<%= config.bin %> plan --target clouds --json | jq '.summary.resources[].type'",
    '<%= config.bin %> plan tclouds.yaml --json | jq .summary.plan.components',
    '<%= config.bin %> plan --exit-code || echo "changes pending"',
  ];
  static override args = {
    file: topologyFileArg,
  };
  static override flags = {
    file: topologyFileFlag,
    target: Flags.string({ description: 'where to realize the plan', options: [...TARGETS], default: 'local' }),
    'exit-code': Flags.boolean({ description: 'exit 5 when a deploy would change something' }),
    backend: Flags.string({
      description: 'Pulumi state backend a deploy would use (cloud targets): s3://, azblob://, gs:// or file://',
    }),
  };

  async run(): Promise<{ summary: PlanResult }> {
    const { args, flags } = await this.parse(PlanCommand);
    const file = topologyFileOf(args.file, flags.file);
    const lp = await loadPlan(file);
    const target = realizedTarget(lp.plan, parseTarget(flags.target));
    if (target !== 'local') resolveBackend(lp.stackDir, flags.backend); // a bad --backend fails before the preview
    const realizer = await loadRealizer(target);
    const interrupt = interruptible();
    let preview: { resources: PreviewResource[]; changes: number; quota?: QuotaNeed[] };
    let stateBackend: string | undefined;
    const targetNotes: string[] = [];
    try {
      // The realizer's notes (cloud targets: the software the VMs install and its checksum, ports that stay shut,
      // buckets leaving the topology) join the plan's.
      preview = await realizer.preview(
        lp.plan,
        realizeContext(
          lp,
          interrupt.signal,
          (e) => {
            if (e.kind !== 'log' || e.state !== 'done' || !e.message) return;
            if (e.id === 'pulumi-state') stateBackend = e.message;
            else targetNotes.push(e.message);
          },
          flags.backend,
        ),
      );
    } finally {
      interrupt.dispose();
    }
    const result: PlanResult = {
      target,
      stack: lp.plan.stack,
      changes: preview.changes,
      resources: preview.resources,
      quota: preview.quota ?? [],
      targetNotes,
      plan: lp.plan,
      ...(stateBackend === undefined ? {} : { stateBackend }),
    };
    const human = () => this.render(result, displayName(lp.loaded.file));
    if (flags['exit-code'] && preview.changes > 0) this.finish({ summary: result }, ExitCode.changesPending, human);
    human();
    return { summary: result };
  }

  private render(r: PlanResult, shown: string): void {
    const out = process.stdout;
    this.log(`${style.bold(`plan of ${shown}`, out)}: stack ${r.stack}, mode ${r.plan.mode}, target ${r.target}`);
    for (const [name, c] of Object.entries(r.plan.components)) {
      const roles = Object.entries(
        c.nodes.reduce<Record<string, number>>((acc, n) => {
          acc[n.role] = (acc[n.role] ?? 0) + 1;
          return acc;
        }, {}),
      )
        .map(([role, k]) => `${k} ${role}`)
        .join(', ');
      const layouts = Object.entries(c.layouts)
        .map(([cloud, l]) => `${cloud} [${l.layout.join(',')}]${l.method === 'advisor' ? '' : ` ${l.method}`}`)
        .join('; ');
      this.log(
        `  ${name} (${c.kind}, f=${c.f}${c.housing === 'servers' || c.housing === 'none' ? '' : `, ${c.housing}`}): ` +
          `${roles || 'no nodes'}${c.buckets.length ? `, ${c.buckets.length} buckets` : ''}${layouts ? `; hosts ${layouts}` : ''}`,
      );
    }
    for (const n of [...r.plan.notes, ...r.targetNotes]) this.log(style.dim(`  note: ${n}`, out));
    this.log('');
    const sign = { create: '+', update: '~', replace: '±', delete: '-', same: ' ' } as const;
    this.log(
      table(
        ['', 'TYPE', 'NAME', 'KEY INPUTS'],
        r.resources.map((res) => [sign[res.op], res.type, res.name, summarizeInputs(res.inputs)]),
      ),
    );
    if (r.quota.length > 0) {
      this.log('');
      this.log(style.bold('needs quota (check your limits before deploying):', out));
      for (const q of r.quota)
        this.log(`  ${q.provider} ${q.region} (cloud ${q.cloud}): ${q.count} ${q.resource} - ${q.note}`);
    }
    const restarts = restartLines(r.resources);
    if (restarts.length > 0) {
      this.log('');
      for (const line of restarts) this.log(line);
    }
    this.log('');
    if (r.stateBackend) this.log(style.dim(r.stateBackend, out));
    this.log(
      r.changes === 0
        ? style.green('no changes: the deployment matches the plan', out)
        : `${r.changes} change${r.changes === 1 ? '' : 's'}: ${countOps(r.resources)}`,
    );
  }
}

/**
 * Which nodes a deploy restarts and what changes in them, one line per group of nodes with the same changes (the
 * four replicas of a component whose batch size changes are one line, not four).
 */
export function restartLines(resources: readonly PreviewResource[]): string[] {
  const groups = new Map<string, string[]>();
  for (const r of resources) {
    if (!r.restart) continue;
    const what = r.changes?.length ? `: ${r.changes.map(changeText).join('; ')}` : '';
    const key = `${r.restart}${what}`;
    groups.set(key, [...(groups.get(key) ?? []), r.name]);
  }
  return [...groups].map(([why, names]) => `  ~ ${names.join(', ')} restart${names.length === 1 ? 's' : ''} (${why})`);
}

function countOps(resources: PreviewResource[]): string {
  const c: Record<string, number> = {};
  for (const r of resources) if (r.op !== 'same') c[r.op] = (c[r.op] ?? 0) + 1;
  return Object.entries(c)
    .map(([op, n]) => `${n} to ${op}`)
    .join(', ');
}

/** Key inputs on one line, long values cut, so the table stays readable at 120 columns. */
function summarizeInputs(inputs: Record<string, unknown>): string {
  const parts = Object.entries(inputs).map(([k, v]) => {
    const text = typeof v === 'string' ? v : JSON.stringify(v);
    return `${k}=${text && text.length > 60 ? `${text.slice(0, 57)}...` : text}`;
  });
  return parts.join(' ');
}

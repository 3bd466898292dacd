import { Flags } from '@oclif/core';
import { WAIT_MODES, waitForQuorums } from '../cli/deploy-wait.js';
import { recordEvent } from '../cli/log-events.js';
import { NdjsonCommand } from '../cli/ndjson-command.js';
import {
  confirmChange,
  interruptible,
  loadPlan,
  parseTarget,
  progressSink,
  realizeContext,
  realizedTarget,
} from '../cli/session.js';
import { parseDuration } from '../cli/storage-command.js';
import { topologyFileArg, topologyFileFlag, topologyFileOf } from '../cli/topology-file.js';
import { allNodes } from '../components/plan.js';
import { stackPaths } from '../stacks/local/paths.js';
import { DEFAULT_MAX_UNAVAILABLE } from '../stacks/local/rollout.js';
import { resolveBackend } from '../stacks/pulumi/backend.js';
import { loadRealizer, TARGETS, type Target } from '../stacks/realizer.js';
import { displayName } from '../topology/load.js';

export interface DeploySummary {
  command: 'deploy';
  target: Target;
  stack: string;
  /** Resources or nodes created, updated or deleted. 0 means "nothing to do" (exit 0). */
  changes: number;
  nothingToDo: boolean;
  nodes: number;
  buckets: number;
  planDigest: string;
  /** local: path of outputs.json. */
  outputsFile?: string;
  elapsedMs: number;
}

export default class Deploy extends NdjsonCommand {
  static override jsonOutput = 'events' as const;
  static override summary = 'Create or update a deployment of the topology';
  static override description =
    'Compiles the plan and realizes it. local (default): buckets as directories and nodes as `tclouds node run` ' +
    'processes on 127.x addresses under .tclouds/<stack>/, kept running by a per-stack supervisor. ' +
    'clouds: every aws, azure and gcp cloud of the topology in one deployment (one Pulumi program and stack, ' +
    '<stack>-clouds): every node address is created first and every node spec names every peer, so one deploy ' +
    "yields working nodes on all providers; for a topology of one provider it is that provider's target. aws, azure, " +
    'gcp: a topology whose clouds are all of that provider (one that spans several is TC335: use clouds). Nodes on ' +
    '`provider: local` clouds run only under --target local; a component with nodes on local and cloud clouds is ' +
    'TC389. Cloud targets: Pulumi Automation API; need the pulumi CLI but no Pulumi account: state in a file backend in ' +
    'the stack directory (.tclouds/<stack>/pulumi-state; --backend or TCLOUDS_PULUMI_BACKEND for a shared ' +
    's3://, azblob:// or gs:// bucket), secrets with the passphrase provider (PULUMI_CONFIG_PASSPHRASE or ' +
    'PULUMI_CONFIG_PASSPHRASE_FILE, else one generated once into .tclouds/<stack>/pulumi-passphrase, 0600). The ' +
    'first event says which. `tclouds doctor --target aws` checks what a cloud deploy needs. The VMs install this ' +
    'build, packed and uploaded to a private artifact store of the stack that only the node identities may read ' +
    '(checked against its SHA-256), unless --node-package names a published version.\n\n' +
    'Idempotent: nodes whose spec did not change keep running; a deploy with nothing to change says so and exits 0.\n' +
    'Rolling (local): running nodes whose spec changed restart in waves of at most --max-unavailable nodes of a ' +
    'component (default 1, never more than its f; storage gateways one at a time), the next only once the restarted ' +
    'one is healthy and has decided what its group had decided when it stopped. A node that fails stops the rollout ' +
    '(TC318) with the others still serving: deploy again to resume. `tclouds plan` lists what each node restarts for.\n' +
    "Rolling (aws, azure, gcp): a spec change updates the node's secret and replaces no VM; after pulumi up the nodes " +
    'whose spec changed restart by the same rule through their control ports (open only to clients.cidrs: without ' +
    'it deploy says which nodes keep their old spec until their next restart).\n' +
    'Cloud targets pin the Ubuntu image each region resolved to at the first deploy (a newer image never replaces ' +
    'VMs); --refresh-images resolves it again. Buckets a destroy kept are adopted (imported with their data) by the ' +
    'next deploy of the stack.\n' +
    'Asks for confirmation on a terminal; --yes skips it, and without a terminal --yes is required.\n\n' +
    'With --json prints newline-delimited JSON: one {"event":{kind,id,type,state,op,message,elapsedMs}} per line, ' +
    'then {"summary":{command,target,stack,changes,nothingToDo,nodes,buckets,planDigest,outputsFile,elapsedMs}}.\n' +
    '--wait healthy then polls the nodes as `tclouds status` does until every component has its quorum.\n' +
    'Exit codes: 0 deployed or nothing to do, 1 failed (TC318: rollout stopped), 8 not healthy by --timeout (TC319), 2 confirmation needed or bad --backend (TC320), 3 invalid topology or unsupported ' +
    'component, 6 locked by another deploy, 7 pulumi CLI missing, 130 cancelled by Ctrl-C.';
  static override examples = [
    '<%= config.bin %> deploy',
    '<%= config.bin %> deploy prod.yaml --yes',
    '<%= config.bin %> deploy --target aws --yes --json',
    '<%= config.bin %> deploy --target clouds --yes',
    '<%= config.bin %> deploy --target gcp --yes --backend gs://my-team-tclouds-state',
    '<%= config.bin %> deploy --target gcp --yes --node-package tclouds@0.1.0',
    '<%= config.bin %> deploy --yes --max-unavailable 2',
    '<%= config.bin %> deploy --yes --wait healthy --timeout 5m',
    '<%= config.bin %> deploy --target aws --refresh-images --yes',
  ];
  static override args = {
    file: topologyFileArg,
  };
  static override flags = {
    file: topologyFileFlag,
    target: Flags.string({
      description: 'where to deploy (clouds: every aws, azure and gcp cloud of the topology in one deployment)',
      options: [...TARGETS],
      default: 'local',
    }),
    yes: Flags.boolean({ char: 'y', description: 'do not ask for confirmation' }),
    backend: Flags.string({
      description:
        'Pulumi state backend (cloud targets): s3://BUCKET, azblob://CONTAINER, gs://BUCKET or file://DIR; default a file backend in the stack directory (env TCLOUDS_PULUMI_BACKEND)',
    }),
    wait: Flags.string({
      description: 'after deploying, wait until every component has its quorum (exit 8 if not by --timeout)',
      options: [...WAIT_MODES],
      default: 'none',
    }),
    timeout: Flags.string({ description: 'how long --wait healthy waits, e.g. 90s or 5m', default: '5m' }),
    'node-package': Flags.string({
      description:
        'cloud targets: VMs install this published package (e.g. tclouds@0.1.0) instead of this build, uploaded as the stack artifact',
    }),
    'max-unavailable': Flags.integer({
      description: 'rolling update: nodes of one component restarted at once (capped at its f)',
      default: DEFAULT_MAX_UNAVAILABLE,
      min: 1,
    }),
    'refresh-images': Flags.boolean({
      description:
        'aws, azure, gcp: resolve the newest Ubuntu image again instead of the one pinned at the first deploy (replaces the VMs whose image changed)',
    }),
  };

  async run(): Promise<{ summary: DeploySummary }> {
    const t0 = Date.now();
    const { args, flags } = await this.parse(Deploy);
    const file = topologyFileOf(args.file, flags.file);
    const requested = parseTarget(flags.target);
    const waitMs = parseDuration(flags.timeout, 'timeout', 'TC033');
    const lp = await loadPlan(file);
    const target = realizedTarget(lp.plan, requested);
    if (target !== 'local') resolveBackend(lp.stackDir, flags.backend); // a bad --backend fails before anything
    const realizer = await loadRealizer(target);
    await realizer.check?.();
    const interrupt = interruptible();
    try {
      const quiet = {
        ...realizeContext(lp, interrupt.signal, () => {}, flags.backend),
        maxUnavailable: flags['max-unavailable'],
        ...(flags['refresh-images'] ? { refreshImages: true } : {}),
        ...(flags['node-package'] ? { nodePackage: flags['node-package'] } : {}),
      };
      // Ask only when something would change (a local preview is cheap; cloud targets always ask).
      if (!flags.yes) {
        const changes = target === 'local' ? (await realizer.preview(lp.plan, quiet)).changes : 1;
        if (changes > 0) {
          await confirmChange(
            `Deploy stack ${lp.plan.stack} from ${displayName(lp.loaded.file)} to ${target} (${changes} change${changes === 1 ? '' : 's'})?`,
            false,
          );
        }
      }
      const sink = await progressSink({ json: this.jsonEnabled() }, `deploying ${lp.plan.stack} to ${target}`);
      let result: Awaited<ReturnType<typeof realizer.deploy>>;
      try {
        result = await realizer.deploy(lp.plan, { ...quiet, onEvent: (e) => sink.onEvent(e) });
      } catch (e) {
        await sink.finish('deploy failed');
        throw e;
      }
      const summary: DeploySummary = {
        command: 'deploy',
        target,
        stack: lp.plan.stack,
        changes: result.changes,
        nothingToDo: result.changes === 0,
        nodes: allNodes(lp.plan).length,
        buckets: Object.values(lp.plan.components).reduce((a, c) => a + c.buckets.length, 0),
        planDigest: result.outputs.planDigest,
        ...(target === 'local' ? { outputsFile: stackPaths(lp.stackDir).outputs } : {}),
        elapsedMs: Date.now() - t0,
      };
      // Event-driven logging: the stack's log components record who deployed what (cli/log-events.ts).
      const logged = await recordEvent(lp.stackDir, target, 'tclouds.deploy', deployEventText(summary));
      await sink.finish(
        summary.nothingToDo
          ? `nothing to do: ${lp.plan.stack} on ${target} already matches the plan`
          : `deployed ${lp.plan.stack} to ${target}: ${summary.changes} change${summary.changes === 1 ? '' : 's'}, ` +
              `${summary.nodes} node${summary.nodes === 1 ? '' : 's'}, ${summary.buckets} bucket${summary.buckets === 1 ? '' : 's'} ` +
              `in ${(summary.elapsedMs / 1000).toFixed(1)}s`,
      );
      for (const w of logged) this.note(w);
      if (flags.wait === 'healthy') {
        this.note(`waiting until every component of ${lp.plan.stack} has its quorum (at most ${flags.timeout})`);
        await waitForQuorums(file, waitMs, interrupt.signal);
        this.note('healthy: every component has its quorum');
      }
      return { summary };
    } finally {
      interrupt.dispose();
    }
  }
}

function deployEventText(s: DeploySummary): string {
  return `deploy of stack ${s.stack} to ${s.target}: ${s.changes} change(s), ${s.nodes} node(s), plan ${s.planDigest.slice(0, 12)}`;
}

import { Flags } from '@oclif/core';
import { killOrPause } from '../chaos/actions.js';
import { TcCommand } from '../cli/base-command.js';
import { onInterrupt } from '../cli/interrupt.js';
import { jsonText } from '../cli/json-numbers.js';
import { TOPOLOGY_FILE_ENV } from '../cli/topology-file.js';
import type { StatusReport } from '../dashboard/status-model.js';
import { renderStatusText } from '../dashboard/status-text.js';
import type { DashboardActions } from '../dashboard/status-view.js';
import { type StatusOptions, statusOnce, watchStatus } from '../dashboard/status-watch.js';
import { ExitCode } from '../kernel/errors.js';
import { loadKeepProbability } from '../placement/keep-probability.js';
import { type Deployment, loadDeployment } from '../stacks/deployment.js';

export default class Status extends TcCommand {
  static override jsonOutput = 'events' as const;
  static override summary = 'Show the health of a deployment: nodes, quorums, faults tolerated, placement risk';
  static override description =
    'Reads the deployment outputs (.tclouds/<stack>/outputs.json) and polls every node (GET /health and ' +
    'GET /metrics on its control port, short timeouts). For each component it shows the nodes (role, cloud, ' +
    'fault domain, address, state, uptime; SMR: leader, regency, last decided instance; storage: objects and ' +
    'bytes per cloud, and the data units a cloud lacks that the others hold) and a verdict: how many more ' +
    'faults the component tolerates right now, or QUORUM LOST. A storage cloud lacking data units counts as a ' +
    'fault, and objects on fewer clouds than a read needs plus f are counted as at risk (`tclouds storage scrub ' +
    '--repair` restores them). ' +
    "The placement panel shows the VMs per fault domain and the placement advisor's probability of keeping " +
    'the majority after the next faults of the configured threat, computed from the nodes that are up.\n\n' +
    'On a terminal this is a live dashboard: arrows or j/k select a node, enter shows its details and last ' +
    'log lines, x kills it and p pauses it (local target, after a confirmation; undo with `tclouds chaos ' +
    'resume`), q quits. Without a terminal it prints one table (repeated with --watch). --json prints one ' +
    'JSON document; --watch --json prints one document per line.\n\n' +
    'Exit codes: 0, or 8 when a component has lost its quorum (one-shot modes), 4 no deployment found.';
  static override examples = [
    '<%= config.bin %> status',
    '<%= config.bin %> status --file deploy/tclouds.yaml',
    '<%= config.bin %> status --json | jq ".components[] | {name, verdictLine}"',
    '<%= config.bin %> status --watch --json --interval 500',
  ];
  static override flags = {
    file: Flags.string({
      char: 'f',
      env: TOPOLOGY_FILE_ENV,
      description: 'topology file of the deployment (default ./tclouds.yaml)',
    }),
    stack: Flags.string({ description: 'stack name, when .tclouds holds several and no topology file is given' }),
    watch: Flags.boolean({ char: 'w', description: 'keep refreshing (implied on a terminal)', default: false }),
    interval: Flags.integer({ description: 'refresh interval in ms', default: 1000, min: 250, max: 60_000 }),
    timeout: Flags.integer({ description: 'per-node probe timeout in ms', default: 400, min: 50, max: 10_000 }),
    faults: Flags.integer({
      description: 'placement panel: predict the next 1..N faults',
      default: 3,
      min: 1,
      max: 10,
    }),
  };

  async run(): Promise<StatusReport | undefined> {
    const { flags } = await this.parse(Status);
    const opts: StatusOptions = {
      deployment: await loadDeployment(flags.file, flags.stack),
      timeoutMs: flags.timeout,
      nextFaults: flags.faults,
      keepProbability: await loadKeepProbability(),
    };
    const json = this.jsonEnabled();
    if (!json && process.stdout.isTTY && process.stdin.isTTY) {
      const { runLiveDashboard } = await import('../dashboard/status-live.js');
      await runLiveDashboard({ ...opts, intervalMs: flags.interval, actions: dashboardActions(opts.deployment) });
      return undefined;
    }
    if (!flags.watch) {
      const report = await statusOnce(opts);
      const exit = report.summary.quorumLost.length > 0 ? ExitCode.unavailable : ExitCode.ok;
      if (exit !== ExitCode.ok) this.finish(report, exit, () => this.log(renderStatusText(report)));
      if (!json) this.log(renderStatusText(report));
      return report;
    }
    // --watch without a terminal: a document (or a table) per interval until interrupted.
    const interrupt = onInterrupt();
    try {
      for await (const report of watchStatus({ ...opts, intervalMs: flags.interval, signal: interrupt.signal })) {
        if (json) process.stdout.write(`${jsonText(report)}\n`);
        else this.log(`${renderStatusText(report)}\n`);
      }
    } finally {
      interrupt.dispose();
    }
    return undefined;
  }
}

/** The dashboard's kill and pause keys: chaos actions on the local target, nothing elsewhere. */
function dashboardActions(dep: Deployment): DashboardActions | null {
  if (dep.outputs.target !== 'local') return null;
  const byId = new Map(Object.values(dep.outputs.components).flatMap((c) => c.nodes.map((n) => [n.id, n] as const)));
  const act = async (action: 'kill' | 'pause', id: string): Promise<string> => {
    const [r] = await killOrPause(dep, action, [byId.get(id)!]);
    return r!.ok ? `${id}: ${r!.message}; undo with \`tclouds chaos resume --node ${id}\`` : `${id}: ${r!.message}`;
  };
  return { kill: (id) => act('kill', id), pause: (id) => act('pause', id) };
}

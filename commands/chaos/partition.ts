import { type ActionResult, partition, requireLocal, resolveTargets } from '../../chaos/actions.js';
import { confirmAction, deploymentFlags, renderResults, selectorOf, targetFlags, yesFlag } from '../../chaos/cli.js';
import { TcCommand } from '../../cli/base-command.js';
import { loadDeployment } from '../../dashboard/poll.js';
import { ExitCode } from '../../runtime/errors.js';

export default class ChaosPartition extends TcCommand {
  static override summary = 'Cut nodes off from the rest of their component (both directions)';
  static override description =
    'Each target node is told, through its node host admin endpoint (POST /admin/partition {"block":[peer ids]} ' +
    'with the bearer token of keys/admin.token), to refuse traffic from every node of its component outside the ' +
    'target group, and those nodes are told to refuse the targets. This works on loopback without root or ' +
    'firewall rules. Undo with `tclouds chaos heal`. Local target only; asks for confirmation (--yes skips).\n\n' +
    'With --json prints {"action":"partition","targets","results":[...]}. Exit 1 when a node did not accept it.';
  static override examples = [
    '<%= config.bin %> chaos partition --node ledger-replica-3',
    '<%= config.bin %> chaos partition --host 1 --cloud local-b --yes',
  ];
  static override flags = { ...deploymentFlags, ...targetFlags, ...yesFlag };

  async run(): Promise<{ action: 'partition'; targets: string[]; results: ActionResult[] }> {
    const { flags } = await this.parse(ChaosPartition);
    const dep = await loadDeployment(flags.file, flags.stack);
    requireLocal(dep);
    const targets = resolveTargets(dep, selectorOf(flags));
    await confirmAction(
      `partition ${targets.map((t) => t.id).join(', ')} from the rest of their components?`,
      flags.yes,
    );
    const results = await partition(dep, targets);
    const value = { action: 'partition' as const, targets: targets.map((t) => t.id), results };
    if (results.some((r) => !r.ok)) this.finish(value, ExitCode.failure, () => this.log(renderResults(results)));
    this.log(renderResults(results));
    return value;
  }
}

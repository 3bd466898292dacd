import { type ActionResult, killOrPause, requireLocal, resolveTargets } from '../../chaos/actions.js';
import { confirmAction, deploymentFlags, renderResults, selectorOf, targetFlags, yesFlag } from '../../chaos/cli.js';
import { TcCommand } from '../../cli/base-command.js';
import { loadDeployment } from '../../dashboard/poll.js';
import { ExitCode } from '../../runtime/errors.js';

export default class ChaosKill extends TcCommand {
  static override summary = 'Kill nodes (SIGKILL) and hold them down until `chaos resume`';
  static override description =
    'The node processes are killed with SIGKILL and held down: the local supervisor does not restart them until `tclouds chaos resume` (or a deploy). --host D --cloud C kills every node on one physical machine (a whole fault domain), as in the placement paper. Local target only. Asks for confirmation on a terminal; --yes skips it, and without a terminal --yes is required.\n\n' +
    'With --json prints {"action","targets","results":[{"node","action","ok","message"}]}. Exit 1 when an action failed.';
  static override examples = [
    '<%= config.bin %> chaos kill --node ledger-replica-0',
    '<%= config.bin %> chaos kill --host 0 --cloud local-a --yes',
  ];
  static override flags = { ...deploymentFlags, ...targetFlags, ...yesFlag };

  async run(): Promise<{ action: 'kill'; targets: string[]; results: ActionResult[] }> {
    const { flags } = await this.parse(ChaosKill);
    const dep = await loadDeployment(flags.file, flags.stack);
    requireLocal(dep);
    const targets = resolveTargets(dep, selectorOf(flags));
    await confirmAction(`kill ${targets.map((t) => t.id).join(', ')} of stack ${dep.outputs.stack}?`, flags.yes);
    const results = await killOrPause(dep, 'kill', targets);
    const value = { action: 'kill' as const, targets: targets.map((t) => t.id), results };
    if (results.some((r) => !r.ok)) this.finish(value, ExitCode.failure, () => this.log(renderResults(results)));
    this.log(renderResults(results));
    return value;
  }
}

import { killOrPause } from '../../chaos/actions.js';
import {
  deploymentFlags,
  renderResults,
  type TargetActionValue,
  targetAction,
  targetFlags,
  yesFlag,
} from '../../chaos/cli.js';
import { TcCommand } from '../../cli/base-command.js';
import { ExitCode } from '../../runtime/errors.js';

export default class ChaosKill extends TcCommand {
  static override summary = 'Kill nodes (SIGKILL) and hold them down until `chaos resume`';
  static override description =
    'The node processes are killed with SIGKILL and held down: the local supervisor does not restart them until `tclouds chaos resume` (or a deploy). --host D --cloud C kills every node on one physical machine (a whole fault domain), as in the placement paper. Local target only. Asks for confirmation on a terminal; --yes skips it, and without a terminal --yes is required.\n\n' +
    'With --json prints {"action","targets","results":[{"node","action","ok","message"}]}. Exit 1 when an action failed.';
  static override examples = [
    '<%= config.bin %> chaos kill --node ledger-replica-0',
    '<%= config.bin %> chaos kill --host 0 --cloud local-1 --yes',
  ];
  static override flags = { ...deploymentFlags, ...targetFlags, ...yesFlag };

  async run(): Promise<TargetActionValue<'kill'>> {
    const { flags } = await this.parse(ChaosKill);
    const value = await targetAction(flags, 'kill', (ids, stack) => `kill ${ids} of stack ${stack}?`, (dep, targets) => killOrPause(dep, 'kill', targets));
    const { results } = value;
    if (results.some((r) => !r.ok)) this.finish(value, ExitCode.failure, () => this.log(renderResults(results)));
    this.log(renderResults(results));
    return value;
  }
}

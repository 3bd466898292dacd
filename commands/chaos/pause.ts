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

export default class ChaosPause extends TcCommand {
  static override summary = 'Pause nodes (SIGSTOP) until `chaos resume`';
  static override description =
    'The node processes are stopped with SIGSTOP: they keep their sockets but answer nothing, like a frozen VM. Undo with `tclouds chaos resume`. --host D --cloud C pauses every node on one physical machine. Local target only. Asks for confirmation on a terminal; --yes skips it, and without a terminal --yes is required.\n\n' +
    'With --json prints {"action","targets","results":[{"node","action","ok","message"}]}. Exit 1 when an action failed.';
  static override examples = [
    '<%= config.bin %> chaos pause --node ledger-replica-0',
    '<%= config.bin %> chaos pause --host 0 --cloud local-1 --yes',
  ];
  static override flags = { ...deploymentFlags, ...targetFlags, ...yesFlag };

  async run(): Promise<TargetActionValue<'pause'>> {
    const { flags } = await this.parse(ChaosPause);
    const value = await targetAction(flags, 'pause', (ids, stack) => `pause ${ids} of stack ${stack}?`, (dep, targets) => killOrPause(dep, 'pause', targets));
    const { results } = value;
    if (results.some((r) => !r.ok)) this.finish(value, ExitCode.failure, () => this.log(renderResults(results)));
    this.log(renderResults(results));
    return value;
  }
}

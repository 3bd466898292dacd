import { killOrPause } from '../../chaos/actions.js';
import {
  ChaosActionCommand,
  deploymentFlags,
  type TargetActionValue,
  targetFlags,
  yesFlag,
} from '../../cli/chaos-command.js';

export default class ChaosPause extends ChaosActionCommand {
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
    return this.targetAction(
      flags,
      'pause',
      (ids, stack) => `pause ${ids} of stack ${stack}?`,
      (dep, targets) => killOrPause(dep, 'pause', targets),
    );
  }
}

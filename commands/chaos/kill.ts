import { killOrPause } from '../../chaos/actions.js';
import {
  ChaosActionCommand,
  deploymentFlags,
  type TargetActionValue,
  targetFlags,
  yesFlag,
} from '../../cli/chaos-command.js';

export default class ChaosKill extends ChaosActionCommand {
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
    return this.targetAction(
      flags,
      'kill',
      (ids, stack) => `kill ${ids} of stack ${stack}?`,
      (dep, targets) => killOrPause(dep, 'kill', targets),
    );
  }
}

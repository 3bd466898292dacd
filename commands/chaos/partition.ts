import { partition } from '../../chaos/actions.js';
import {
  ChaosActionCommand,
  deploymentFlags,
  type TargetActionValue,
  targetFlags,
  yesFlag,
} from '../../cli/chaos-command.js';

export default class ChaosPartition extends ChaosActionCommand {
  static override summary = 'Cut nodes off from the rest of their component (both directions)';
  static override description =
    'Each target node is told, through its node host admin endpoint (POST /admin/partition {"block":[peer ids]} ' +
    'with the admin token of that node: keys/<node>.admin.token, else keys/admin.token), to refuse traffic from every node of its component outside the ' +
    'target group, and those nodes are told to refuse the targets. This works on loopback without root or ' +
    'firewall rules. Undo with `tclouds chaos heal`. Local target only; asks for confirmation (--yes skips).\n\n' +
    'With --json prints {"action":"partition","targets","results":[...]}. Exit 1 when a node did not accept it.';
  static override examples = [
    '<%= config.bin %> chaos partition --node ledger-replica-3',
    '<%= config.bin %> chaos partition --host 0 --cloud local-2 --yes',
  ];
  static override flags = { ...deploymentFlags, ...targetFlags, ...yesFlag };

  async run(): Promise<TargetActionValue<'partition'>> {
    const { flags } = await this.parse(ChaosPartition);
    return this.targetAction(
      flags,
      'partition',
      (ids) => `partition ${ids} from the rest of their components?`,
      partition,
    );
  }
}

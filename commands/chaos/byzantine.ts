import { Flags } from '@oclif/core';
import { type ActionResult, requireLocal, resolveTargets } from '../../chaos/actions.js';
import {
  checkByzantineTargets,
  checkService,
  faultModesOf,
  knownFaultModes,
  type ServiceCheck,
  setMisbehaviour,
} from '../../chaos/byzantine.js';
import {
  ChaosActionCommand,
  confirmAction,
  deploymentFlags,
  renderResults,
  selectorOf,
  targetFlags,
  yesFlag,
} from '../../cli/chaos-command.js';
import { style } from '../../dashboard/style.js';
import { loadDeployment } from '../../stacks/deployment.js';

export interface ByzantineValue {
  action: 'byzantine';
  mode: string;
  targets: string[];
  results: ActionResult[];
  /** One client check per component touched (null check: not run, see --no-check or a user service). */
  checks: ServiceCheck[];
  /** Every check read back what it wrote (true when none ran). */
  correct: boolean;
}

export default class ChaosByzantine extends ChaosActionCommand {
  static override summary = 'Make nodes misbehave (Byzantine) until `chaos heal`';
  static override description =
    'Switches the target nodes into a misbehaviour mode through their node host (POST /admin/fault {"mode"} with ' +
    'the admin token of that node, keys/<node>.admin.token or else keys/admin.token); they keep running and ' +
    'answering /health, which reports the mode. ' +
    'The modes a node has come from its component kind; SMR replicas have: silent (sends nothing), ' +
    'wrong-replies (answers clients a wrong result, orders correctly), equivocate (as leader, sends each peer a ' +
    'different batch), censor (drops client requests: as leader never proposes them, so the followers force a ' +
    'leader change; as follower never forwards them). Nodes of kinds without modes (e.g. storage gateways) are ' +
    'refused. Then an ordered write and an ordered read go through the real client of each affected component, ' +
    'which accepts a result only from f+1 matching replies: with f or fewer misbehaving replicas it must read back ' +
    'what it wrote. Undo with `tclouds chaos heal` (a node restarted by the supervisor comes back correct). The ' +
    'switch is on for every local deployment; cloud deployments have it only when the topology sets ' +
    '`chaos: { byzantine: true }` on the component, and chaos itself acts on the local target only. Asks for ' +
    'confirmation on a terminal; --yes skips it, and without a terminal --yes is required.\n\n' +
    'With --json prints {"action":"byzantine","mode","targets","results":[{"node","action","ok","message"}],' +
    '"checks":[{"component","ok","key","wrote","read","latencyMs","error"}],"correct"}. Exit 1 when a node did ' +
    'not switch; a failed check is reported ("correct": false), not an error, since more than f liars may be the point.';
  static override examples = [
    '<%= config.bin %> chaos byzantine --node ledger-replica-1 --mode wrong-replies',
    '<%= config.bin %> chaos byzantine --node ledger-replica-0 --mode censor --yes --json',
    '<%= config.bin %> chaos byzantine --host 0 --cloud local-1 --component ledger --mode silent --yes',
  ];
  static override flags = {
    ...deploymentFlags,
    ...targetFlags,
    mode: Flags.option({
      options: knownFaultModes(),
      description: 'misbehaviour mode (the modes of the node kind; `chaos heal` sets it back to none)',
      required: true,
    })(),
    check: Flags.boolean({
      description: 'after switching, write and read through the real client (--no-check skips)',
      default: true,
      allowNo: true,
    }),
    'check-timeout': Flags.integer({ description: 'ms the client check may take', default: 20_000, min: 100 }),
    ...yesFlag,
  };

  async run(): Promise<ByzantineValue> {
    const { flags } = await this.parse(ChaosByzantine);
    const dep = await loadDeployment(flags.file, flags.stack);
    requireLocal(dep);
    const targets = resolveTargets(dep, selectorOf(flags));
    // Refuse unsupported targets before asking: the question must not be answered for nothing.
    checkByzantineTargets(dep, targets, flags.mode);
    const ids = targets.map((t) => t.id);
    await confirmAction(`make ${ids.join(', ')} of stack ${dep.outputs.stack} misbehave (${flags.mode})?`, flags.yes);
    const results = await setMisbehaviour(dep, targets, flags.mode);
    await this.recordChaos(dep, 'byzantine', results);
    const components = [...new Set(targets.map((t) => faultModesOf(dep, t.id).component))].sort();
    const checks: ServiceCheck[] = [];
    if (flags.check && results.some((r) => r.ok)) {
      for (const c of components) {
        const check = await checkService(dep, c, flags['check-timeout']);
        if (check) checks.push(check);
      }
    }
    const value: ByzantineValue = {
      action: 'byzantine',
      mode: flags.mode,
      targets: ids,
      results,
      checks,
      correct: checks.every((c) => c.ok),
    };
    return this.reportResults(value, results, () => {
      this.log(renderResults(results));
      for (const c of checks) this.log(renderCheck(c));
      this.log('undo with `tclouds chaos heal`');
    });
  }
}

function renderCheck(c: ServiceCheck): string {
  return c.ok
    ? `${style.green('correct', process.stdout)} ${c.component}: ordered write and read answered right (${c.latencyMs} ms)`
    : `${style.red('WRONG', process.stdout)}   ${c.component}: ${c.error ?? 'wrong answer'} (${c.latencyMs} ms)`;
}

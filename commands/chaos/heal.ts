import { type ActionResult, hasSelector, heal, requireLocal, resolveTargets } from '../../chaos/actions.js';
import { healMisbehaviour } from '../../chaos/byzantine.js';
import { restoreCorrupted } from '../../chaos/corrupt.js';
import {
  ChaosActionCommand,
  deploymentFlags,
  noConfirmFlag,
  renderResults,
  selectorOf,
  targetFlags,
} from '../../cli/chaos-command.js';
import { loadDeployment } from '../../stacks/deployment.js';

export default class ChaosHeal extends ChaosActionCommand {
  static override summary = 'Heal partitions and misbehaving nodes, restore corrupted object copies';
  static override description =
    'Undoes `tclouds chaos partition` with the same selector: the target nodes (default: every node of the ' +
    'stack) accept traffic from every peer again, and every other node stops refusing the targets (a partition ' +
    'cuts both ways, so does healing it; blocks against nodes outside the selector stay). Target nodes switched by ' +
    '`tclouds chaos byzantine` (default: every node whose kind has misbehaviour modes) are set back to mode none; one ' +
    'that is not running comes back correct anyway. Without a target it also puts back the original bytes of every copy that ' +
    '`tclouds chaos corrupt` damaged, unless the copy was rewritten since (then the newer data is kept). ' +
    'Kills and pauses are undone by `tclouds chaos resume`.\n\n' +
    'With --json prints {"action":"heal","results":[...],"restored":[files],"superseded":[files]}.';
  static override examples = ['<%= config.bin %> chaos heal', '<%= config.bin %> chaos heal --node ledger-replica-3'];
  static override flags = { ...deploymentFlags, ...targetFlags, ...noConfirmFlag };

  async run(): Promise<{ action: 'heal'; results: ActionResult[]; restored: string[]; superseded: string[] }> {
    const { flags } = await this.parse(ChaosHeal);
    const dep = await loadDeployment(flags.file, flags.stack);
    requireLocal(dep);
    const sel = selectorOf(flags);
    const all = !hasSelector(sel);
    const targets = all ? null : resolveTargets(dep, sel);
    const nodesToHeal = targets ?? Object.values(dep.outputs.components).flatMap((c) => c.nodes);
    const results = nodesToHeal.length > 0 ? await heal(dep, targets) : [];
    results.push(...(await healMisbehaviour(dep, targets)));
    const { restored, superseded } = all ? await restoreCorrupted(dep) : { restored: [], superseded: [] };
    await this.recordChaos(dep, 'heal', results);
    const value = { action: 'heal' as const, results, restored, superseded };
    const human = () => {
      if (results.length === 0 && restored.length === 0 && superseded.length === 0) this.log('nothing to heal');
      if (results.length > 0) this.log(renderResults(results));
      for (const f of restored) this.log(`restored ${f}`);
      for (const f of superseded) this.log(`kept ${f} (rewritten since it was corrupted)`);
    };
    return this.reportResults(value, results, human);
  }
}

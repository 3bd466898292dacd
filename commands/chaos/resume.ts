import { type ActionResult, hasSelector, requireLocal, resolveTargets, resume } from '../../chaos/actions.js';
import {
  ChaosActionCommand,
  deploymentFlags,
  noConfirmFlag,
  renderResults,
  selectorOf,
  targetFlags,
} from '../../cli/chaos-command.js';
import { loadDeployment } from '../../stacks/deployment.js';

export default class ChaosResume extends ChaosActionCommand {
  static override summary = 'Undo kill and pause: restart killed nodes, SIGCONT paused ones';
  static override description =
    'Without a target, undoes every kill and pause recorded in the chaos journal (.tclouds/<stack>/chaos.json). ' +
    'Killed nodes are started again (their hold is cleared) and catch up with the others (state transfer); ' +
    'paused nodes get SIGCONT. Resuming is never destructive, so it asks no confirmation.\n\n' +
    'With --json prints {"action":"resume","results":[{"node","action","ok","message"}]}. Exit 1 when one failed.';
  static override examples = [
    '<%= config.bin %> chaos resume',
    '<%= config.bin %> chaos resume --node ledger-replica-0',
    '<%= config.bin %> chaos resume --host 0 --cloud local-1',
  ];
  static override flags = { ...deploymentFlags, ...targetFlags, ...noConfirmFlag };

  async run(): Promise<{ action: 'resume'; results: ActionResult[] }> {
    const { flags } = await this.parse(ChaosResume);
    const dep = await loadDeployment(flags.file, flags.stack);
    requireLocal(dep);
    const sel = selectorOf(flags);
    const results = await resume(dep, hasSelector(sel) ? resolveTargets(dep, sel) : null);
    await this.recordChaos(dep, 'resume', results);
    const value = { action: 'resume' as const, results };
    // No results is never a failure: on failure the human output is always the rendered results.
    return this.reportResults(value, results, () =>
      this.log(results.length === 0 ? 'nothing to resume' : renderResults(results)),
    );
  }
}

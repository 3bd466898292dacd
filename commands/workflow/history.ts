import { Args } from '@oclif/core';
import { TcCommand } from '../../cli/base-command.js';
import { withWorkflowClient, workflowFlags } from '../../cli/workflow-command.js';
import type { HistoryEvent } from '../../components/workflow/engine/types.js';

export default class WorkflowHistory extends TcCommand {
  static override summary = 'Every state entered and left, every call and its attempts, of one execution';
  static override description =
    'Events carry the agreed time of the ordered input that caused them, so every engine holds the same history. ' +
    'Call ids (the Idempotency-Key the web service sees) are <execution>/<frame>/<state>#<visit>.<attempt>.';
  static override examples = [
    '<%= config.bin %> workflow history flow-1',
    '<%= config.bin %> workflow history flow-1 --json',
  ];
  static override args = { execution: Args.string({ required: true, description: 'Execution id' }) };
  static override flags = { ...workflowFlags };

  async run(): Promise<{ execution: string; events: HistoryEvent[]; truncated: boolean }> {
    const { args, flags } = await this.parse(WorkflowHistory);
    const h = await withWorkflowClient(flags, flags.component, (c) => c.history(args.execution));
    for (const e of h.events) {
      const where = [e.frame && e.frame !== 'root' ? e.frame : '', e.state ?? ''].filter(Boolean).join(' ');
      const call = e.call ? ` call ${e.call}` : '';
      const detail = e.detail === undefined || e.detail === null ? '' : ` ${JSON.stringify(e.detail)}`;
      this.log(
        `${String(e.n).padStart(4)}  ${new Date(e.at).toISOString()}  ${e.type.padEnd(17)} ${where}${call}${detail}`,
      );
    }
    if (h.truncated) this.log('(history truncated at MAX_HISTORY_EVENTS)');
    return { execution: args.execution, ...h };
  }
}

import { Args, Flags } from '@oclif/core';
import { TcCommand } from '../../cli/base-command.js';
import { summaryLine, withWorkflowClient, workflowFlags } from '../../cli/workflow-command.js';
import type { ExecutionSummary } from '../../components/workflow/operations.js';

export default class WorkflowCancel extends TcCommand {
  static override summary = 'Stop a running execution (ABORTED); calls already made are not undone';
  static override examples = [
    '<%= config.bin %> workflow cancel flow-7',
    `<%= config.bin %> workflow cancel flow-7 --cause 'wrong input' --json`,
  ];
  static override args = { execution: Args.string({ required: true, description: 'Execution id' }) };
  static override flags = {
    ...workflowFlags,
    cause: Flags.string({ default: '', description: 'Why (kept in the history)' }),
  };

  async run(): Promise<ExecutionSummary> {
    const { args, flags } = await this.parse(WorkflowCancel);
    const s = await withWorkflowClient(flags, flags.component, (c) => c.cancel(args.execution, flags.cause));
    this.log(summaryLine(s));
    return s;
  }
}

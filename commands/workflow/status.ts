import { Args } from '@oclif/core';
import { TcCommand } from '../../cli/base-command.js';
import { summaryLine, withWorkflowClient, workflowFlags } from '../../cli/workflow-command.js';
import type { ExecutionSummary } from '../../components/workflow/operations.js';

export default class WorkflowStatus extends TcCommand {
  static override summary = 'Show one execution: status, output or error, calls in flight';
  static override examples = [
    '<%= config.bin %> workflow status flow-1',
    '<%= config.bin %> workflow status order-42 --component flow --json',
  ];
  static override args = { execution: Args.string({ required: true, description: 'Execution id' }) };
  static override flags = { ...workflowFlags };

  async run(): Promise<ExecutionSummary> {
    const { args, flags } = await this.parse(WorkflowStatus);
    const s = await withWorkflowClient(flags, flags.component, (c) => c.status(args.execution));
    this.log(summaryLine(s));
    return s;
  }
}

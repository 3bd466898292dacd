import { Flags } from '@oclif/core';
import { TcCommand } from '../../cli/base-command.js';
import { summaryLine, withWorkflowClient, workflowFlags } from '../../cli/workflow-command.js';
import { MAX_LIST } from '../../components/workflow/limits.js';
import type { ExecutionSummary } from '../../components/workflow/operations.js';

export default class WorkflowLs extends TcCommand {
  static override summary = 'List executions, newest first';
  static override examples = ['<%= config.bin %> workflow ls', '<%= config.bin %> workflow ls --status RUNNING --json'];
  static override flags = {
    ...workflowFlags,
    status: Flags.string({ options: ['RUNNING', 'SUCCEEDED', 'FAILED', 'ABORTED'], description: 'Only this status' }),
    limit: Flags.integer({ default: 100, min: 1, max: MAX_LIST, description: 'At most this many' }),
  };

  async run(): Promise<{ component: string; executions: ExecutionSummary[] }> {
    const { flags } = await this.parse(WorkflowLs);
    return withWorkflowClient(flags, flags.component, async (c, component) => {
      const executions = await c.list(flags.status as ExecutionSummary['status'] | undefined, flags.limit);
      for (const s of executions) this.log(summaryLine(s));
      if (executions.length === 0) this.log(`${component}: no executions`);
      return { component, executions };
    });
  }
}

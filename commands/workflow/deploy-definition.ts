import { Args, Flags } from '@oclif/core';
import { TcCommand } from '../../cli/base-command.js';
import { readDefinitionFile, withWorkflowClient, workflowFlags } from '../../cli/workflow-command.js';

export default class WorkflowDeployDefinition extends TcCommand {
  static override summary = 'Register a workflow definition (Amazon States Language) under a name, as a new version';
  static override description =
    'Checks the definition here (a bad one is refused with the state path and the reason, TC470), then orders it ' +
    'on the engines. Each change makes a new version; deploying the same definition again keeps the version. ' +
    'Executions keep the version they started with.';
  static override examples = [
    '<%= config.bin %> workflow deploy-definition orders --definition orders.asl.json',
    '<%= config.bin %> workflow deploy-definition orders --definition orders.asl.json --component flow --json',
  ];
  static override args = { name: Args.string({ required: true, description: 'Definition name' }) };
  static override flags = {
    ...workflowFlags,
    definition: Flags.string({ char: 'd', required: true, description: 'Amazon States Language JSON file' }),
  };

  async run(): Promise<{ component: string; name: string; version: number; created: boolean }> {
    const { args, flags } = await this.parse(WorkflowDeployDefinition);
    const definition = await readDefinitionFile(flags.definition);
    return withWorkflowClient(flags, flags.component, async (c, component) => {
      const d = await c.deploy(args.name, definition);
      this.log(`${component}: ${d.name} version ${d.version}${d.created ? '' : ' (unchanged)'}`);
      return { component, ...d };
    });
  }
}

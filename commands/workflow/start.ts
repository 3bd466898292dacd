import path from 'node:path';
import { Args, Flags } from '@oclif/core';
import { TcCommand } from '../../cli/base-command.js';
import {
  parseInput,
  readDefinitionFile,
  summaryLine,
  withWorkflowClient,
  workflowFlags,
} from '../../cli/workflow-command.js';
import { WorkflowCode } from '../../components/workflow/codes.js';
import type { ExecutionSummary } from '../../components/workflow/operations.js';
import { ExitCode, TcError } from '../../kernel/errors.js';

/** A definition file's name without .asl.json / .json: the name it is deployed under. */
const definitionName = (file: string) =>
  path
    .basename(file)
    .replace(/(\.asl)?\.json$/, '')
    .replace(/[^A-Za-z0-9_.-]/g, '-');

export default class WorkflowStart extends TcCommand {
  static override summary = 'Start a workflow execution';
  static override description =
    '--definition is a file (deployed first under its base name, a new version only if it changed) or the name of ' +
    'a deployed definition. Prints the execution id; with --wait, waits for it to finish and exits 1 (TC481) ' +
    'when it FAILED or was ABORTED. A start with the --name of an existing execution and the same input returns ' +
    'that execution (safe to retry).';
  static override examples = [
    `<%= config.bin %> workflow start flow --definition flow.asl.json --input '{"items": [1, 2, 3]}' --wait`,
    `<%= config.bin %> workflow start flow --definition orders --input @order.json --name order-42`,
    `<%= config.bin %> workflow start flow --definition orders --input '{}' --wait --json`,
  ];
  static override args = { component: Args.string({ required: true, description: 'Workflow component' }) };
  static override flags = {
    ...workflowFlags,
    definition: Flags.string({ char: 'd', required: true, description: 'Definition file or deployed name' }),
    version: Flags.integer({ min: 1, description: 'Version of a deployed definition (default: latest)' }),
    input: Flags.string({ char: 'i', default: '{}', description: 'Execution input: JSON, or @FILE' }),
    name: Flags.string({ char: 'n', description: 'Execution name (default: <definition>-<number>)' }),
    wait: Flags.boolean({ char: 'w', default: false, description: 'Wait until the execution finishes' }),
    'wait-timeout': Flags.integer({ default: 300, min: 1, description: 'Seconds --wait waits' }),
  };

  async run(): Promise<ExecutionSummary> {
    const { args, flags } = await this.parse(WorkflowStart);
    const input = await parseInput(flags.input);
    const isFile = flags.definition.endsWith('.json') || flags.definition.includes(path.sep);
    const definition = isFile ? await readDefinitionFile(flags.definition) : undefined;
    const s = await withWorkflowClient(flags, args.component, async (c) => {
      let name = flags.definition;
      let version = flags.version;
      if (definition !== undefined) {
        const d = await c.deploy(definitionName(flags.definition), definition);
        name = d.name;
        version = d.version;
      }
      const op = {
        definition: name,
        input: input as never,
        ...(version ? { version } : {}),
        ...(flags.name ? { name: flags.name } : {}),
      };
      // With --wait the start itself waits for the end (the engines answer when it ends), then polls if longer.
      return flags.wait ? c.run(op, flags['wait-timeout'] * 1000) : c.start(op);
    });
    if (s.status === 'FAILED' || s.status === 'ABORTED') {
      if (this.jsonEnabled()) this.finish(s, ExitCode.failure);
      throw new TcError(
        WorkflowCode.executionFailed,
        `execution ${s.execution} ${s.status}: ${s.error ?? ''} ${s.cause ?? ''}`,
        {
          exit: ExitCode.failure,
          hint: `see every step with \`tclouds workflow history ${s.execution}\``,
        },
      );
    }
    this.log(summaryLine(s));
    return s;
  }
}

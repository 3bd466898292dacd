import { Args } from '@oclif/core';
import { TcCommand } from '../../cli/base-command.js';
import { runKv, smrFlags } from '../../cli/smr-command.js';
import type { InvokeResult } from '../../components/smr/operations.js';

export default class SmrPut extends TcCommand {
  static override summary = 'Write a key (ordered); prints the previous value';
  static override description =
    'Shorthand for `tclouds smr invoke COMPONENT put ...`; see `tclouds smr invoke --help` for quorums and exit codes.';
  static override examples = [
    '<%= config.bin %> smr put ledger alice 10',
    '<%= config.bin %> smr put ledger alice 10 --json',
    '<%= config.bin %> smr put ledger alice 10 --sign --json',
  ];
  static override args = {
    component: Args.string({ required: true, description: 'SMR component name' }),
    key: Args.string({ required: true, description: 'Key' }),
    value: Args.string({ required: true, description: 'Value' }),
  };
  static override flags = { ...smrFlags };

  async run(): Promise<InvokeResult> {
    const { args, flags } = await this.parse(SmrPut);
    return runKv(this, flags, args.component, 'put', [args.key, args.value]);
  }
}

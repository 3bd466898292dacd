import { Args } from '@oclif/core';
import { TcCommand } from '../../cli/base-command.js';
import { runKv, smrFlags } from '../../cli/smr-command.js';
import type { InvokeResult } from '../../components/smr/operations.js';

export default class SmrGet extends TcCommand {
  static override summary = 'Read a key (read-only fast path, reissued ordered if replicas disagree)';
  static override description =
    'Shorthand for `tclouds smr invoke COMPONENT get ...`; see `tclouds smr invoke --help` for quorums and exit codes.';
  static override examples = [
    '<%= config.bin %> smr get ledger alice',
    '<%= config.bin %> smr get ledger alice --json',
    '<%= config.bin %> smr get ledger alice --sign',
  ];
  static override args = {
    component: Args.string({ required: true, description: 'SMR component name' }),
    key: Args.string({ required: true, description: 'Key' }),
  };
  static override flags = { ...smrFlags };

  async run(): Promise<InvokeResult> {
    const { args, flags } = await this.parse(SmrGet);
    return runKv(this, flags, args.component, 'get', [args.key]);
  }
}

import { Args } from '@oclif/core';
import { TcCommand } from '../../cli/base-command.js';
import { runKv, smrFlags } from '../../cli/smr-command.js';
import type { InvokeResult } from '../../components/smr/operations.js';

export default class SmrCas extends TcCommand {
  static override summary = 'Compare-and-set a key (ordered); ok=false and the current value when it did not match';
  static override description =
    'Shorthand for `tclouds smr invoke COMPONENT cas ...`; see `tclouds smr invoke --help` for quorums. Exits 0 when ' +
    'the value matched and was replaced, 9 when it did not match and nothing was written (scripts branch on it, as on ' +
    "grep's 1 for no match), 8 when no quorum answers.";
  static override examples = [
    '<%= config.bin %> smr cas ledger alice 10 11',
    '<%= config.bin %> smr cas ledger alice 10 11 --json',
    '<%= config.bin %> smr cas ledger alice 10 11 --sign',
  ];
  static override args = {
    component: Args.string({ required: true, description: 'SMR component name' }),
    key: Args.string({ required: true, description: 'Key' }),
    expected: Args.string({ required: true, description: 'Expected current value, or - for absent' }),
    value: Args.string({ required: true, description: 'New value' }),
  };
  static override flags = { ...smrFlags };

  async run(): Promise<InvokeResult> {
    const { args, flags } = await this.parse(SmrCas);
    return runKv(this, flags, args.component, 'cas', [args.key, args.expected, args.value]);
  }
}

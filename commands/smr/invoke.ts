import { Args, Flags } from '@oclif/core';
import { TcCommand } from '../../cli/base-command.js';
import { runKv, smrFlags } from '../../cli/smr-command.js';
import type { InvokeResult } from '../../components/smr/operations.js';

export default class SmrInvoke extends TcCommand {
  static override summary = 'Run one operation on a replicated key-value service';
  static override description =
    'Sends the operation to every replica of the SMR component (authenticated with a MAC vector, or with an ' +
    'Ed25519 signature under --sign or when the component sets clientAuth: signature) and prints the ' +
    'result once enough replicas answer identically: f+1 for ordered operations; a read (get) first tries the ' +
    'read-only fast path, which needs identical replies from all n replicas, and is reissued ordered otherwise. ' +
    'Operations: get KEY, put KEY VALUE, delete KEY, cas KEY EXPECTED NEW (EXPECTED "-" = key absent). ' +
    'Reads the deployment outputs of the topology (--file) or of --stack-dir. Exit 8 when no quorum answers; exit 9 when a cas did not match (nothing written), 0 when it did.';
  static override examples = [
    '<%= config.bin %> smr invoke ledger put alice 10',
    '<%= config.bin %> smr invoke ledger get alice --json',
    '<%= config.bin %> smr invoke ledger cas alice 10 11',
    '<%= config.bin %> smr invoke ledger put alice 12 --sign',
  ];
  static override strict = false;
  static override args = {
    component: Args.string({ required: true, description: 'SMR component name' }),
    operation: Args.string({ required: true, description: 'get | put | delete | cas' }),
  };
  static override flags = {
    ...smrFlags,
    ordered: Flags.boolean({ default: false, description: 'Order reads too (skip the read-only fast path)' }),
  };

  async run(): Promise<InvokeResult> {
    const { args, flags, argv } = await this.parse(SmrInvoke);
    const rest = (argv as string[]).slice(2);
    return runKv(this, flags, args.component, args.operation, rest);
  }
}

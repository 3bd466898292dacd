import { Args } from '@oclif/core';
import { TcCommand } from '../../cli/base-command.js';
import { componentFlag, mapreduceFlags, withClient } from '../../cli/mapreduce-command.js';
import { cancelJob } from '../../components/mapreduce/jobs.js';
import { ExitCode } from '../../kernel/errors.js';

export default class MapReduceCancel extends TcCommand {
  static override summary = 'Cancel a running job: its running task replicas are stopped on the workers';
  static override description = 'A job that has ended already is left as it is (its state is printed).';
  static override examples = [
    '<%= config.bin %> mapreduce cancel lq3k2-1-a1b2c3',
    '<%= config.bin %> mapreduce cancel lq3k2-1-a1b2c3 --json',
  ];
  static override args = { job: Args.string({ required: true, description: 'Job id' }) };
  static override flags = { ...mapreduceFlags, ...componentFlag };

  async run(): Promise<{ job: string; state: string }> {
    const { args, flags } = await this.parse(MapReduceCancel);
    const r = await withClient(flags, flags.component, (c) => cancelJob(c, args.job));
    this.finish(r, ExitCode.ok, () => this.log(`job ${r.job}: ${r.state}`));
  }
}

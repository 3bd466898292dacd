import { TcCommand } from '../../cli/base-command.js';
import { componentFlag, mapreduceFlags, withClient } from '../../cli/mapreduce-command.js';
import { progressLine } from '../../cli/mapreduce-render.js';
import type { JobRecord } from '../../components/mapreduce/job-record.js';
import { listJobs } from '../../components/mapreduce/jobs.js';
import { ExitCode } from '../../kernel/errors.js';

export default class MapReduceLs extends TcCommand {
  static override summary = 'List the jobs the job tracker keeps (running and ended), oldest first';
  static override examples = [
    '<%= config.bin %> mapreduce ls',
    '<%= config.bin %> mapreduce ls --component jobs --json',
  ];
  static override flags = { ...mapreduceFlags, ...componentFlag };

  async run(): Promise<{ jobs: Array<Omit<JobRecord, 'taskDetail'>> }> {
    const { flags } = await this.parse(MapReduceLs);
    const jobs = await withClient(flags, flags.component, (c) => listJobs(c));
    this.finish({ jobs }, ExitCode.ok, () => {
      if (jobs.length === 0) this.log('no jobs');
      for (const j of jobs) this.log(progressLine(j));
    });
  }
}

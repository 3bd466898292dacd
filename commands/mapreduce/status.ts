import { Args } from '@oclif/core';
import { TcCommand } from '../../cli/base-command.js';
import { componentFlag, mapreduceFlags, withClient } from '../../cli/mapreduce-command.js';
import { progressLine, recordLines } from '../../cli/mapreduce-render.js';
import type { JobRecord } from '../../components/mapreduce/job-record.js';
import { jobStatus, listJobs } from '../../components/mapreduce/jobs.js';
import { ExitCode } from '../../kernel/errors.js';

export default class MapReduceStatus extends TcCommand {
  static override summary = "A job's record: tasks accepted, replicas started, disagreeing and overdue workers";
  static override description =
    'Without JOB, one line per job the tracker keeps. The record says the job tracker is trusted (TClouds D2.2.1, ' +
    'ch. 10); its workers are not, and those whose outputs disagreed with the accepted ones are named.';
  static override examples = [
    '<%= config.bin %> mapreduce status',
    '<%= config.bin %> mapreduce status lq3k2-1-a1b2c3',
    '<%= config.bin %> mapreduce status lq3k2-1-a1b2c3 --component jobs --json',
  ];
  static override args = { job: Args.string({ required: false, description: 'Job id (from submit or ls)' }) };
  static override flags = { ...mapreduceFlags, ...componentFlag };

  async run(): Promise<JobRecord | { jobs: Array<Omit<JobRecord, 'taskDetail'>> }> {
    const { args, flags } = await this.parse(MapReduceStatus);
    const job = args.job;
    if (job === undefined) {
      const jobs = await withClient(flags, flags.component, (c) => listJobs(c));
      this.finish({ jobs }, ExitCode.ok, () => {
        if (jobs.length === 0) this.log('no jobs');
        for (const j of jobs) this.log(progressLine(j));
      });
    }
    const rec = await withClient(flags, flags.component, (c) => jobStatus(c, job));
    this.finish(rec, ExitCode.ok, () => {
      for (const l of recordLines(rec)) this.log(l);
    });
  }
}

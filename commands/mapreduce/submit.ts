import { Args, Flags } from '@oclif/core';
import { TcCommand } from '../../cli/base-command.js';
import { mapreduceFlags, withClient } from '../../cli/mapreduce-command.js';
import { progressLine, recordLines } from '../../cli/mapreduce-render.js';
import type { JobRecord } from '../../components/mapreduce/job-record.js';
import { submitJob, waitJob } from '../../components/mapreduce/jobs.js';
import {
  DEFAULT_CHUNK_BYTES,
  DEFAULT_STRAGGLER_MS,
  DEFAULT_TASK_MEMORY_MB,
  DEFAULT_TASK_TIMEOUT_MS,
} from '../../components/mapreduce/limits.js';
import { ExitCode } from '../../kernel/errors.js';

export default class MapReduceSubmit extends TcCommand {
  static override summary = 'Submit a job: its module and local input files; follow it until it ends';
  static override description =
    'The job module exports map(key, line, emit) and reduce(key, values), optionally combine and partition ' +
    '(templates/mapreduce/ has word count, an inverted index and a join). Inputs are split into chunks at line ends. ' +
    'Each task runs on f+1 workers and is accepted when f+1 agree. Exit 0 when the job is done, 1 when it failed.';
  static override examples = [
    '<%= config.bin %> mapreduce submit jobs --job templates/mapreduce/wordcount.mjs --input books.txt',
    '<%= config.bin %> mapreduce submit jobs --job wordcount.mjs --input a.txt --input b.txt --reducers 4 --json',
    '<%= config.bin %> mapreduce submit jobs --job wordcount.mjs --input big.txt --detach',
    '<%= config.bin %> mapreduce submit jobs --job wordcount.mjs --input storage:vault/books/moby.txt --lines 10000',
  ];
  static override args = { component: Args.string({ required: true, description: 'MapReduce component name' }) };
  static override flags = {
    ...mapreduceFlags,
    job: Flags.string({ required: true, description: 'Job module (ESM JavaScript exporting map and reduce)' }),
    input: Flags.string({
      required: true,
      multiple: true,
      description: 'Input: a local file, or storage:COMPONENT/OBJECT of a storage component of the stack (repeatable)',
    }),
    lines: Flags.integer({ min: 1, description: 'Lines per chunk at most (chunks still end at --chunk-size bytes)' }),
    reducers: Flags.integer({ default: 4, min: 1, description: 'Reduce tasks (output partitions)' }),
    'chunk-size': Flags.integer({
      default: DEFAULT_CHUNK_BYTES,
      description: 'Bytes per map task chunk (cut at line ends)',
    }),
    'task-timeout': Flags.integer({
      default: DEFAULT_TASK_TIMEOUT_MS,
      description: 'Milliseconds a task replica may run',
    }),
    straggler: Flags.integer({
      default: DEFAULT_STRAGGLER_MS,
      description: 'Milliseconds after a peer replica finished before a slow one is suspected',
    }),
    memory: Flags.integer({ default: DEFAULT_TASK_MEMORY_MB, description: 'Heap limit of one task (MiB)' }),
    unreplicated: Flags.boolean({ default: false, description: 'One replica per task, no vote (for comparison only)' }),
    tentative: Flags.boolean({
      default: false,
      description: 'Reduces start on the first copy of each map output and restart if the vote disagrees',
    }),
    detach: Flags.boolean({ default: false, description: 'Return once the job has started' }),
  };

  async run(): Promise<JobRecord | { job: string }> {
    const { args, flags } = await this.parse(MapReduceSubmit);
    const tty = process.stderr.isTTY === true && !this.jsonEnabled();
    const result = await withClient(flags, args.component, async (c) => {
      const job = await submitJob(
        c,
        {
          job: flags.job,
          inputs: flags.input,
          reducers: flags.reducers,
          chunkBytes: flags['chunk-size'],
          ...(flags.lines === undefined ? {} : { chunkLines: flags.lines }),
          topology: flags.file,
          timeoutMs: flags['task-timeout'],
          stragglerMs: flags.straggler,
          memoryMb: flags.memory,
          replicated: !flags.unreplicated,
          tentative: flags.tentative,
        },
        (p) => tty && p.phase === 'upload' && process.stderr.write(`\ruploading chunk ${p.chunksSent}/${p.chunks}`),
      );
      if (flags.detach) return { job };
      return waitJob(c, job, 250, (r) => tty && process.stderr.write(`\r${progressLine(r)}\u001b[K`));
    });
    if (tty) process.stderr.write('\n');
    if (!('state' in result)) {
      this.finish(result, ExitCode.ok, () =>
        this.log(`job ${result.job} started; follow it: tclouds mapreduce status ${args.component} ${result.job}`),
      );
    }
    this.finish(result, result.state === 'done' ? ExitCode.ok : ExitCode.failure, () => {
      for (const l of recordLines(result)) this.log(l);
    });
  }
}

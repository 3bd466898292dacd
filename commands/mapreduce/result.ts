import { existsSync, promises as fs } from 'node:fs';
import { Args, Flags } from '@oclif/core';
import { TcCommand } from '../../cli/base-command.js';
import { componentFlag, mapreduceFlags, withClient } from '../../cli/mapreduce-command.js';
import { voteLines } from '../../cli/mapreduce-render.js';
import { MapReduceCode } from '../../components/mapreduce/codes.js';
import { type ResultVote, voteResult } from '../../components/mapreduce/jobs.js';
import { storageRef, writeStorageOutput } from '../../components/mapreduce/storage-io.js';
import { ExitCode, TcError } from '../../kernel/errors.js';

export default class MapReduceResult extends TcCommand {
  static override summary = "The client-side vote on a job's reduce outputs; writes the accepted output";
  static override description =
    'Every reduce partition was written by f+1 or more workers. This client fetches each copy, computes its digest ' +
    'and accepts a partition once f+1 copies are identical; copies that differ are named. The output is JSON lines ' +
    '`[key,value]`, partitions in order, keys sorted inside each. Exit 0 when every partition was accepted, 1 if not.';
  static override examples = [
    '<%= config.bin %> mapreduce result lq3k2-1-a1b2c3 --output counts.jsonl',
    '<%= config.bin %> mapreduce result lq3k2-1-a1b2c3 --json',
    '<%= config.bin %> mapreduce result lq3k2-1-a1b2c3 --output - | head',
    '<%= config.bin %> mapreduce result lq3k2-1-a1b2c3 --output storage:vault/results/counts.jsonl',
  ];
  static override args = { job: Args.string({ required: true, description: 'Job id' }) };
  static override flags = {
    ...mapreduceFlags,
    ...componentFlag,
    output: Flags.string({
      char: 'o',
      description: 'Write the output here (`-`: stdout); without it only the vote is shown',
    }),
    force: Flags.boolean({ default: false, description: 'Overwrite an existing output file' }),
  };

  async run(): Promise<ResultVote & { output: string | null }> {
    const { args, flags } = await this.parse(MapReduceResult);
    const out = flags.output;
    const ref = out ? storageRef(out) : null;
    if (out && !ref && out !== '-' && existsSync(out) && !flags.force) {
      throw new TcError(MapReduceCode.usage, `the output file ${out} exists`, {
        exit: ExitCode.usage,
        hint: 'pass --force to overwrite it',
      });
    }
    const { vote, output } = await withClient(flags, flags.component, (c) => voteResult(c, args.job));
    if (!vote.ok) {
      const bad = vote.parts.filter((p) => !p.accepted).map((p) => p.part);
      throw new TcError(
        MapReduceCode.noAgreement,
        `no ${vote.f + 1} identical copies of partition${bad.length > 1 ? 's' : ''} ${bad.join(', ')}; disagreeing workers: ${vote.disagreeing.join(', ') || 'none'}`,
        {
          exit: ExitCode.failure,
          hint: 'more than f workers are faulty; see `tclouds mapreduce status JOB`',
        },
      );
    }
    if (out === '-') {
      for (const b of output) process.stdout.write(b);
      return { ...vote, output: '-' };
    }
    if (ref) await writeStorageOutput(ref, Buffer.concat(output), flags.file);
    else if (out) await fs.writeFile(out, Buffer.concat(output));
    this.finish({ ...vote, output: out ?? null }, ExitCode.ok, () => {
      for (const l of voteLines(vote, out ?? null)) this.log(l);
    });
  }
}

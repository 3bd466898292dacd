import { createWriteStream } from 'node:fs';
import { Flags } from '@oclif/core';
import { TcCommand } from '../../cli/base-command.js';
import { deploymentOf, logComponentArg, logFlags, readVerified } from '../../cli/log-command.js';
import { LogCode } from '../../components/log/codes.js';
import { encodeEntry } from '../../components/log/protocol/entry.js';
import type { TreeHead } from '../../components/log/protocol/segment.js';
import { ExitCode, TcError } from '../../kernel/errors.js';

export interface ExportOutput {
  component: string;
  entries: number;
  head: TreeHead | null;
  out: string;
}

export default class LogExport extends TcCommand {
  static override summary = 'Export the verified entries of a log as NDJSON, ending with its signed tree head';
  static override description =
    'One canonical entry per line (the exact bytes the Merkle tree hashes), then one line {"treeHead":{...}}. ' +
    'The export refuses a log that does not verify unless --partial (then it holds the verified prefix).\n\n' +
    'With --json prints {"component","entries","head","out"} (the NDJSON goes to --out, default stdout without --json).';
  static override examples = [
    '<%= config.bin %> log export audit --out audit.ndjson',
    '<%= config.bin %> log export audit > audit.ndjson',
  ];
  static override args = { component: logComponentArg };
  static override flags = {
    ...logFlags,
    out: Flags.string({ char: 'o', description: 'write to this file instead of stdout' }),
    partial: Flags.boolean({
      default: false,
      description: 'export the verified prefix of a log that does not fully verify',
    }),
  };

  async run(): Promise<ExportOutput> {
    const { args, flags } = await this.parse(LogExport);
    if (this.jsonEnabled() && !flags.out) {
      throw new TcError(LogCode.badQuery, '--json needs --out: stdout carries the JSON summary', {
        exit: ExitCode.usage,
      });
    }
    const d = await deploymentOf(flags, args.component);
    const r = await readVerified(d);
    if (!r.ok && !flags.partial) {
      throw new TcError(LogCode.verifyFailed, `${args.component} does not verify past entry ${r.size}`, {
        exit: ExitCode.failure,
        hint: '`tclouds log verify` says why; --partial exports the verified prefix',
      });
    }
    const sink = flags.out ? createWriteStream(flags.out) : process.stdout;
    for (const e of r.entries) sink.write(`${encodeEntry(e)}\n`);
    sink.write(`${JSON.stringify({ treeHead: r.head })}\n`);
    if (flags.out)
      await new Promise<void>((res, rej) =>
        (sink as ReturnType<typeof createWriteStream>).end((e?: Error | null) => (e ? rej(e) : res())),
      );
    if (flags.out) this.note(`${args.component}: ${r.entries.length} entries written to ${flags.out}`);
    return { component: args.component, entries: r.entries.length, head: r.head, out: flags.out ?? '-' };
  }
}

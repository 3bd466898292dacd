import { Flags } from '@oclif/core';
import { TcCommand } from '../../cli/base-command.js';
import { onInterrupt } from '../../cli/interrupt.js';
import { jsonText } from '../../cli/json-numbers.js';
import { deploymentOf, entryLine, logComponentArg, logFlags, readVerified } from '../../cli/log-command.js';
import { TOPOLOGY_FILE_ENV } from '../../cli/topology-file.js';
import type { Entry } from '../../components/log/protocol/entry.js';

export default class LogTail extends TcCommand {
  static override jsonOutput = 'events' as const;
  static override summary = 'Print the last verified entries of a log; with -f, keep printing new ones';
  static override description =
    'Entries appear once their segment is sealed and stored (a segment seals when full, when `log append` ends, or ' +
    'a few seconds after its first entry). Only entries that verify are printed. With --json each entry is one ' +
    'JSON line {"seq","time","cloud","node","account","type","msg"}.';
  static override examples = ['<%= config.bin %> log tail audit', '<%= config.bin %> log tail audit -f --type deploy'];
  static override args = { component: logComponentArg };
  static override flags = {
    ...logFlags,
    // -f is follow here, as in tail(1): the topology file is --file only.
    file: Flags.string({
      env: TOPOLOGY_FILE_ENV,
      default: 'tclouds.yaml',
      description: 'Topology file whose deployment to use',
    }),
    lines: Flags.integer({
      char: 'n',
      default: 10,
      min: 0,
      description: 'how many of the last entries to print first',
    }),
    follow: Flags.boolean({ char: 'f', default: false, description: 'keep printing new entries until Ctrl-C' }),
    type: Flags.string({ description: 'only entries of this type' }),
    interval: Flags.integer({ default: 1000, min: 100, description: 'with -f, milliseconds between reads of storage' }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(LogTail);
    const d = await deploymentOf(flags, args.component);
    const show = (e: Entry) => {
      if (flags.type && e.type !== flags.type) return;
      process.stdout.write(`${this.jsonEnabled() ? jsonText(e) : entryLine(e)}\n`);
    };
    let r = await readVerified(d);
    const wanted = r.entries.filter((e) => !flags.type || e.type === flags.type);
    for (const e of wanted.slice(Math.max(0, wanted.length - flags.lines))) show(e);
    if (!flags.follow) return;
    let seen = r.size;
    const stop = onInterrupt({ reason: () => new Error('interrupted') });
    try {
      while (!stop.signal.aborted) {
        await new Promise<void>((res) => {
          const t = setTimeout(res, flags.interval);
          stop.signal.addEventListener('abort', () => {
            clearTimeout(t);
            res();
          });
        });
        if (stop.signal.aborted) break;
        r = await readVerified(d);
        for (const e of r.entries.slice(seen)) show(e);
        seen = Math.max(seen, r.size);
      }
    } finally {
      stop.dispose();
    }
  }
}

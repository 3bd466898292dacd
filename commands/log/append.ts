import { Flags } from '@oclif/core';
import { TcCommand } from '../../cli/base-command.js';
import {
  coreFlags,
  deploymentOf,
  logComponentArg,
  openCore,
  readStdinEntries,
  waitStored,
} from '../../cli/log-command.js';
import { checkEntry } from '../../components/log/client.js';
import { LogCode } from '../../components/log/codes.js';
import { ExitCode, TcError } from '../../kernel/errors.js';

export interface AppendOutput {
  component: string;
  appended: number;
  first: number | null;
  last: number | null;
  size: number;
  sealed: number | null;
}

export default class LogAppend extends TcCommand {
  static override summary = 'Append entries to a log component (one from flags, or NDJSON on stdin)';
  static override description =
    'Each request is ordered by the log core (an SMR group) and counts as appended once f+1 core replicas replied ' +
    'identically with its sequence numbers. Without --msg, entries are read from stdin, one JSON object per line: ' +
    '{"cloud","node","type","msg"}. The account is the client key the request was authenticated with. The open ' +
    'segment is then sealed (stored in every cloud, tree head signed) unless --no-seal.\n\n' +
    'With --json prints {"component","appended","first","last","size","sealed"}.';
  static override examples = [
    '<%= config.bin %> log append audit --cloud a --node web-1 --type login --msg "alice logged in"',
    'cat events.ndjson | <%= config.bin %> log append audit --json',
  ];
  static override args = { component: logComponentArg };
  static override flags = {
    ...coreFlags,
    cloud: Flags.string({ description: 'cloud the event comes from' }),
    node: Flags.string({ description: 'node the event comes from' }),
    type: Flags.string({ description: 'event type' }),
    msg: Flags.string({ description: 'event message (without it, NDJSON entries are read from stdin)' }),
    seal: Flags.boolean({
      default: true,
      allowNo: true,
      description: 'seal the open segment afterwards (store and sign it now)',
    }),
    wait: Flags.boolean({
      default: true,
      allowNo: true,
      description: 'after sealing, wait until the entries verify from storage (f+1 replicas stored their copies)',
    }),
    inflight: Flags.integer({ default: 4, min: 1, max: 64, description: 'requests in flight at once' }),
  };

  async run(): Promise<AppendOutput> {
    const { args, flags } = await this.parse(LogAppend);
    const entries =
      flags.msg === undefined
        ? await readStdinEntries()
        : [checkEntry({ cloud: flags.cloud, node: flags.node, type: flags.type, msg: flags.msg }, 'flags')];
    if (entries.length === 0) {
      throw new TcError(LogCode.badEntry, 'no entries: give --cloud, --node, --type and --msg, or NDJSON on stdin', {
        exit: ExitCode.usage,
      });
    }
    const d = await deploymentOf(flags, args.component);
    const core = await openCore(d, flags.timeout);
    try {
      const results = await core.append(entries, { inflight: flags.inflight });
      const sealed = flags.seal ? await core.seal() : null;
      const lastSeq = Math.max(...results.map((r) => r.first + r.count - 1));
      if (sealed !== null && flags.wait) await waitStored(d, lastSeq + 1, flags.timeout * 1000);
      const first = results[0]?.first ?? null;
      const lastR = results[results.length - 1];
      const out: AppendOutput = {
        component: args.component,
        appended: entries.length,
        first,
        last: lastR ? lastR.first + lastR.count - 1 : null,
        size: Math.max(...results.map((r) => r.size)),
        sealed,
      };
      this.log(
        `${args.component}: appended ${out.appended} entr${out.appended === 1 ? 'y' : 'ies'} (seq ${out.first}..${out.last}), log size ${out.size}${sealed === null ? '' : `, segment ${sealed} sealed`}`,
      );
      return out;
    } finally {
      await core.close();
    }
  }
}

import { Flags } from '@oclif/core';
import { TcCommand } from '../../cli/base-command.js';
import { deploymentOf, entryLine, logComponentArg, logFlags, parseTime, readVerified } from '../../cli/log-command.js';
import { LogCode } from '../../components/log/codes.js';
import type { Entry } from '../../components/log/protocol/entry.js';
import { QuerySchema, runQuery } from '../../components/log/protocol/query.js';
import { ExitCode, TcError } from '../../kernel/errors.js';

export interface QueryOutput {
  component: string;
  entries: Entry[];
  matched: number;
  truncated: boolean;
  /** Entries that verified (the query sees only those). */
  size: number;
  verified: boolean;
}

export default class LogQuery extends TcCommand {
  static override summary = 'Query the entries of a log component, read from storage and verified';
  static override description =
    'Reads every segment from the clouds (DepSky: copies damaged in up to f clouds are read from the others), ' +
    'keeps only what f+1 core replicas vouch for and what the Merkle tree and chain confirm, then filters. If ' +
    'verification stops at some entry, only the entries before it are searched and a warning says so ' +
    '(`tclouds log verify` tells why).\n\n' +
    'With --json prints {"component","entries":[{"seq","time","cloud","node","account","type","msg"}],"matched","truncated","size","verified"}.';
  static override examples = [
    '<%= config.bin %> log query audit --type login --since 1h',
    '<%= config.bin %> log query audit --cloud a --text alice --json',
    '<%= config.bin %> log query audit --since 2026-01-01T00:00:00Z --until 2026-01-02T00:00:00Z --limit 50',
  ];
  static override args = { component: logComponentArg };
  static override flags = {
    ...logFlags,
    since: Flags.string({ description: 'from this time on (ISO, ms since the epoch, or a duration ago: 15m, 2h, 1d)' }),
    until: Flags.string({ description: 'before this time (same forms)' }),
    cloud: Flags.string({ description: 'source cloud' }),
    node: Flags.string({ description: 'source node' }),
    type: Flags.string({ description: 'event type' }),
    account: Flags.string({ description: 'account that appended' }),
    text: Flags.string({ description: 'case-insensitive text in the message' }),
    from: Flags.integer({ min: 0, description: 'from this sequence number on' }),
    limit: Flags.integer({ min: 1, default: 1000, description: 'most entries to print' }),
  };

  async run(): Promise<QueryOutput> {
    const { args, flags } = await this.parse(LogQuery);
    const q = QuerySchema.safeParse({
      ...(flags.since ? { since: parseTime(flags.since, 'since') } : {}),
      ...(flags.until ? { until: parseTime(flags.until, 'until') } : {}),
      ...(flags.cloud ? { cloud: flags.cloud } : {}),
      ...(flags.node ? { node: flags.node } : {}),
      ...(flags.type ? { type: flags.type } : {}),
      ...(flags.account ? { account: flags.account } : {}),
      ...(flags.text ? { text: flags.text } : {}),
      ...(flags.from !== undefined ? { from: flags.from } : {}),
      limit: flags.limit,
    });
    if (!q.success) {
      const i = q.error.issues[0];
      throw new TcError(LogCode.badQuery, `--${i?.path.join('.')}: ${i?.message}`, { exit: ExitCode.usage });
    }
    const d = await deploymentOf(flags, args.component);
    const report = await readVerified(d);
    if (!report.ok)
      this.note(
        `warning: the log verifies only up to entry ${report.size}; run \`tclouds log verify ${args.component}\``,
      );
    const r = runQuery(q.data, report.entries);
    for (const e of r.entries) this.log(entryLine(e));
    if (r.truncated) this.note(`${r.matched - r.entries.length} more entries matched (raise --limit)`);
    return { component: args.component, ...r, size: report.size, verified: report.ok };
  }
}

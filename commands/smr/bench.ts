import { Args, Flags } from '@oclif/core';
import { TcCommand } from '../../cli/base-command.js';
import { smrFlags } from '../../cli/smr-command.js';
import { closedLoop, connectComponent, type LoadResult } from '../../components/smr/operations.js';
import type { ClientAuth } from '../../components/smr/request-auth.js';

export default class SmrBench extends TcCommand {
  static override summary = 'Closed-loop load against a deployed SMR component';
  static override description =
    'Runs N closed-loop client sessions (each keeps one ordered request outstanding) for a few seconds and ' +
    'reports throughput and latency percentiles. Operations are null payloads of --size bytes: on a `kv` service ' +
    'they are rejected as malformed by every replica (a deterministic error reply), so the figures measure ' +
    'ordering, not the service. For the full comparison against an unreplicated server run `npx tsx bench/smr.ts`.';
  static override examples = [
    '<%= config.bin %> smr bench ledger --clients 50 --seconds 5',
    '<%= config.bin %> smr bench ledger --json',
    '<%= config.bin %> smr bench ledger --clients 200 --sign',
  ];
  static override args = { component: Args.string({ required: true, description: 'SMR component name' }) };
  static override flags = {
    ...smrFlags,
    clients: Flags.integer({ default: 20, min: 1, max: 1000, description: 'Closed-loop client sessions' }),
    seconds: Flags.integer({ default: 5, min: 1, max: 300, description: 'Measured duration' }),
    size: Flags.integer({ default: 0, min: 0, max: 1_000_000, description: 'Request payload bytes' }),
  };

  async run(): Promise<LoadResult & { component: string; auth: ClientAuth }> {
    const { args, flags } = await this.parse(SmrBench);
    const client = await connectComponent(
      { file: flags.file, stackDir: flags['stack-dir'] },
      args.component,
      flags.timeout * 1000,
      flags.sign ? { sign: true } : {},
    );
    try {
      const sessions = Array.from({ length: flags.clients }, () => client.session());
      this.note(`running ${flags.clients} clients for ${flags.seconds} s ...`);
      const r = await closedLoop((s, op) => sessions[s]!.invoke(op), flags.clients, flags.seconds, flags.size);
      this.log(
        `${args.component}: ${r.opsPerSecond} ops/s with ${r.clients} clients, ${r.payloadBytes} B ${client.auth === 'signature' ? 'signed ' : ''}requests; latency ms p50 ${r.latencyMs.p50} p90 ${r.latencyMs.p90} p99 ${r.latencyMs.p99}`,
      );
      return { component: args.component, auth: client.auth, ...r };
    } finally {
      await client.close();
    }
  }
}

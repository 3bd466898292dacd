import { Flags } from '@oclif/core';
import { TcCommand } from '../../cli/base-command.js';
import { recordEvent } from '../../cli/log-events.js';
import { dataUnitArgs, interruptSignal, parseDuration, storageFlags } from '../../cli/storage-command.js';
import { lockWithWait } from '../../components/storage/lock-wait.js';
import { checkNameFitsClouds } from '../../components/storage/name-limits.js';
import { openClient } from '../../components/storage/open-client.js';
import { ExitCode } from '../../kernel/errors.js';

export interface LockOutput {
  du: string;
  writer: string;
  action: 'acquire' | 'release';
  acquired?: boolean;
  until?: string;
  holder?: { writer: string; until: string; seenOn: number };
  removed?: number;
  attempts?: number;
}

export default class StorageLock extends TcCommand {
  static override summary = 'Take, renew or release the writer lease of a data unit';
  static override description =
    'The DepSky low-contention lock: zero-byte lock-<writer>-<T> files on every cloud, counted only when listed by ' +
    'f+1 clouds (one faulty cloud cannot block writers). Taking it again renews it. Needs synchronized clocks; ' +
    '--delta is the allowed clock difference. With --wait, retries after a random backoff until the lock is free or ' +
    '--wait elapses. Exit code 6 when another writer holds the lock.\n\n' +
    'With --json prints {"du","writer","action","acquired","until","holder","removed","attempts"}.';
  static override examples = [
    '<%= config.bin %> storage lock vault reports/2026/q3.pdf --lease 2m',
    '<%= config.bin %> storage lock vault reports/2026/q3.pdf --release',
  ];
  static override args = dataUnitArgs;
  static override flags = {
    ...storageFlags,
    lease: Flags.string({ description: 'lease time', default: '60s' }),
    delta: Flags.string({ description: 'clock skew margin between writers', default: '2s' }),
    settle: Flags.string({
      description: 'wait between writing and re-listing (weakly consistent clouds)',
      default: '0ms',
    }),
    wait: Flags.string({ description: 'keep trying this long if the lock is taken', default: '0s' }),
    release: Flags.boolean({ description: 'release the lock (remove our lock files)', default: false }),
  };

  async run(): Promise<LockOutput> {
    const { args, flags } = await this.parse(StorageLock);
    const { client, writer, resolved } = await openClient(args.component, flags, { write: false });
    const record = async (what: string) => {
      const target = resolved.outputs?.target ?? 'local';
      for (const w of await recordEvent(resolved.stackDir, target, 'tclouds.storage.lock', what)) this.note(w);
    };
    checkNameFitsClouds(args.name, client.drivers);
    if (flags.release) {
      const r = await client.unlock(args.name);
      await client.close();
      this.log(`released ${args.name} (${r.removed} lock files removed)`);
      await record(`${args.component}: writer ${writer} released the lock of ${args.name}`);
      return { du: args.name, writer, action: 'release', removed: r.removed };
    }
    const leaseMs = parseDuration(flags.lease, 'lease');
    const deltaMs = parseDuration(flags.delta, 'delta');
    const settleTicks = Math.ceil(parseDuration(flags.settle, 'settle') / 100);
    const { signal, dispose } = interruptSignal();
    try {
      const r = await lockWithWait(client, args.name, {
        leaseMs,
        deltaMs,
        settleTicks,
        waitMs: parseDuration(flags.wait, 'wait'),
        signal,
      });
      await client.close();
      if (r.acquired) {
        const until = new Date(r.until).toISOString();
        this.log(`locked ${args.name} for writer ${writer} until ${until}`);
        await record(`${args.component}: writer ${writer} locked ${args.name} until ${until}`);
        return { du: args.name, writer, action: 'acquire', acquired: true, until, attempts: r.attempts };
      }
      const holder = {
        writer: r.holder.writer,
        until: new Date(r.holder.until).toISOString(),
        seenOn: r.holder.seenOn,
      };
      const out: LockOutput = {
        du: args.name,
        writer,
        action: 'acquire',
        acquired: false,
        holder,
        attempts: r.attempts,
      };
      this.finish(out, ExitCode.locked, () =>
        this.log(
          `${args.name} is locked by writer ${holder.writer} until ${holder.until} (seen on ${holder.seenOn} clouds)`,
        ),
      );
    } finally {
      dispose();
    }
  }
}

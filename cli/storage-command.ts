/**
 * What the `tclouds storage *` commands share: arguments and flags, the TTY progress bar, Ctrl-C cancellation and
 * duration flags. Opening a client is the storage library's (components/storage/open-client.ts). Commands stay
 * thin: parse, call the library, render.
 */
import { Args, Flags } from '@oclif/core';
import { StorageCode } from '../components/storage/codes.js';
import { ExitCode, TcError } from '../kernel/errors.js';
import { type Interrupt, onInterrupt } from './interrupt.js';

/** The first argument of every storage command. */
export const componentArg = Args.string({ description: 'storage component', required: true });

/** Arguments of the commands that act on one data unit of a component. */
export const dataUnitArgs = {
  component: componentArg,
  name: Args.string({ description: 'data unit name', required: true }),
};

export const storageFlags = {
  topology: Flags.string({ char: 't', description: 'topology file', default: 'tclouds.yaml' }),
  key: Flags.string({
    description: 'writer signing key (default .tclouds/<stack>/keys/storage-<component>-writer.key)',
  }),
  pubkey: Flags.string({
    description: 'verification key for readers (default: next to the writer key, .pub)',
  }),
  'writer-id': Flags.string({
    description: 'writer id (hex) used in version numbers and locks; default per key, machine and user',
  }),
};

/** `put|get|ls|rm --via-gateway`: through a deployed gateway (mediator/appliance mode) instead of the clouds. */
export const viaGatewayFlag = {
  'via-gateway': Flags.boolean({
    description: 'go through a deployed gateway of the component (mediator or appliance mode), with its client key',
    default: false,
  }),
};

/** A one-line progress bar on stderr, only on a TTY and never in --json mode. */
export function progressBar(
  enabled: boolean,
  label: string,
): { update: (done: number, total: number) => void; end: () => void } {
  const tty = enabled && process.stderr.isTTY === true;
  let shown = false;
  return {
    update(done, total) {
      if (!tty || total <= 0) return;
      const width = 24;
      const filled = Math.round((done / total) * width);
      process.stderr.write(
        `\r${label} [${'#'.repeat(filled)}${' '.repeat(width - filled)}] ${done}/${total} cloud calls`,
      );
      shown = true;
    },
    end() {
      if (shown) process.stderr.write('\r\x1b[2K');
    },
  };
}

/** An AbortSignal fired by Ctrl-C / SIGTERM (cli/interrupt.ts), whose reason is the storage area's TC211. */
export function interruptSignal(): Interrupt {
  return onInterrupt({ reason: () => new TcError(StorageCode.aborted, 'interrupted', { exit: ExitCode.interrupted }) });
}

/** Parse durations like 90s, 5m, 1500ms, 2h (lock leases). */
export function parseDuration(text: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!m) {
    throw new TcError(StorageCode.badConfig, `--${flag} must be a duration like 30s, 5m or 1500ms, got "${text}"`, {
      exit: ExitCode.usage,
    });
  }
  const mult = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? 's') as 'ms' | 's' | 'm' | 'h'];
  return Math.round(Number(m[1]) * mult);
}

/**
 * What the `tclouds storage *` commands share: flags, opening a client for a component with the right keys,
 * the TTY progress bar, and Ctrl-C cancellation. Commands stay thin: parse, call this and the client, render.
 */
import { Args, Flags } from '@oclif/core';
import { ExitCode, TcError } from '../../kernel/errors.js';
import { DepSkyClient } from './client.js';
import { StorageCode } from './codes.js';
import { defaultKeyFiles, defaultWriterId, readSigningKey, readVerifyKey } from './keys.js';
import { driverFor, type ResolvedStorage, resolveStorage } from './resolve.js';

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

export interface StorageFlagValues {
  topology: string;
  key?: string | undefined;
  pubkey?: string | undefined;
  'writer-id'?: string | undefined;
}

export interface OpenedClient {
  client: DepSkyClient;
  resolved: ResolvedStorage;
  writer: string;
}

/** Resolve the component, load keys (private only when `write`), wrap it all in a DepSkyClient. */
export async function openClient(
  component: string,
  flags: StorageFlagValues,
  o: { write: boolean; progress?: (done: number, total: number) => void },
): Promise<OpenedClient> {
  const resolved = await resolveStorage(component, flags.topology);
  const defaults = defaultKeyFiles(resolved.stackDir, component);
  const keyFile = flags.key ?? defaults.privateKey;
  const pubFile = flags.pubkey ?? (flags.key ? flags.key.replace(/\.key$/, '.pub') : defaults.publicKey);
  const signKey = o.write ? await readSigningKey(keyFile) : undefined;
  const verifyKey = signKey ? await readVerifyKey(keyFile) : await readVerifyKey(pubFile);
  const writer = flags['writer-id'] ?? defaultWriterId(verifyKey);
  const client = new DepSkyClient({
    drivers: resolved.drivers,
    f: resolved.spec.f,
    protocol: resolved.spec.protocol,
    verifyKey,
    ...(signKey ? { signKey } : {}),
    writer,
    ...(o.progress ? { onProgress: o.progress } : {}),
    // Reads follow a reconfiguration notice (accepted from f+1 clouds) to any cloud declared in the topology.
    resolveCloud: (cloud) => {
      try {
        return driverFor(resolved.loaded, component, cloud, resolved.outputs).driver;
      } catch {
        return undefined;
      }
    },
  });
  return { client, resolved, writer };
}

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

/** An AbortSignal fired by Ctrl-C / SIGTERM, and the cleanup that removes the handlers. */
export function interruptSignal(): { signal: AbortSignal; dispose: () => void } {
  const ctl = new AbortController();
  const onSig = () => ctl.abort(new TcError(StorageCode.aborted, 'interrupted', { exit: ExitCode.interrupted }));
  process.once('SIGINT', onSig);
  process.once('SIGTERM', onSig);
  return {
    signal: ctl.signal,
    dispose: () => {
      process.off('SIGINT', onSig);
      process.off('SIGTERM', onSig);
    },
  };
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

export function humanBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

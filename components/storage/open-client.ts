/**
 * Opening a DepSky client for a storage component of a topology: resolve its clouds and drivers, load the writer
 * keys (the private one only to write), and follow reconfiguration notices to any cloud the topology declares.
 */
import { DepSkyClient } from './client.js';
import { defaultKeyFiles, defaultWriterId, readSigningKey, readVerifyKey } from './keys.js';
import { driverFor, type ResolvedStorage, resolveStorage, type TopologyLoader } from './resolve.js';

/** Where the keys and topology come from (the storage commands' flags). */
export interface StorageFlagValues {
  file: string;
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
  o: { write: boolean; progress?: (done: number, total: number) => void; loadTopology?: TopologyLoader },
): Promise<OpenedClient> {
  const resolved = await resolveStorage(component, flags.file, o.loadTopology);
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

/**
 * Job inputs and outputs in a storage component of the same stack (DepSky, components/storage/): `storage:VAULT/OBJECT`
 * names object OBJECT of component VAULT. Inputs are read with the deployment's verify key before splitting; an
 * output is written with its writer key, so f faulty clouds can neither hide nor alter it.
 */
import { ExitCode, TcError } from '../../kernel/errors.js';
import { openClient } from '../storage/open-client.js';
import { MapReduceCode } from './codes.js';

export const STORAGE_PREFIX = 'storage:';

export interface StorageRef {
  component: string;
  object: string;
}

/** `storage:VAULT/OBJECT` as a reference, or null for a local path. */
export function storageRef(text: string): StorageRef | null {
  if (!text.startsWith(STORAGE_PREFIX)) return null;
  const rest = text.slice(STORAGE_PREFIX.length);
  const slash = rest.indexOf('/');
  if (slash <= 0 || slash === rest.length - 1) {
    throw new TcError(MapReduceCode.usage, `"${text}" is not a storage object reference`, {
      exit: ExitCode.usage,
      hint: 'write storage:COMPONENT/OBJECT, e.g. storage:vault/books/moby.txt',
    });
  }
  return { component: rest.slice(0, slash), object: rest.slice(slash + 1) };
}

/** The bytes of every storage input, by the name given on the command line. */
export async function readStorageInputs(inputs: readonly string[], topology: string): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  for (const text of inputs) {
    const ref = storageRef(text);
    if (!ref) continue;
    const { client } = await openClient(ref.component, { file: topology }, { write: false });
    try {
      const { bytes } = await client.get(ref.object);
      out.set(text, Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    } catch (e) {
      if (e instanceof TcError) throw e;
      throw new TcError(MapReduceCode.input, `cannot read ${text}: ${(e as Error).message}`, {
        exit: ExitCode.notFound,
        hint: `list the objects with \`tclouds storage ls ${ref.component}\``,
      });
    } finally {
      await client.close();
    }
  }
  return out;
}

export async function writeStorageOutput(ref: StorageRef, data: Uint8Array, topology: string): Promise<void> {
  const { client } = await openClient(ref.component, { file: topology }, { write: true });
  try {
    await client.put(ref.object, data);
  } finally {
    await client.close();
  }
}

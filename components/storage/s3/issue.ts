/**
 * Issuing, listing and revoking S3 access keys (`tclouds storage credentials`): a read-modify-write of the
 * component's key list (./credentials.ts) under the list's DepSky lock, with a client that holds the writer key.
 */
import type { KeyObject } from 'node:crypto';
import { ExitCode, isTcError, TcError } from '../../../kernel/errors.js';
import type { DepSkyClient } from '../client.js';
import { StorageCode } from '../codes.js';
import {
  bucketPrefix,
  CREDENTIALS_DU,
  type CredentialRecord,
  type CredentialStore,
  credentialMaster,
  emptyStore,
  encodeStore,
  newAccessKeyId,
  parseStore,
  secretFor,
} from './credentials.js';
import { inWriteOrder, KeyedQueue } from './write-order.js';

export async function readStore(client: DepSkyClient): Promise<CredentialStore> {
  try {
    const { bytes } = await client.get(CREDENTIALS_DU);
    const store = parseStore(bytes);
    if (!store) {
      throw new TcError(StorageCode.badCredentialList, `the access key list ${CREDENTIALS_DU} is not valid`, {
        exit: ExitCode.invalid,
        hint: 'it is written only by `tclouds storage credentials`; revoke and re-create the keys',
      });
    }
    return store;
  } catch (e) {
    if (isTcError(e) && e.code === StorageCode.notFound) return emptyStore();
    throw e;
  }
}

async function update(client: DepSkyClient, change: (s: CredentialStore) => void): Promise<void> {
  await inWriteOrder(
    new KeyedQueue(),
    () => client,
    CREDENTIALS_DU,
    async (c) => {
      const store = await readStore(c);
      change(store);
      await c.put(CREDENTIALS_DU, encodeStore(store));
    },
  );
}

export interface IssuedCredential {
  record: CredentialRecord;
  secretAccessKey: string;
}

export async function createCredential(
  client: DepSkyClient,
  signKey: KeyObject,
  component: string,
  o: { buckets: string[]; readOnly: boolean; label?: string },
): Promise<IssuedCredential> {
  const buckets = o.buckets.length > 0 ? o.buckets : [component];
  for (const b of buckets) {
    if (bucketPrefix(component, b) === undefined) {
      throw new TcError(StorageCode.badName, `bucket ${b} is not a bucket of ${component}`, {
        exit: ExitCode.usage,
        hint: `buckets are ${component} (all objects) or ${component}.<name> (the objects under <name>/)`,
      });
    }
  }
  const record: CredentialRecord = {
    accessKeyId: newAccessKeyId(),
    buckets,
    access: o.readOnly ? 'read' : 'read-write',
    created: new Date().toISOString(),
    ...(o.label ? { label: o.label } : {}),
  };
  await update(client, (s) => s.keys.push(record));
  return { record, secretAccessKey: secretFor(credentialMaster(signKey, component), record.accessKeyId) };
}

export async function revokeCredential(client: DepSkyClient, accessKeyId: string): Promise<CredentialRecord> {
  let found: CredentialRecord | undefined;
  await update(client, (s) => {
    found = s.keys.find((k) => k.accessKeyId === accessKeyId);
    if (found && !found.revoked) found.revoked = new Date().toISOString();
  });
  if (!found) {
    throw new TcError(StorageCode.notFound, `no access key ${accessKeyId}`, {
      exit: ExitCode.notFound,
      hint: 'list the keys with `tclouds storage credentials ls COMPONENT`',
    });
  }
  return found;
}

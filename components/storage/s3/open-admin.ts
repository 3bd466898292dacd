/**
 * The client `tclouds storage credentials` uses: the component's DepSky client with the writer key (the key list
 * is a data unit signed by it, ./credentials.ts), and the component's gateway endpoints when deployed.
 */

import type { KeyObject } from 'node:crypto';
import { defaultKeyFiles, readSigningKey } from '../keys.js';
import { type OpenedClient, openClient, type StorageFlagValues } from '../open-client.js';
import { s3Endpoints } from './endpoint.js';

export async function openCredentialAdmin(
  component: string,
  flags: StorageFlagValues,
  write: boolean,
): Promise<OpenedClient & { signKey?: KeyObject; endpoints: string[] }> {
  const opened = await openClient(component, flags, { write });
  const keyFile = flags.key ?? defaultKeyFiles(opened.resolved.stackDir, component).privateKey;
  const signKey = write ? await readSigningKey(keyFile) : undefined;
  const endpoints = opened.resolved.outputs ? s3Endpoints(opened.resolved.outputs, component) : [];
  return { ...opened, ...(signKey ? { signKey } : {}), endpoints };
}

/**
 * A bucket's credentials from a gateway's credentials file (its `bucket-credentials` secret, written by the cloud
 * deploy): the entry of one cloud, checked against the shape its provider issues.
 */
import { readFile } from 'node:fs/promises';
import type { z } from 'zod';
import { StorageCode } from '../codes.js';
import { type CredentialSubject, credentialError } from './metadata.js';
import {
  AwsFileCredentialsSchema,
  AzureFileCredentialsSchema,
  BucketCredentialsFileSchema,
  type BucketRecord,
  BucketRecordSchema,
  GcpFederationRecordSchema,
  GcpFileCredentialsSchema,
} from './source.js';

const SCHEMAS = {
  aws: AwsFileCredentialsSchema,
  azure: AzureFileCredentialsSchema,
  gcp: GcpFileCredentialsSchema,
  /** A GCP bucket's federation record: the pool providers' audiences (no secret). */
  'gcp-federation': GcpFederationRecordSchema,
} as const;
type Provider = keyof typeof SCHEMAS;
const TARGET: Record<Provider, 'aws' | 'azure' | 'gcp'> = {
  aws: 'aws',
  azure: 'azure',
  gcp: 'gcp',
  'gcp-federation': 'gcp',
};

export interface FileCredentials<P extends Provider> {
  record: BucketRecord;
  credentials: z.output<(typeof SCHEMAS)[P]>;
}

const REDEPLOY = 'deploy the target of this gateway again: it rewrites the `bucket-credentials` secret';

/** The credentials of `who.cloud` in `file`, for a bucket of `provider`. TC216 / TC217 with the cloud and bucket. */
export async function fileCredentials<P extends Provider>(
  file: string,
  provider: P,
  who: CredentialSubject,
): Promise<FileCredentials<P>> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    const code = (e as { code?: string }).code ?? String(e);
    throw credentialError(StorageCode.credentialsFile, who, `cannot read ${file} (${code})`, REDEPLOY);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw credentialError(StorageCode.credentialsFile, who, `${file} is not JSON`, REDEPLOY);
  }
  const parsed = BucketCredentialsFileSchema.safeParse(doc);
  if (!parsed.success) {
    const at = parsed.error.issues[0]!.path.join('.');
    throw credentialError(
      StorageCode.credentialsFile,
      who,
      `${file} is not a credentials file (at ${at || 'top'})`,
      REDEPLOY,
    );
  }
  const entry = parsed.data.clouds[who.cloud];
  if (!entry || entry.source === 'missing') {
    const target = entry?.provider ?? TARGET[provider];
    throw credentialError(
      StorageCode.credentialsMissing,
      who,
      `${file} holds no credentials for this cloud${entry ? ' (its target has not been deployed)' : ''}`,
      `run \`tclouds deploy --target ${target}\`, then deploy this gateway's target again (only its secrets change)`,
    );
  }
  const record = BucketRecordSchema.safeParse(entry.credentials);
  const creds = record.success ? SCHEMAS[provider].safeParse(record.data.credentials) : undefined;
  if (entry.source !== 'credentials' || !record.success || !creds?.success) {
    throw credentialError(
      StorageCode.credentialsMissing,
      who,
      `the entry in ${file} is not ${provider} bucket credentials (source ${entry.source})`,
      REDEPLOY,
    );
  }
  return { record: record.data, credentials: creds.data as FileCredentials<P>['credentials'] };
}

/**
 * Downloads the node software artifact with the VM's own identity and keeps nothing unless its SHA-256 is the one
 * in the node's software record (software.ts). The bytes go to a temporary file next to the target and are renamed over it only once the
 * digest matched, so a cut or tampered download never leaves a file the boot script could unpack.
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { TcError } from '../../kernel/errors.js';
import { NodeCode } from '../codes.js';
import { type BootFile, endpoint } from './boot-file.js';
import { type Attempted, DOWNLOAD_TIMEOUT_MS, describe, fetchWithRetry } from './fetch.js';
import { awsRoleCredentials, azureToken, gcpToken } from './identity.js';
import { signV4, uriEncode } from './sigv4.js';

const AZURE_STORAGE_RESOURCE = 'https://storage.azure.com/';
/** Blob REST version that accepts OAuth (managed identity) bearer tokens. */
export const AZURE_BLOB_API_VERSION = '2021-08-06';

interface Located {
  url: string;
  init: () => Promise<() => RequestInit>;
  /** What to grant when the store refuses. */
  grant: string;
}

/** The artifact object of a software record and the SHA-256 it must have. */
export interface ArtifactWanted {
  locator: string;
  sha256: string;
}

function fail(boot: BootFile, locator: string, why: string, hint: string): TcError {
  return new TcError(
    NodeCode.artifactFetchFailed,
    `${boot.provider}: cannot download the node software ${locator} (${why})`,
    {
      hint,
    },
  );
}

function locate(boot: BootFile, locator: string): Located {
  const m = /^(s3|gs):\/\/([^/]+)\/(.+)$/.exec(locator);
  if (boot.provider === 'aws' && m?.[1] === 's3') {
    const [, , bucket, key] = m;
    const region = boot.region;
    if (!region)
      throw fail(boot, locator, 'boot.json has no region', 'the AWS program writes the region into boot.json');
    const encKey = key!.split('/').map(uriEncode).join('/');
    const override = boot.endpoints?.s3;
    const url = override
      ? `${endpoint(boot, 's3', override)}/${bucket}/${encKey}`
      : `https://${bucket}.s3.${region}.amazonaws.com/${encKey}`;
    return {
      url,
      grant: `the instance role needs s3:GetObject on arn:aws:s3:::${bucket}/${key}`,
      init: async () => {
        const credentials = await awsRoleCredentials(boot);
        return () => ({
          headers: signV4({
            method: 'GET',
            url: new URL(url),
            headers: {},
            body: '',
            region,
            service: 's3',
            credentials,
            now: new Date(),
          }),
        });
      },
    };
  }
  if (boot.provider === 'gcp' && m?.[1] === 'gs') {
    const [, , bucket, object] = m;
    const base = endpoint(boot, 'gcs', 'https://storage.googleapis.com');
    return {
      url: `${base}/storage/v1/b/${encodeURIComponent(bucket!)}/o/${encodeURIComponent(object!)}?alt=media`,
      grant: `the VM's service account needs storage.objects.get on gs://${bucket}/${object} (roles/storage.objectViewer)`,
      init: async () => {
        const token = await gcpToken(boot);
        return () => ({ headers: { authorization: `Bearer ${token}` } });
      },
    };
  }
  const az = /^https:\/\/([a-z0-9]+)\.blob\.core\.windows\.net(\/[^/]+\/.+)$/.exec(locator);
  if (boot.provider === 'azure' && az) {
    const [, account, blobPath] = az;
    const override = boot.endpoints?.azureBlob;
    return {
      url: override ? `${endpoint(boot, 'azureBlob', override)}/${account}${blobPath}` : locator,
      grant: `the VM's managed identity needs Storage Blob Data Reader on ${locator}`,
      init: async () => {
        const token = await azureToken(boot, AZURE_STORAGE_RESOURCE);
        return () => ({ headers: { authorization: `Bearer ${token}`, 'x-ms-version': AZURE_BLOB_API_VERSION } });
      },
    };
  }
  throw fail(
    boot,
    locator,
    'the locator is not in the form of this provider',
    's3://BUCKET/KEY, https://ACCOUNT.blob.core.windows.net/CONTAINER/BLOB or gs://BUCKET/OBJECT',
  );
}

async function saveVerified(boot: BootFile, got: Attempted, out: string, a: ArtifactWanted): Promise<void> {
  const tmp = path.join(path.dirname(out), `.${path.basename(out)}.${process.pid}.part`);
  const hash = createHash('sha256');
  const fh = await fs.open(tmp, 'w', 0o600);
  try {
    for await (const chunk of got.response!.body as unknown as AsyncIterable<Uint8Array>) {
      hash.update(chunk);
      await fh.write(chunk);
    }
    await fh.sync();
  } catch (e) {
    await fh.close();
    await fs.rm(tmp, { force: true });
    throw fail(
      boot,
      a.locator,
      `download cut: ${(e as Error).message}`,
      "check the VM's outbound access and retry the boot",
    );
  }
  await fh.close();
  const digest = hash.digest('hex');
  if (digest !== a.sha256) {
    await fs.rm(tmp, { force: true });
    throw new TcError(
      NodeCode.artifactMismatch,
      `${boot.provider}: the node software ${a.locator} has SHA-256 ${digest}, its software record expects ${a.sha256}: refusing to install it`,
      {
        hint: 'the installed version stays in place; the object was replaced or corrupted after the deploy: run `tclouds deploy` again to upload the build and its checksum together',
      },
    );
  }
  await fs.rename(tmp, out);
}

/** Downloads the artifact `a` with the VM's identity to `out`, checked against its SHA-256. */
export async function fetchArtifact(
  boot: BootFile,
  a: ArtifactWanted,
  out: string,
): Promise<{ bytes: number; sha256: string }> {
  const where = locate(boot, a.locator);
  const init = await where.init();
  await fs.mkdir(path.dirname(out), { recursive: true });
  const got = await fetchWithRetry(where.url, init, DOWNLOAD_TIMEOUT_MS);
  if (!got.response?.ok) {
    const status = got.response?.status;
    const hint =
      status === 401 || status === 403
        ? where.grant
        : status === 404
          ? 'the object is missing: run `tclouds deploy` again to upload it'
          : 'the VM could not reach the object store: check its outbound access (AWS: the Elastic IP or NAT) and DNS';
    await got.response?.body?.cancel();
    throw fail(boot, a.locator, describe(got), hint);
  }
  await saveVerified(boot, got, out, a);
  return { bytes: (await fs.stat(out)).size, sha256: a.sha256 };
}

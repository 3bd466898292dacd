/**
 * From a topology (and, once deployed, the deployment outputs) to the drivers of a storage component.
 *
 * Buckets: `.tclouds/<stack>/outputs.json` when a deployment exists, else the names the plan would give them
 * (local clouds: `<cloud dir>/<stack>-<component>-<cloud>`, exactly where the local target puts them).
 * Credentials of non-local clouds come from each SDK's standard environment (AWS_*, AZURE_STORAGE_*,
 * GOOGLE_APPLICATION_CREDENTIALS); per-cloud overrides (CLOUD = cloud name upper-cased, `-` as `_`):
 *   TCLOUDS_BUCKET_<CLOUD>              bucket / container name
 *   TCLOUDS_S3_ENDPOINT_<CLOUD>         S3-compatible endpoint (path-style), e.g. http://127.0.0.1:4568
 *   TCLOUDS_AZURE_CONNECTION_STRING_<CLOUD>  Azure connection string (e.g. Azurite)
 *   TCLOUDS_GCS_ENDPOINT_<CLOUD>        GCS API endpoint (e.g. an emulator)
 */
import path from 'node:path';
import { ExitCode, TcError } from '../../kernel/errors.js';
import type { DeploymentOutputs } from '../../runtime/node-spec.js';
import { readOutputsFile } from '../../runtime/outputs-file.js';
import { localCloudDir, stackDir } from '../../topology/files.js';
import type { LoadedTopology } from '../../topology/load.js';
import type { StorageComponent } from '../../topology/schema.js';
import { bucketName } from '../plan-layout.js';
import { StorageCode } from './codes.js';
import { AzureBlobDriver } from './drivers/azure.js';
import { GcsDriver } from './drivers/gcs.js';
import { LocalDirectoryDriver } from './drivers/local.js';
import { S3Driver } from './drivers/s3.js';
import type { CloudDriver } from './drivers/types.js';

export interface ResolvedStorage {
  loaded: LoadedTopology;
  stack: string;
  stackDir: string;
  component: string;
  spec: StorageComponent;
  /** Drivers of the component's clouds, in topology order. */
  drivers: CloudDriver[];
  /** Where each cloud's bucket is (for messages and --json). */
  buckets: { cloud: string; provider: string; bucket: string; path?: string; endpoint?: string }[];
  /** true when bucket names came from a deployment's outputs.json. */
  deployed: boolean;
  outputs?: DeploymentOutputs;
}

function envKey(cloud: string): string {
  return cloud.toUpperCase().replace(/-/g, '_');
}

/**
 * The deployment's outputs, or undefined when nothing was deployed. Damaged outputs are an error (TC501), never
 * ignored: they say which buckets are local directories, and without them a client would talk to the real cloud.
 */
async function readOutputs(dir: string): Promise<DeploymentOutputs | undefined> {
  return (await readOutputsFile(path.join(dir, 'outputs.json'))) ?? undefined;
}

/** Drivers for one cloud of a storage component. Exported for reconfiguration targets. */
export function driverFor(
  loaded: LoadedTopology,
  component: string,
  cloud: string,
  outputs: DeploymentOutputs | undefined,
): { driver: CloudDriver; info: ResolvedStorage['buckets'][number] } {
  const decl = loaded.topology.clouds[cloud];
  if (!decl) {
    throw new TcError(StorageCode.noComponent, `cloud "${cloud}" is not declared in the topology`, {
      exit: ExitCode.invalid,
      hint: `declared clouds: ${Object.keys(loaded.topology.clouds).join(', ')}`,
    });
  }
  const out = outputs?.components[component]?.buckets.find((b) => b.cloud === cloud);
  const env = process.env;
  const k = envKey(cloud);
  const bucket = env[`TCLOUDS_BUCKET_${k}`] ?? out?.name ?? bucketName(loaded.topology.name, component, cloud);
  // The local target runs every cloud as a directory whatever its provider (outputs say provider "local"):
  // talking to the real S3/Azure/GCS then would reach beyond this machine and miss the deployed buckets.
  const provider = out?.provider === 'local' ? 'local' : decl.provider;
  switch (provider) {
    case 'local': {
      const dir = out?.path ?? path.join(localCloudDir(loaded, cloud), bucket);
      return { driver: new LocalDirectoryDriver(cloud, dir), info: { cloud, provider: 'local', bucket, path: dir } };
    }
    case 'aws': {
      const endpoint = env[`TCLOUDS_S3_ENDPOINT_${k}`] ?? out?.endpoint;
      const region = out?.region ?? decl.region;
      return {
        driver: new S3Driver({
          cloud,
          bucket,
          ...(region ? { region } : {}),
          ...(endpoint ? { endpoint } : {}),
        }),
        info: { cloud, provider: 'aws', bucket, ...(endpoint ? { endpoint } : {}) },
      };
    }
    case 'azure': {
      const cs = env[`TCLOUDS_AZURE_CONNECTION_STRING_${k}`];
      const endpoint = out?.endpoint;
      return {
        driver: new AzureBlobDriver({
          cloud,
          bucket,
          ...(cs ? { connectionString: cs } : {}),
          ...(endpoint ? { accountUrl: endpoint } : {}),
        }),
        info: { cloud, provider: 'azure', bucket, ...(endpoint ? { endpoint } : {}) },
      };
    }
    case 'gcp': {
      const endpoint = env[`TCLOUDS_GCS_ENDPOINT_${k}`] ?? out?.endpoint;
      return {
        driver: new GcsDriver({ cloud, bucket, ...(endpoint ? { apiEndpoint: endpoint } : {}) }),
        info: { cloud, provider: 'gcp', bucket, ...(endpoint ? { endpoint } : {}) },
      };
    }
  }
}

/** How a topology file becomes a validated topology: loadTopology, or a cached equivalent (validated-cache.ts). */
export type TopologyLoader = (file?: string) => Promise<LoadedTopology>;

/**
 * The topology's storage component `component` with its drivers. The topology module (and with it zod) is
 * imported only when `load` is not given, so a caller with a cached topology does not pay for the schema.
 */
export async function resolveStorage(
  component: string,
  topologyFile?: string,
  load?: TopologyLoader,
): Promise<ResolvedStorage> {
  const loaded = await (load ?? (await import('../../topology/load.js')).loadTopology)(topologyFile);
  const spec = loaded.topology.components[component];
  const storageNames = Object.entries(loaded.topology.components)
    .filter(([, c]) => c.kind === 'storage')
    .map(([n]) => n);
  if (spec?.kind !== 'storage') {
    throw new TcError(
      StorageCode.noComponent,
      spec
        ? `component "${component}" is a ${spec.kind} component, not storage`
        : `no component "${component}" in ${path.basename(loaded.file)}`,
      {
        exit: ExitCode.notFound,
        hint:
          storageNames.length > 0
            ? `storage components: ${storageNames.join(', ')}`
            : 'add a `kind: storage` component to the topology',
      },
    );
  }
  const dir = stackDir(loaded);
  const outputs = await readOutputs(dir);
  const resolved = spec.clouds.map((c) => driverFor(loaded, component, c, outputs));
  return {
    loaded,
    stack: loaded.topology.name,
    stackDir: dir,
    component,
    spec,
    drivers: resolved.map((r) => r.driver),
    buckets: resolved.map((r) => r.info),
    deployed: outputs?.components[component] !== undefined,
    ...(outputs ? { outputs } : {}),
  };
}

/**
 * Drivers for a log component's buckets, from a node config (core or console): the local target gives bucket
 * directories, clouds give provider buckets with the SDKs' own credentials (as storage gateways do).
 */
import { ExitCode, TcError } from '../../kernel/errors.js';
import { AzureBlobDriver } from '../storage/drivers/azure.js';
import { GcsDriver } from '../storage/drivers/gcs.js';
import { LocalDirectoryDriver } from '../storage/drivers/local.js';
import { S3Driver } from '../storage/drivers/s3.js';
import type { CloudDriver } from '../storage/drivers/types.js';
import { LogCode } from './codes.js';

export interface BucketConfig {
  clouds: string[];
  buckets: Record<string, string>;
  providers?: Record<string, string> | undefined;
  regions?: Record<string, string> | undefined;
  bucketPaths?: Record<string, string> | undefined;
}

export function bucketDrivers(cfg: BucketConfig): CloudDriver[] {
  return cfg.clouds.map((cloud) => {
    const dir = cfg.bucketPaths?.[cloud];
    if (dir) return new LocalDirectoryDriver(cloud, dir);
    const bucket = cfg.buckets[cloud];
    const provider = cfg.providers?.[cloud];
    if (!bucket || !provider || provider === 'local') {
      throw new TcError(
        LogCode.config,
        `log node: cloud ${cloud} has neither a bucket directory nor a provider bucket`,
        {
          exit: ExitCode.invalid,
          hint: 'the node spec was written by a different tclouds version or by hand; redeploy',
        },
      );
    }
    const region = cfg.regions?.[cloud];
    if (provider === 'aws') return new S3Driver({ cloud, bucket, ...(region ? { region } : {}) });
    if (provider === 'azure') return new AzureBlobDriver({ cloud, bucket });
    return new GcsDriver({ cloud, bucket });
  });
}

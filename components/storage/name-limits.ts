/**
 * Whether a data unit's name fits every cloud of a component. A data unit is a container named
 * containerOf(du) (the URL-encoded name: one character can become 3 bytes) holding files up to 37 characters
 * (`value<counter>.<writer>`, `lock-<writer>-<T>`), and each cloud limits names: a directory entry is at most 255
 * bytes on local disks, object names at most 1024 bytes on S3, Azure and GCS (our drivers refuse segments over
 * 900, drivers/types.ts). A name that is valid for DepSky but too long for one cloud would otherwise reach the
 * clouds and fail there as "only 0 of 4 clouds answered"; checked first, it is a usage error (TC208).
 */
import { ExitCode, TcError } from '../../kernel/errors.js';
import { StorageCode } from './codes.js';
import type { CloudDriver } from './drivers/types.js';
import { containerOf } from './protocol/names.js';

/** Longest container name (bytes) per driver kind. */
export const MAX_CONTAINER_BYTES: Record<string, number> = { local: 255, s3: 900, azure: 900, gcs: 900 };
/** For drivers of other kinds: the strictest known limit. */
const DEFAULT_MAX_CONTAINER_BYTES = 255;

/** Throws TC208 when `du`'s container name is longer than one of the clouds accepts. */
export function checkNameFitsClouds(du: string, drivers: readonly CloudDriver[]): void {
  const bytes = Buffer.byteLength(containerOf(du));
  for (const d of drivers) {
    const max = MAX_CONTAINER_BYTES[d.kind] ?? DEFAULT_MAX_CONTAINER_BYTES;
    if (bytes > max) {
      throw new TcError(
        StorageCode.badName,
        `data unit name is too long for cloud ${d.cloud}: encoded it takes ${bytes} bytes, ${d.kind} clouds accept ${max}`,
        {
          exit: ExitCode.usage,
          hint: 'use a shorter name (once URL-encoded, each non-ASCII character, ".", "*" and most punctuation take 3 bytes)',
        },
      );
    }
  }
}

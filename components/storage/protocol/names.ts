/**
 * Names inside a data unit container (DS-06) and version arithmetic, all pure.
 *
 * Container layout on every cloud: `metadata` (signed, latest version), `value<counter>.<writer>` per version,
 * zero-byte `lock-<writer>-<T>` files (lock protocol), `config` (signed reconfiguration notice).
 */
import type { Version } from './types.js';

export const METADATA_FILE = 'metadata';
export const CONFIG_FILE = 'config';
const WRITER_RE = /^[0-9a-f]{1,16}$/;

export function isWriterId(s: string): boolean {
  return WRITER_RE.test(s);
}

export function compareVersions(a: Version, b: Version): number {
  if (a.counter !== b.counter) return a.counter < b.counter ? -1 : 1;
  return a.writer < b.writer ? -1 : a.writer > b.writer ? 1 : 0;
}

export function versionString(v: Version): string {
  return v.writer === '' ? String(v.counter) : `${v.counter}.${v.writer}`;
}

export function valueFile(v: Version): string {
  return `value${versionString(v)}`;
}

/** Streamed CA: the file of segment `index` of version `v` on one cloud (that cloud's erasure-coded block). */
export function segmentFile(v: Version, index: number): string {
  return `${valueFile(v)}.s${index}`;
}

/** Streamed CA: the cloud's manifest of version `v` (its key share and the digests of its segment blocks). */
export function manifestFile(v: Version): string {
  return `${valueFile(v)}.m`;
}

/**
 * Parse the version out of a value file name: `value<counter>.<writer>` (whole value) or one of the files of a
 * streamed CA version, `value<counter>.<writer>.s<index>` (segment) and `value<counter>.<writer>.m` (manifest).
 * Undefined for any other name.
 */
export function parseValueFile(name: string): Version | undefined {
  const m = /^value(\d{1,15})\.([0-9a-f]{1,16})(?:\.(?:s\d{1,15}|m))?$/.exec(name);
  if (!m) return undefined;
  return { counter: Number(m[1]), writer: m[2]! };
}

export function lockFile(writer: string, until: number): string {
  return `lock-${writer}-${until}`;
}

/** Parse `lock-<writer>-<T>` (T in ms since the epoch); undefined for any other name. */
export function parseLockFile(name: string): { writer: string; until: number } | undefined {
  const m = /^lock-([0-9a-f]{1,16})-(\d{1,15})$/.exec(name);
  if (!m) return undefined;
  return { writer: m[1]!, until: Number(m[2]) };
}

/**
 * Container name of a data unit. Data unit names may contain `/` (e.g. `reports/2026/q3.pdf`); the container is
 * one path segment so that every driver (directory, S3 prefix, Azure/GCS blob prefix) maps it the same way.
 */
export function containerOf(du: string): string {
  return encodeURIComponent(du).replace(/\./g, '%2E').replace(/\*/g, '%2A');
}

export function duOfContainer(container: string): string | undefined {
  try {
    return decodeURIComponent(container);
  } catch {
    return undefined;
  }
}

/** Data unit names: 1-512 characters, no control characters, no leading/trailing slash, no empty or dot segments. */
export function checkDataUnitName(du: string): string | undefined {
  if (du.length === 0 || du.length > 512) return 'must be 1-512 characters long';
  // biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters is the point
  if (/[\u0000-\u001f\u007f]/.test(du)) return 'must not contain control characters';
  if (du.split('/').some((seg) => seg === '' || seg === '.' || seg === '..')) {
    return 'must not have empty, "." or ".." path segments (no leading, trailing or double slash)';
  }
  return undefined;
}

/**
 * Crash-safe file writes: write to a temporary name in the same directory, fsync, then rename over the
 * target. A reader sees either the old file or the new one, never half of one: a crash mid-write loses the
 * update, never the file.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';

export interface AtomicWriteOptions {
  /** File mode of the result, e.g. 0o600 for keys. Default 0o644. */
  mode?: number;
  /** Create missing parent directories (mode 0o700 when `mode` is private, else 0o755). */
  mkdir?: boolean;
}

export async function writeFileAtomic(
  file: string,
  data: string | Uint8Array,
  opts: AtomicWriteOptions = {},
): Promise<void> {
  const mode = opts.mode ?? 0o644;
  const dir = path.dirname(file);
  if (opts.mkdir !== false) await fs.mkdir(dir, { recursive: true, mode: mode & 0o077 ? 0o755 : 0o700 });
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  const handle = await fs.open(tmp, 'wx', mode);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } catch (e) {
    await handle.close().catch(() => {});
    await fs.rm(tmp, { force: true });
    throw e;
  }
  await handle.close();
  try {
    // open() applies the umask; chmod makes the mode exact (0600 keys must not become 0644 or 0400).
    await fs.chmod(tmp, mode);
    await fs.rename(tmp, file);
  } catch (e) {
    await fs.rm(tmp, { force: true });
    throw e;
  }
  // Persist the rename itself: fsync the directory (best effort; not supported on every platform).
  const dh = await fs.open(dir, 'r').catch(() => undefined);
  if (dh) {
    await dh.sync().catch(() => {});
    await dh.close();
  }
}

/** JSON with a trailing newline and two-space indentation, written atomically. */
export async function writeJsonAtomic(file: string, value: unknown, opts: AtomicWriteOptions = {}): Promise<void> {
  await writeFileAtomic(file, `${JSON.stringify(value, null, 2)}\n`, opts);
}

/**
 * Local-directory cloud (the embedded default): `<root>/<container>/<name>`. Puts write a temporary dot-file,
 * fsync it, rename it over the target and fsync the directory, so a crash leaves the old or the new object.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, promises as fs } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Payload } from '../protocol/types.js';
import { type CallOptions, type CloudDriver, checkSegment } from './types.js';

function isNotFound(e: unknown): boolean {
  const code = (e as { code?: string }).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/** The file opened for reading, or undefined when it does not exist (a missing object, not an error). */
async function openIfPresent(file: string): Promise<fs.FileHandle | undefined> {
  try {
    return await fs.open(file, 'r');
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw e;
  }
}

async function fsyncDir(dir: string): Promise<void> {
  const h = await fs.open(dir, 'r').catch(() => undefined);
  if (!h) return;
  await h.sync().catch(() => {});
  await h.close();
}

/** The most one write call takes (node refuses lengths over 2^31 - 1; larger values are written in pieces). */
const MAX_WRITE_BYTES = 1 << 30;

/**
 * A new file for writing (0600, failing if it exists), creating its directory only when it is missing: most puts
 * go to a container that exists, and a mkdir per put is one more round trip each.
 */
async function createIn(dir: string, file: string): Promise<fs.FileHandle> {
  try {
    return await fs.open(file, 'wx', 0o600);
  } catch (e) {
    if ((e as { code?: string }).code !== 'ENOENT') throw e;
    await fs.mkdir(dir, { recursive: true, mode: 0o700 });
    return await fs.open(file, 'wx', 0o600);
  }
}

export class LocalDirectoryDriver implements CloudDriver {
  readonly kind = 'local';
  constructor(
    readonly cloud: string,
    readonly root: string,
  ) {}

  private dir(container: string): string {
    checkSegment(container, 'container');
    return path.join(this.root, container);
  }

  private file(container: string, name: string): string {
    checkSegment(name, 'object');
    return path.join(this.dir(container), name);
  }

  async createContainer(): Promise<void> {
    await fs.mkdir(this.root, { recursive: true, mode: 0o700 });
  }

  async listContainers(o?: CallOptions): Promise<string[]> {
    o?.signal?.throwIfAborted();
    try {
      const entries = await fs.readdir(this.root, { withFileTypes: true });
      return entries.filter((e) => e.isDirectory() && !e.name.startsWith('.')).map((e) => e.name);
    } catch (e) {
      if (isNotFound(e)) return [];
      throw e;
    }
  }

  async list(container: string, o?: CallOptions): Promise<string[]> {
    o?.signal?.throwIfAborted();
    try {
      const names = await fs.readdir(this.dir(container));
      return names.filter((n) => !n.startsWith('.'));
    } catch (e) {
      if (isNotFound(e)) return [];
      throw e;
    }
  }

  async get(container: string, name: string, o?: CallOptions): Promise<Uint8Array | undefined> {
    try {
      const buf = await fs.readFile(this.file(container, name), { signal: o?.signal });
      return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  }

  async getHashed(
    container: string,
    name: string,
    o?: CallOptions,
  ): Promise<{ bytes: Uint8Array; digest: string } | undefined> {
    const h = await openIfPresent(this.file(container, name));
    if (!h) return undefined;
    try {
      const size = (await h.stat()).size;
      const out = new Uint8Array(size);
      const hash = createHash('sha256');
      const chunk = 1 << 20;
      // Double buffering: the next read runs in the thread pool while this thread hashes the previous chunk.
      let done = 0;
      let pending = size > 0 ? h.read(out, 0, Math.min(chunk, size), 0) : undefined;
      while (pending) {
        o?.signal?.throwIfAborted();
        const { bytesRead } = await pending;
        if (bytesRead === 0) throw new Error(`${name} shrank while being read`);
        const start = done;
        done += bytesRead;
        pending = done < size ? h.read(out, done, Math.min(chunk, size - done), done) : undefined;
        hash.update(out.subarray(start, done));
      }
      return { bytes: out, digest: hash.digest('hex') };
    } finally {
      await h.close();
    }
  }

  async getInto(container: string, name: string, into: Uint8Array, o?: CallOptions): Promise<Uint8Array | undefined> {
    const h = await openIfPresent(this.file(container, name));
    if (!h) return undefined;
    try {
      const size = (await h.stat()).size;
      if (size !== into.length) return new Uint8Array(await h.readFile(o?.signal ? { signal: o.signal } : {}));
      let done = 0;
      while (done < size) {
        o?.signal?.throwIfAborted();
        const { bytesRead } = await h.read(into, done, size - done, done);
        if (bytesRead === 0) throw new Error(`${name} shrank while being read`);
        done += bytesRead;
      }
      return into;
    } finally {
      await h.close();
    }
  }

  async getStream(container: string, name: string, o?: CallOptions): Promise<Readable | undefined> {
    o?.signal?.throwIfAborted();
    const h = await openIfPresent(this.file(container, name));
    if (!h) return undefined;
    return h.createReadStream({ highWaterMark: 1 << 20, ...(o?.signal ? { signal: o.signal } : {}) });
  }

  async put(container: string, name: string, payload: Payload, o?: CallOptions): Promise<void> {
    const dir = this.dir(container);
    const target = this.file(container, name);
    const tmp = path.join(dir, `.${name}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
    try {
      if (payload instanceof Uint8Array) {
        const h = await createIn(dir, tmp);
        try {
          // Whole writes, not writeFile's 512 KiB pieces: a streamed write puts thousands of blocks, and each
          // call is a thread-pool round trip and a wake-up of the event loop.
          for (let done = 0; done < payload.length; ) {
            o?.signal?.throwIfAborted();
            const { bytesWritten } = await h.write(payload, done, Math.min(payload.length - done, MAX_WRITE_BYTES));
            if (bytesWritten === 0) throw new Error(`${tmp}: the write made no progress`);
            done += bytesWritten;
          }
          await h.sync();
        } finally {
          await h.close();
        }
      } else {
        await fs.mkdir(dir, { recursive: true, mode: 0o700 });
        const out = createWriteStream(tmp, { flags: 'wx', mode: 0o600, highWaterMark: 1 << 20 });
        await pipeline(
          createReadStream(payload.path, { highWaterMark: 1 << 20 }),
          out,
          o?.signal ? { signal: o.signal } : {},
        );
        const h = await fs.open(tmp, 'r+');
        await h.sync();
        await h.close();
      }
      o?.signal?.throwIfAborted();
      await fs.rename(tmp, target);
    } catch (e) {
      await fs.rm(tmp, { force: true });
      throw e;
    }
    if (!o?.deferDirectorySync) await fsyncDir(dir);
  }

  async remove(container: string, name: string): Promise<void> {
    await fs.rm(this.file(container, name), { force: true });
  }

  async removeContainer(container: string): Promise<void> {
    // Only after its files were removed (DestroyCore); leftover temp files of cancelled puts go with it.
    await fs.rm(this.dir(container), { recursive: true, force: true });
  }
}

/**
 * The DepSky client (TIA): data units over n = 3f+1 storage clouds, built from the pure cores in protocol/,
 * the executor and the drivers. Every failure is a TcError with a TC2xx code.
 */
import { createHash, type KeyObject } from 'node:crypto';
import { createReadStream, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { writeFileAtomic } from '../../kernel/atomic-file.js';
import { ExitCode, type ExitCodeValue, TcError } from '../../kernel/errors.js';
import { decodeCA, ed25519CoreCrypto, encodeCA } from './codec.js';
import { StorageCode } from './codes.js';
import { sha256HexYielding, signEd25519, verifyEd25519 } from './crypto/primitives.js';
import { ResilientDriver, type RetryPolicy } from './drivers/resilient.js';
import type { CloudDriver } from './drivers/types.js';
import { CoreFailed, type Lingering, type RunOptions, runCore, Spool, settleLingering } from './executor.js';
import {
  type CloudConfig,
  ConfigCore,
  configSigningBytes,
  encodeConfigFile,
  parseConfigFile,
} from './protocol/config.js';
import { type Core, checkNF } from './protocol/core.js';
import { LockCore, type LockResult, UnlockCore } from './protocol/lock.js';
import { CreateCore, DestroyCore, GcCore, type GcResult, ListCore, StatCore } from './protocol/maintenance.js';
import { CONFIG_FILE, checkDataUnitName, containerOf, isWriterId, versionString } from './protocol/names.js';
import { ReadCore, type ReadOptions, type ReadResult } from './protocol/read.js';
import type { CloudSet, CoreCrypto, Encoded, Protocol, Version } from './protocol/types.js';
import { WriteCore } from './protocol/write.js';

/** A read result with the names of the clouds its indexes refer to (they change when a read follows a move). */
type Read = ReadResult & { names: readonly string[] };

/** DepSky-CA keeps whole objects in memory (see codec.ts): refuse beyond this. */
export const DEFAULT_MAX_CA_BYTES = 1 << 30;

export interface DepSkyOptions {
  /** The n clouds, in block order. */
  drivers: CloudDriver[];
  f: number;
  protocol: Protocol;
  verifyKey: KeyObject;
  /** Needed by writes only. */
  signKey?: KeyObject;
  /** Writer id (hex); needed by writes and locks. */
  writer?: string;
  /** Wrap drivers with timeouts and retries (default on). `false` for drivers that are already resilient. */
  retry?: Partial<RetryPolicy> | false;
  read?: ReadOptions;
  tickMs?: number;
  maxCaBytes?: number;
  /**
   * Drivers of clouds outside `drivers` (e.g. every cloud of the topology). With it, a read that fails on the
   * configured clouds looks for a reconfiguration notice (accepted from f+1 clouds) and retries on its clouds.
   */
  resolveCloud?: (cloud: string) => CloudDriver | undefined;
  /** How long close() lets puts to the slowest clouds finish after a write completed (default 5000 ms). */
  lingerMs?: number;
  /** Progress of cloud calls: `done` of `total` expected calls finished. */
  onProgress?: (done: number, total: number) => void;
}

export type Source = Uint8Array | { file: string };

export interface PutResult {
  du: string;
  version: string;
  protocol: Protocol;
  size: number;
  /** Bytes stored on each cloud for this version (value file only). */
  bytesPerCloud: number;
  acked: string[];
  failed: { cloud: string; reason: string }[];
}

export interface GetInfo {
  du: string;
  version: string;
  protocol: Protocol;
  size: number;
  /** Clouds the value was read from. */
  from: string[];
  rejected: { cloud: string; reason: string }[];
  dataGets: number;
}

function exitOf(kind: CoreFailed['failure']['kind']): ExitCodeValue {
  switch (kind) {
    case 'unavailable':
      return ExitCode.unavailable;
    case 'notFound':
      return ExitCode.notFound;
    case 'invalid':
      return ExitCode.invalid;
    case 'locked':
      return ExitCode.locked;
    default:
      return ExitCode.failure;
  }
}

async function hashFile(file: string): Promise<{ digest: string; size: number }> {
  const h = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) {
    h.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { digest: h.digest('hex'), size };
}

export class DepSkyClient {
  readonly drivers: CloudDriver[];
  readonly set: CloudSet;
  private readonly crypto: CoreCrypto;
  /** max_ver_du of this writer process (Algorithm 1 line 3): skips the metadata query on later writes. */
  private readonly known = new Map<string, Version>();
  private readonly lingering = new Set<Lingering>();

  constructor(readonly opts: DepSkyOptions) {
    const names = opts.drivers.map((d) => d.cloud);
    const problem = checkNF(names.length, opts.f);
    if (problem) throw new TcError(StorageCode.badConfig, problem, { exit: ExitCode.invalid });
    if (new Set(names).size !== names.length) {
      throw new TcError(StorageCode.badConfig, `cloud names must be distinct: ${names.join(', ')}`, {
        exit: ExitCode.invalid,
      });
    }
    if (opts.writer !== undefined && !isWriterId(opts.writer)) {
      throw new TcError(
        StorageCode.badConfig,
        `writer id must be 1-16 lowercase hex characters, got "${opts.writer}"`,
        {
          exit: ExitCode.usage,
        },
      );
    }
    this.drivers =
      opts.retry === false ? opts.drivers : opts.drivers.map((d) => new ResilientDriver(d, opts.retry || {}));
    this.set = { names, f: opts.f };
    this.crypto = ed25519CoreCrypto(opts.verifyKey, opts.signKey);
  }

  get n(): number {
    return this.set.names.length;
  }

  private checkName(du: string): void {
    const why = checkDataUnitName(du);
    if (why)
      throw new TcError(StorageCode.badName, `bad data unit name ${JSON.stringify(du)}: ${why}`, {
        exit: ExitCode.usage,
      });
  }

  /** Writes (put, rm, reconfigure) need the writer's private key; say so before touching any cloud. */
  private requireSignKey(): void {
    if (!this.opts.signKey) {
      throw new TcError(StorageCode.badKey, 'this operation writes and needs the writer signing key', {
        exit: ExitCode.invalid,
        hint: 'pass --key <writer.key> (readers only need the verification key)',
      });
    }
  }

  private writer(): string {
    if (!this.opts.writer)
      throw new TcError(StorageCode.badConfig, 'a writer id is needed to write', { exit: ExitCode.usage });
    return this.opts.writer;
  }

  private async run<T>(core: Core<T>, extra: RunOptions = {}, expected = 2 * this.n): Promise<T> {
    let done = 0;
    const onProgress = this.opts.onProgress;
    try {
      return await runCore(core, this.drivers, {
        tickMs: this.opts.tickMs ?? 100,
        lingering: this.lingering,
        ...extra,
        onCall: (c, op, r, ms) => {
          done++;
          onProgress?.(Math.min(done, expected), expected);
          extra.onCall?.(c, op, r, ms);
        },
      });
    } catch (e) {
      if (e instanceof CoreFailed) {
        const f = e.failure;
        throw new TcError(f.code, f.message, { exit: exitOf(f.kind), ...(f.hint ? { hint: f.hint } : {}) });
      }
      if (e instanceof TcError) throw e;
      if (extra.signal?.aborted) {
        throw new TcError(StorageCode.aborted, 'storage operation cancelled', { exit: ExitCode.interrupted });
      }
      throw e;
    }
  }

  /** Write a new version of `du` (DepSky-A or -CA per client or per call). */
  async put(du: string, source: Source, o: { protocol?: Protocol; signal?: AbortSignal } = {}): Promise<PutResult> {
    this.checkName(du);
    this.requireSignKey();
    const protocol = o.protocol ?? this.opts.protocol;
    let encode: (v: Version) => Promise<Encoded & { later?: Promise<string[]> }>;
    let bytesPerCloud = 0;
    if (protocol === 'depsky-a') {
      if (source instanceof Uint8Array) {
        // In memory: hash while the clouds store the bytes (the digest is needed only for the metadata).
        bytesPerCloud = source.length;
        encode = async () => ({ payloads: [source], size: source.length, later: sha256HexYielding([source]) });
      } else {
        // Streaming: the file is hashed once, then each cloud reads it on its own (1 MiB buffers per cloud).
        const h = await hashFile(source.file);
        const payload = { kind: 'file' as const, path: source.file, size: h.size };
        bytesPerCloud = h.size;
        encode = async () => ({ payloads: [payload], digests: [h.digest], size: h.size });
      }
    } else {
      const value = source instanceof Uint8Array ? source : await this.readWhole(source.file);
      encode = async (v) => {
        const e = await encodeCA(du, v, value, this.n, this.opts.f);
        bytesPerCloud = (e.payloads[0] as Uint8Array).length;
        return e;
      };
    }
    const core = new WriteCore(this.set, du, this.crypto, {
      protocol,
      writer: this.writer(),
      ...(this.known.has(du) ? { knownVersion: this.known.get(du)! } : {}),
    });
    const r = await this.run(core, { encode, ...(o.signal ? { signal: o.signal } : {}) }, 3 * this.n);
    this.known.set(du, r.meta.version);
    return {
      du,
      version: versionString(r.meta.version),
      protocol,
      size: r.meta.size,
      bytesPerCloud,
      acked: r.acked.map((c) => this.set.names[c]!).sort(),
      failed: r.failed.map((x) => ({ cloud: this.set.names[x.cloud]!, reason: x.reason })),
    };
  }

  private async readWhole(file: string): Promise<Uint8Array> {
    const st = await fs.stat(file);
    const max = this.opts.maxCaBytes ?? DEFAULT_MAX_CA_BYTES;
    if (st.size > max) {
      throw new TcError(
        StorageCode.tooLarge,
        `${file} has ${st.size} bytes; DepSky-CA holds objects in memory up to ${max}`,
        {
          exit: ExitCode.invalid,
          hint: 'use --protocol depsky-a for larger objects, or split the object',
        },
      );
    }
    const buf = await fs.readFile(file);
    return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  private info(r: Read): GetInfo {
    return {
      du: r.meta.du,
      version: versionString(r.meta.version),
      protocol: r.meta.protocol,
      size: r.meta.size,
      from: [...r.values.keys()].map((c) => r.names[c]!).sort(),
      rejected: r.rejected.map((x) => ({ cloud: r.names[x.cloud]!, reason: x.reason })),
      dataGets: r.dataGets,
    };
  }

  private async readCore(du: string, stream: boolean, spool: Spool | undefined, signal?: AbortSignal): Promise<Read> {
    this.checkName(du);
    const core = new ReadCore(this.set, du, this.crypto, { ...this.opts.read, stream });
    try {
      const r = await this.run(core, { ...(spool ? { spool } : {}), ...(signal ? { signal } : {}) });
      return { ...r, names: this.set.names };
    } catch (e) {
      const retry = [StorageCode.notFound, StorageCode.integrity, StorageCode.noQuorum] as string[];
      const moved = e instanceof TcError && retry.includes(e.code) ? await this.followConfig(du) : undefined;
      if (!moved) throw e;
      // The data unit was moved (reconfiguration notice accepted from f+1 clouds): read it on its new clouds.
      return moved.readCore(du, stream, spool, signal);
    }
  }

  /** A client over the clouds of an accepted reconfiguration notice, if they differ from ours and are reachable. */
  private async followConfig(du: string): Promise<DepSkyClient | undefined> {
    const resolve = this.opts.resolveCloud;
    if (!resolve) return undefined;
    const { config } = await this.readConfig(du).catch(() => ({ config: undefined }));
    if (!config) return undefined;
    const names = this.set.names;
    if (config.clouds.length === names.length && config.clouds.every((c) => names.includes(c))) return undefined;
    const drivers = config.clouds.map((c) => this.opts.drivers.find((d) => d.cloud === c) ?? resolve(c));
    if (drivers.some((d) => d === undefined)) return undefined;
    const { resolveCloud: _ignored, ...rest } = this.opts;
    return new DepSkyClient({ ...rest, drivers: drivers as CloudDriver[], f: config.f });
  }

  private async plain(r: Read): Promise<Uint8Array> {
    if (r.meta.version.counter === 0) return new Uint8Array(0);
    if (r.meta.protocol === 'depsky-a') {
      const v = [...r.values.values()][0]!;
      if (v.bytes) return v.bytes;
      const buf = await fs.readFile(v.handle!);
      return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
    }
    const byName = new Map([...r.values].map(([c, v]) => [r.names[c]!, v]));
    return decodeCA(r.meta, byName);
  }

  /** Read the current value into memory. */
  async get(du: string, o: { signal?: AbortSignal } = {}): Promise<{ bytes: Uint8Array; info: GetInfo }> {
    const r = await this.readCore(du, false, undefined, o.signal);
    return { bytes: await this.plain(r), info: this.info(r) };
  }

  /**
   * Read the current value into `file`, atomically (temp name + rename). DepSky-A streams: the value is spooled
   * next to the target while hashed, and renamed only when its digest matched.
   */
  async getToFile(du: string, file: string, o: { signal?: AbortSignal } = {}): Promise<GetInfo> {
    const dir = path.dirname(path.resolve(file));
    if ((await fs.stat(file).catch(() => undefined))?.isDirectory()) {
      throw new TcError(StorageCode.badName, `${file} is a directory`, {
        exit: ExitCode.usage,
        hint: 'give the output a file name, e.g. -o dir/name.bin',
      });
    }
    await fs.mkdir(dir, { recursive: true });
    const spool = new Spool(dir);
    try {
      const r = await this.readCore(du, true, spool, o.signal);
      const v = [...r.values.values()][0];
      if (r.meta.protocol === 'depsky-a' && v?.handle) {
        spool.keep(v.handle);
        const h = await fs.open(v.handle, 'r+');
        await h.sync();
        await h.close();
        await fs.chmod(v.handle, 0o644);
        await fs.rename(v.handle, file);
      } else {
        await writeFileAtomic(file, await this.plain(r));
      }
      return this.info(r);
    } finally {
      await spool.cleanup();
    }
  }

  /** Read the current value into a stream (stdout). Bytes are written only after they were verified. */
  async getToStream(du: string, out: Writable, o: { signal?: AbortSignal } = {}): Promise<GetInfo> {
    const spool = new Spool(os.tmpdir());
    try {
      const r = await this.readCore(du, true, spool, o.signal);
      const v = [...r.values.values()][0];
      if (r.meta.protocol === 'depsky-a' && v?.handle) {
        await pipeline(createReadStream(v.handle), out, { end: false });
      } else {
        const bytes = await this.plain(r);
        await new Promise<void>((res, rej) => out.write(bytes, (e) => (e ? rej(e) : res())));
      }
      return this.info(r);
    } finally {
      await spool.cleanup();
    }
  }

  /** Metadata of the current version (no data read). */
  async stat(du: string): Promise<GetInfo> {
    this.checkName(du);
    const meta = await this.run(new StatCore(this.set, du, this.crypto));
    return {
      du,
      version: versionString(meta.version),
      protocol: meta.protocol,
      size: meta.size,
      from: [],
      rejected: [],
      dataGets: 0,
    };
  }

  async create(du: string): Promise<{ created: boolean; version: string }> {
    this.checkName(du);
    const r = await this.run(new CreateCore(this.set, du, this.crypto, this.opts.protocol));
    return { created: r.created, version: versionString(r.version) };
  }

  async ls(): Promise<{ dataUnits: string[]; incomplete: string[] }> {
    return this.run(new ListCore(this.set));
  }

  async rm(du: string): Promise<{ du: string; removedFiles: number; incomplete: string[] }> {
    this.checkName(du);
    this.requireSignKey();
    const r = await this.run(new DestroyCore(this.set, du, this.crypto));
    this.known.delete(du);
    return { du, ...r };
  }

  async gc(du: string, keep: number): Promise<GcResult & { du: string }> {
    this.checkName(du);
    if (!Number.isInteger(keep) || keep < 1) {
      throw new TcError(StorageCode.badConfig, `--keep must be a positive integer, got ${keep}`, {
        exit: ExitCode.usage,
      });
    }
    return { du, ...(await this.run(new GcCore(this.set, du, this.crypto, keep))) };
  }

  async lock(
    du: string,
    o: { leaseMs: number; deltaMs?: number; settleTicks?: number; now?: number },
  ): Promise<LockResult> {
    this.checkName(du);
    return this.run(
      new LockCore(this.set, du, {
        writer: this.writer(),
        now: o.now ?? Date.now(),
        leaseMs: o.leaseMs,
        deltaMs: o.deltaMs ?? 2000,
        settleTicks: o.settleTicks ?? 0,
      }),
    );
  }

  async unlock(du: string): Promise<{ removed: number }> {
    this.checkName(du);
    return this.run(new UnlockCore(this.set, du, this.writer()));
  }

  /** The reconfiguration notice accepted by the f+1 rule (undefined: none). */
  async readConfig(du: string): Promise<{ config?: CloudConfig; seenOn: number }> {
    this.checkName(du);
    const key = this.opts.verifyKey;
    const open = (bytes: Uint8Array) => {
      const p = parseConfigFile(bytes);
      return p && verifyEd25519(key, configSigningBytes(p.config), p.signature) ? p.config : undefined;
    };
    return this.run(new ConfigCore(this.set, du, open));
  }

  /**
   * Move `du` to `target` (a client over the new cloud set, same keys): read here, write there (new version),
   * delete it from clouds that are not in the new set, and leave a signed `config` notice on the new set
   * (seed §6.3.9 steps 1-5).
   */
  async reconfigure(
    du: string,
    target: DepSkyClient,
  ): Promise<{ du: string; version: string; removedFrom: string[]; epoch: number }> {
    this.checkName(du);
    this.requireSignKey();
    const { bytes, info } = await this.get(du);
    const prev = await this.readConfig(du).catch(() => ({ seenOn: 0 }) as { config?: CloudConfig; seenOn: number });
    for (const d of target.drivers) await d.createContainer().catch(() => {});
    const put = await target.put(du, bytes, { protocol: info.protocol });
    const keepNames = new Set(target.set.names);
    const removedFrom: string[] = [];
    const container = containerOf(du);
    for (const d of this.drivers) {
      if (keepNames.has(d.cloud)) continue;
      const names = await d.list(container).catch(() => [] as string[]);
      for (const name of names) await d.remove(container, name).catch(() => {});
      await d.removeContainer(container).catch(() => {});
      removedFrom.push(d.cloud);
    }
    const config: CloudConfig = {
      format: 1,
      du,
      epoch: (prev.config?.epoch ?? 0) + 1,
      clouds: [...target.set.names],
      f: target.set.f,
    };
    const file = encodeConfigFile(config, signEd25519(this.opts.signKey!, configSigningBytes(config)));
    const results = await Promise.allSettled(target.drivers.map((d) => d.put(container, CONFIG_FILE, file)));
    const ok = results.filter((r) => r.status === 'fulfilled').length;
    if (ok < target.n - target.set.f) {
      throw new TcError(StorageCode.noQuorum, `reconfiguration notice stored on ${ok} clouds only`, {
        exit: ExitCode.unavailable,
        hint: 'the data was moved; rerun reconfigure to store the notice',
      });
    }
    return { du, version: put.version, removedFrom, epoch: config.epoch };
  }

  /** Let lingering puts finish (bounded by lingerMs), then release the drivers. */
  async close(): Promise<{ unfinishedCopies: number }> {
    const unfinishedCopies = await settleLingering(this.lingering, this.opts.lingerMs ?? 5000);
    await Promise.all(this.drivers.map((d) => d.close?.()));
    return { unfinishedCopies };
  }
}

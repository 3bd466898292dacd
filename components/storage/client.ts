/**
 * The DepSky client (TIA): data units over n = 3f+1 storage clouds, built from the pure cores in protocol/,
 * the executor and the drivers. Every failure is a TcError with a TC2xx code.
 */
import { createHash, type KeyObject } from 'node:crypto';
import { createReadStream, createWriteStream, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { writeFileAtomic } from '../../kernel/atomic-file.js';
import { ExitCode, type ExitCodeValue, TcError } from '../../kernel/errors.js';
import { decodeCA, ed25519CoreCrypto, encodeCA } from './codec.js';
import { StorageCode } from './codes.js';
import { sha256HexYielding, signEd25519, verifyEd25519 } from './crypto/primitives.js';
import { ResilientDriver, type RetryPolicy } from './drivers/resilient.js';
import type { CloudDriver } from './drivers/types.js';
import { CoreFailed, LateCopies, type RunOptions, runCore, Spool } from './executor.js';
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
import {
  CONFIG_FILE,
  checkDataUnitName,
  containerOf,
  isWriterId,
  METADATA_FILE,
  versionString,
} from './protocol/names.js';
import { ReadCore, type ReadOptions, type ReadResult } from './protocol/read.js';
import { SEGMENT_BYTES } from './protocol/segments.js';
import type { CloudSet, CoreCrypto, Encoded, Fetched, Protocol, Version } from './protocol/types.js';
import { WriteCore, type WriteResult } from './protocol/write.js';
import {
  bufferSink,
  bufferSource,
  fileSink,
  fileSource,
  flushedSink,
  type SegmentSink,
  type SegmentSource,
  type StageProfile,
  streamSource,
  writableSink,
} from './segment-io.js';
import { type StreamedReadResult, streamedRead } from './stream-read.js';
import { type StreamedQuorum, type StreamedWrite, startStreamedWrite } from './stream-write.js';

/** A read result with the names of the clouds its indexes refer to (they change when a read follows a move). */
type Read = ReadResult & { names: readonly string[]; drivers: readonly CloudDriver[] };

/**
 * How long close() lets the copies of the clouds outside the quorum finish after a write returned; then they are
 * cut (and reported as unfinished). The write was complete on n-f clouds already.
 */
export const LATE_COPY_MS = 5_000;

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
  /**
   * DepSky-CA metadata format of new writes: 2 (default) streams in segments; 1 writes the value whole, in memory,
   * as before segments existed (kept so that tests can write old-format objects and check they still read).
   */
  caFormat?: 1 | 2;
  /** Plaintext bytes per streamed CA segment (default SEGMENT_BYTES; tests use small ones). */
  segmentBytes?: number;
  /** Stage timers of streamed CA writes and reads are added here (bench/storage.ts). */
  profile?: StageProfile;
  /**
   * Drivers of clouds outside `drivers` (e.g. every cloud of the topology). With it, a read that fails on the
   * configured clouds looks for a reconfiguration notice (accepted from f+1 clouds) and retries on its clouds.
   */
  resolveCloud?: (cloud: string) => CloudDriver | undefined;
  /** How long close() lets puts to the slowest clouds finish after a write completed (default LATE_COPY_MS). */
  lingerMs?: number;
  /** Progress of cloud calls: `done` of `total` expected calls finished. */
  onProgress?: (done: number, total: number) => void;
}

/** What put stores: bytes in memory, a file, or a stream (read once, in order). */
export type Source = Uint8Array | { file: string } | { stream: Readable };

export interface PutResult {
  du: string;
  version: string;
  protocol: Protocol;
  size: number;
  /** Bytes stored on each cloud for this version (value file only). */
  bytesPerCloud: number;
  /** Clouds that hold the version (value and metadata) when put returned: at least n-f. */
  acked: string[];
  /** Clouds still receiving their copy in the background (until close(), at most lingerMs). */
  pending: string[];
  failed: { cloud: string; reason: string }[];
}

/** What a read knows before its first byte: the version it chose and its size. */
export interface ReadHead {
  version: string;
  size: number;
  protocol: Protocol;
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
  private readonly lingering = new LateCopies();

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

  /**
   * Write a new version of `du` (DepSky-A or -CA per client or per call). DepSky-CA streams (metadata format 2):
   * memory stays bounded whatever the size, and the call returns once n-f clouds hold every segment; the others
   * finish in the background until close() (at most lingerMs, LATE_COPY_MS by default).
   */
  async put(du: string, source: Source, o: { protocol?: Protocol; signal?: AbortSignal } = {}): Promise<PutResult> {
    this.checkName(du);
    this.requireSignKey();
    // The previous write's late copies into this unit land first (or are cut): see LateCopies.before.
    await this.lingering.before(containerOf(du), this.opts.lingerMs ?? LATE_COPY_MS);
    const protocol = o.protocol ?? this.opts.protocol;
    if (protocol === 'depsky-ca' && this.opts.caFormat !== 1) return this.putStreamed(du, source, o.signal);
    if ('stream' in source) {
      // DepSky-A hashes before it uploads and every cloud reads the value on its own: spool the stream first.
      const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'tclouds-put-'));
      try {
        const file = path.join(dir, 'value');
        await pipeline(source.stream, createWriteStream(file, { mode: 0o600 }), o.signal ? { signal: o.signal } : {});
        return await this.put(du, { file }, o);
      } finally {
        await fs.rm(dir, { recursive: true, force: true });
      }
    }
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
      // Format 1 CA (whole value in memory): kept for compatibility tests only (caFormat: 1).
      const value = source instanceof Uint8Array ? source : await this.readWhole(source.file);
      encode = async (v) => {
        const e = await encodeCA(du, v, value, this.n, this.opts.f);
        bytesPerCloud = (e.payloads[0] as Uint8Array).length;
        return e;
      };
    }
    const r = await this.run(
      this.writeCore(du, protocol),
      { encode, ...(o.signal ? { signal: o.signal } : {}) },
      3 * this.n,
    );
    this.known.set(du, r.meta.version);
    return this.putResult(du, r, bytesPerCloud);
  }

  /** Write a new version from a stream (standard input, an upload). Same as put(du, { stream }). */
  putStream(du: string, stream: Readable, o: { protocol?: Protocol; signal?: AbortSignal } = {}): Promise<PutResult> {
    return this.put(du, { stream }, o);
  }

  private writeCore(du: string, protocol: Protocol): WriteCore {
    return new WriteCore(this.set, du, this.crypto, {
      protocol,
      writer: this.writer(),
      ...(this.known.has(du) ? { knownVersion: this.known.get(du)! } : {}),
    });
  }

  private putResult(du: string, r: WriteResult, bytesPerCloud: number): PutResult {
    const acked = r.acked.map((c) => this.set.names[c]!).sort();
    const failed = r.failed.map((x) => ({ cloud: this.set.names[x.cloud]!, reason: x.reason }));
    return {
      du,
      version: versionString(r.meta.version),
      protocol: r.meta.protocol,
      size: r.meta.size,
      bytesPerCloud,
      acked,
      // Clouds neither acked nor failed are still receiving their copy in the background (bounded by close()).
      pending: this.set.names.filter((c) => !acked.includes(c) && !failed.some((x) => x.cloud === c)).sort(),
      failed,
    };
  }

  /** Streamed DepSky-CA (stream-write.ts): segments stored while the source is read, metadata on the quorum. */
  private async putStreamed(du: string, source: Source, signal?: AbortSignal): Promise<PutResult> {
    const segments = await this.segmentSource(source);
    let write: StreamedWrite | undefined;
    let stored: StreamedQuorum | undefined;
    const encode = async (version: Version): Promise<Encoded> => {
      write = startStreamedWrite({
        du,
        container: containerOf(du),
        version,
        f: this.opts.f,
        drivers: this.drivers,
        source: segments,
        segmentBytes: this.segmentBytes,
        ...(signal ? { signal } : {}),
        ...(this.opts.profile ? { profile: this.opts.profile } : {}),
      });
      stored = await write.quorum.catch((e: unknown) => {
        throw this.streamFailure(e, signal);
      });
      return {
        payloads: [],
        digests: stored.digests,
        size: stored.size,
        stored: stored.stored,
        failed: stored.failed,
        segmentBytes: this.segmentBytes,
      };
    };
    let r: WriteResult;
    try {
      r = await this.run(this.writeCore(du, 'depsky-ca'), { encode, ...(signal ? { signal } : {}) }, 3 * this.n);
    } catch (e) {
      write?.stop('write failed');
      // Stops the reading at once (a source still waiting for its input). Its memory goes back only once nothing
      // seals from it any more: by the writer when it stopped (a segment may still be on the cipher thread).
      await segments.close().catch(() => {});
      if (!write) segments.release();
      throw e;
    }
    this.known.set(du, r.meta.version);
    this.finishLateClouds(du, r, write!, stored!);
    return this.putResult(du, r, stored!.bytesPerCloud);
  }

  /** Clouds still storing segments when the quorum was reached get the metadata once they hold every file. */
  private finishLateClouds(du: string, r: WriteResult, write: StreamedWrite, q: StreamedQuorum): void {
    const metadata = this.crypto.signMetadata(r.meta);
    for (let c = 0; c < this.n; c++) {
      if (q.stored.includes(c) || q.failed.some((x) => x.cloud === c)) continue;
      const driver = this.drivers[c]!;
      const ctl = new AbortController();
      const promise = write.cloudDone(c).then(async (ok) => {
        if (!ok) return false;
        await driver.put(containerOf(du), METADATA_FILE, metadata, { signal: ctl.signal });
        return true;
      });
      this.lingering.add({
        promise,
        cloud: driver.cloud,
        container: containerOf(du),
        abort: () => {
          write.stop('late copy cut at its time bound');
          ctl.abort(new Error('late copy cut at its time bound'));
        },
      });
    }
  }

  private async segmentSource(source: Source): Promise<SegmentSource> {
    if (source instanceof Uint8Array) return bufferSource(source, this.segmentBytes);
    if ('stream' in source) return streamSource(source.stream, this.segmentBytes);
    const st = await fs.stat(source.file).catch(() => undefined);
    if (!st?.isFile()) {
      throw new TcError(StorageCode.badName, `${source.file} is not a readable file`, { exit: ExitCode.notFound });
    }
    return fileSource(source.file, this.segmentBytes);
  }

  private get segmentBytes(): number {
    return this.opts.segmentBytes ?? SEGMENT_BYTES;
  }

  /** A streamed write that failed: no quorum (TcError from the schedule), Ctrl-C, or the input broke. */
  private streamFailure(e: unknown, signal?: AbortSignal): unknown {
    if (e instanceof TcError || signal?.aborted) return e;
    return new TcError(StorageCode.sourceFailed, `reading the input failed: ${e instanceof Error ? e.message : e}`, {
      exit: ExitCode.failure,
      hint: 'nothing new became current; the previous version stays readable',
    });
  }

  private async readWhole(file: string): Promise<Uint8Array> {
    const buf = await fs.readFile(file);
    return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  private info(r: Read, streamed?: StreamedReadResult): GetInfo {
    const clouds = r.meta.clouds;
    return {
      du: r.meta.du,
      version: versionString(r.meta.version),
      protocol: r.meta.protocol,
      size: r.meta.size,
      from: streamed
        ? [...streamed.from].map((pos) => clouds[pos]!).sort()
        : [...r.values.keys()].map((c) => r.names[c]!).sort(),
      rejected: [
        ...r.rejected.map((x) => ({ cloud: r.names[x.cloud]!, reason: x.reason })),
        ...(streamed?.rejected ?? []).map((x) => ({ cloud: clouds[x.position]!, reason: x.reason })),
      ],
      dataGets: r.dataGets + (streamed?.dataGets ?? 0),
    };
  }

  /** Streamed CA (format 2, stream-read.ts): segment after segment, each verified before it reaches `sink`. */
  private streamOut(r: Read, sink: SegmentSink, signal?: AbortSignal): Promise<StreamedReadResult> {
    const byName = new Map(r.drivers.map((d) => [d.cloud, d]));
    const manifests = new Map<number, Fetched>();
    for (const [c, v] of r.values) {
      const pos = r.meta.clouds.indexOf(r.names[c]!);
      if (pos >= 0) manifests.set(pos, v);
    }
    return streamedRead({
      meta: r.meta,
      drivers: r.meta.clouds.map((c) => byName.get(c)),
      manifests,
      showed: (r.showed ?? []).map((c) => r.meta.clouds.indexOf(r.names[c]!)).filter((pos) => pos >= 0),
      preferred: (this.opts.read?.preference ?? [])
        .map((c) => r.meta.clouds.indexOf(r.names[c] ?? ''))
        .filter((pos) => pos >= 0),
      sink,
      ...(signal ? { signal } : {}),
      ...(this.opts.profile ? { profile: this.opts.profile } : {}),
    });
  }

  private streamed(r: Read): boolean {
    return r.meta.format === 2 && r.meta.version.counter > 0;
  }

  private async readCore(du: string, stream: boolean, spool: Spool | undefined, signal?: AbortSignal): Promise<Read> {
    this.checkName(du);
    const core = new ReadCore(this.set, du, this.crypto, { ...this.opts.read, stream });
    try {
      const r = await this.run(core, { ...(spool ? { spool } : {}), ...(signal ? { signal } : {}) });
      return { ...r, names: this.set.names, drivers: this.drivers };
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
    if (this.streamed(r)) {
      const sink = bufferSink(r.meta.size);
      const s = await this.streamOut(r, sink, o.signal);
      return { bytes: sink.bytes, info: this.info(r, s) };
    }
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
      if (this.streamed(r)) {
        // Verified segments go to a temp file beside the target; it replaces the target only when complete.
        const tmp = spool.newFile();
        const h = await fs.open(tmp, 'wx', 0o600);
        let s: StreamedReadResult;
        try {
          s = await this.streamOut(r, fileSink(h), o.signal);
          await h.sync();
        } finally {
          await h.close();
        }
        await fs.chmod(tmp, 0o644);
        await fs.rename(tmp, file);
        spool.keep(tmp);
        return this.info(r, s);
      }
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

  /**
   * Read the current value into a stream (stdout, an HTTP response). Bytes are written only after they were
   * verified. `o.head` learns the version and size once they are known, before the first byte is written (an
   * HTTP response sends them as headers). `o.flushed`: `out` calls a write back only once it is done with the
   * bytes (a socket or an HTTP response that passes them to the kernel; not a PassThrough, which hands the same
   * memory on), so the read may reuse their memory afterwards (flushedSink).
   */
  async getToStream(
    du: string,
    out: Writable,
    o: { signal?: AbortSignal; head?: (head: ReadHead) => void; flushed?: boolean } = {},
  ): Promise<GetInfo> {
    const spool = new Spool(os.tmpdir());
    try {
      const r = await this.readCore(du, true, spool, o.signal);
      const v = [...r.values.values()][0];
      o.head?.({ version: versionString(r.meta.version), size: r.meta.size, protocol: r.meta.protocol });
      if (this.streamed(r)) {
        const sink = o.flushed ? flushedSink(out) : writableSink(out);
        return this.info(r, await this.streamOut(r, sink, o.signal));
      }
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
    await this.lingering.before(containerOf(du), this.opts.lingerMs ?? LATE_COPY_MS);
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

  /**
   * Wait for the late copies of this client's writes into `du` to land (or be cut at lingerMs), without closing
   * the drivers (which a gateway's clients share).
   */
  async landed(du: string): Promise<void> {
    await this.lingering.before(containerOf(du), this.opts.lingerMs ?? LATE_COPY_MS);
  }

  /**
   * Let late copies finish (bounded by lingerMs), then release the drivers. `stored`/`unfinished`: the clouds whose
   * late copies all landed, or not, since the previous close.
   */
  async close(): Promise<{ unfinishedCopies: number; stored: string[]; unfinished: string[] }> {
    const { left, stored, unfinished } = await this.lingering.settle(this.opts.lingerMs ?? LATE_COPY_MS);
    await Promise.all(this.drivers.map((d) => d.close?.()));
    return { unfinishedCopies: left, stored, unfinished };
  }
}

/**
 * DepSky-A and DepSky-CA write (Algorithms 1 and 2, write halves; loop bounds are all n clouds, see errata §0.2).
 *
 * 1. If the writer does not know the current version: queryMetadata (n-f), max version. Signed metadata of another
 *    key on more than f clouds means the data unit belongs to another writer: refuse instead of overwriting.
 * 2. new version = (max counter + 1, writer id); the host encodes the value for it (A: the value itself and its
 *    digest; CA: encrypt, share the key, erasure-code, one <share, block> per cloud and its digest).
 * 3. Put `value<ver>` on all n clouds, wait for n-f acks (data first, DS-09).
 * 4. Put the signed metadata on all n clouds, wait for n-f acks. Only then is the write complete.
 * Calls still pending at the end are cancelled (the executor may let them finish in the background).
 */
import { StorageCode } from '../codes.js';
import { Core, MetadataCollector } from './core.js';
import { containerOf, METADATA_FILE, valueFile } from './names.js';
import type { CloudReply, CloudSet, CoreCrypto, Encoded, Metadata, Protocol, Version } from './types.js';

export interface WriteOptions {
  protocol: Protocol;
  writer: string;
  /** Version this writer knows is current (max_ver_du); skips the metadata query. */
  knownVersion?: Version;
}

export interface WriteResult {
  meta: Metadata;
  /** Clouds that acknowledged the metadata. */
  acked: number[];
  /** Clouds whose data or metadata put failed. */
  failed: { cloud: number; reason: string }[];
}

export class WriteCore extends Core<WriteResult> {
  private readonly metaQ: MetadataCollector;
  private readonly container: string;
  private version: Version | undefined;
  private encoded: Encoded | undefined;
  private digests: string[] | undefined;
  private meta: Metadata | undefined;
  private readonly acks = { data: new Set<number>(), meta: new Set<number>() };
  private readonly failed: { cloud: number; reason: string }[] = [];

  constructor(
    clouds: CloudSet,
    private readonly du: string,
    private readonly crypto: CoreCrypto,
    private readonly opts: WriteOptions,
  ) {
    super(clouds);
    this.container = containerOf(du);
    this.metaQ = new MetadataCollector(du, crypto);
  }

  protected onStart(): void {
    if (this.opts.knownVersion) this.begin(this.opts.knownVersion);
    else this.callAll(MetadataCollector.op(this.container), 'query');
  }

  private begin(current: Version): void {
    this.version = { counter: current.counter + 1, writer: this.opts.writer };
    this.emit({ type: 'encode', version: this.version });
  }

  protected override onEncoded(e: Encoded): void {
    if (this.version === undefined || this.encoded !== undefined) return;
    if (e.stored === undefined && e.payloads.length !== 1 && e.payloads.length !== this.n)
      throw new Error('write core: bad payload count');
    this.encoded = e;
    if (e.digests) this.setDigests(e.digests);
    if (e.stored !== undefined) {
      this.onStored(e.stored, e.failed ?? []);
      return;
    }
    const name = valueFile(this.version);
    for (let i = 0; i < this.n; i++) {
      const payload = e.payloads.length === 1 ? e.payloads[0]! : e.payloads[i]!;
      this.call(i, { kind: 'put', container: this.container, name, payload }, 'data');
    }
  }

  /**
   * Streamed CA: the host stored segments and manifests itself (bounded memory, pipelined). The metadata goes to
   * the clouds that hold every file of the version; a cloud still catching up gets it from the host afterwards.
   */
  private onStored(stored: number[], failed: { cloud: number; reason: string }[]): void {
    this.failed.push(...failed);
    for (const c of stored) this.acks.data.add(c);
    if (this.acks.data.size < this.quorum || this.digests === undefined) {
      const why = this.failed.map((x) => `${this.name(x.cloud)}: ${x.reason}`).join('; ');
      this.fail({
        code: StorageCode.noQuorum,
        kind: 'unavailable',
        message: `only ${this.acks.data.size} of ${this.n} clouds stored every segment, ${this.quorum} needed (${why})`,
        hint: 'at most f clouds may be down; the previous version stays readable',
      });
      return;
    }
    this.putMetadata([...this.acks.data]);
  }

  protected override onDigested(d: string[]): void {
    if (this.encoded === undefined || this.digests !== undefined) return;
    this.setDigests(d);
    // The value may already be on a quorum: the metadata only waited for the digests.
    if (this.acks.data.size >= this.quorum && this.meta === undefined) this.putMetadata();
  }

  private setDigests(d: string[]): void {
    const want = this.opts.protocol === 'depsky-a' ? 1 : this.n;
    if (d.length !== want) throw new Error('write core: bad digest count');
    this.digests = [...d];
  }

  protected onReply(tag: string, reply: CloudReply): void {
    if (tag === 'query') {
      this.metaQ.record(reply);
      if (this.metaQ.good >= this.quorum) {
        this.cancelTag('query');
        const invalid = this.metaQ.count('invalid');
        if (this.metaQ.valid.length === 0 && invalid > this.f) {
          this.fail(this.metaQ.failure(this.n, this.f, this.clouds.names));
          return;
        }
        this.begin(this.metaQ.max()?.version ?? { counter: 0, writer: '' });
      } else if (this.metaQ.good + this.pendingWith('query') < this.quorum) {
        this.fail(this.metaQ.failure(this.n, this.f, this.clouds.names));
      }
      return;
    }
    const ok = reply.result.status === 'ok';
    if (!ok) {
      const r = reply.result;
      this.failed.push({ cloud: reply.cloud, reason: r.status === 'error' ? r.message : r.status });
    }
    const set = tag === 'data' ? this.acks.data : this.acks.meta;
    if (ok) set.add(reply.cloud);
    if (set.size >= this.quorum) {
      if (tag === 'data' && this.meta === undefined && this.digests !== undefined) this.putMetadata();
      else if (tag === 'meta') this.done({ meta: this.meta!, acked: [...this.acks.meta], failed: this.failed });
      return;
    }
    if (set.size + this.pendingWith(tag) < this.quorum) {
      const why = this.failed.map((x) => `${this.name(x.cloud)}: ${x.reason}`).join('; ');
      this.fail({
        code: StorageCode.noQuorum,
        kind: 'unavailable',
        message: `only ${set.size} of ${this.n} clouds stored the ${tag === 'data' ? 'value' : 'metadata'}, ${this.quorum} needed (${why})`,
        hint: 'at most f clouds may be down; the previous version stays readable',
      });
    }
  }

  private putMetadata(only?: number[]): void {
    const e = this.encoded!;
    this.meta = {
      format: e.segmentBytes === undefined ? 1 : 2,
      ...(e.segmentBytes === undefined ? {} : { segmentBytes: e.segmentBytes }),
      du: this.du,
      protocol: this.opts.protocol,
      version: this.version!,
      size: e.size,
      ...(e.sealedSize === undefined ? {} : { sealedSize: e.sealedSize }),
      n: this.n,
      f: this.f,
      clouds: [...this.clouds.names],
      digests: this.digests!,
    };
    const bytes = this.crypto.signMetadata(this.meta);
    const op = { kind: 'put' as const, container: this.container, name: METADATA_FILE, payload: bytes };
    if (only === undefined) this.callAll(op, 'meta');
    else for (const c of only) this.call(c, op, 'meta');
  }
}

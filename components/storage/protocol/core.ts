/**
 * Base of every DepSky core: call bookkeeping, quorum arithmetic and the `queryMetadata` collector.
 * Pure: no I/O, no clocks, no randomness (see ./types.ts).
 */
import { StorageCode } from '../codes.js';
import { parseMetadataFile } from './metadata.js';
import { compareVersions, METADATA_FILE } from './names.js';
import type {
  Action,
  CloudOp,
  CloudReply,
  CloudSet,
  CoreCrypto,
  CoreEvent,
  CoreFailure,
  Encoded,
  Metadata,
} from './types.js';

/** n-f: the quorum of DepSky (any two quorums share f+1 clouds, at least one of them correct). */
export function quorumSize(n: number, f: number): number {
  return n - f;
}

/** Problem with n and f, or undefined when n >= 3f+1 (DS-01). */
export function checkNF(n: number, f: number): string | undefined {
  if (!Number.isInteger(f) || f < 1) return `f must be a positive integer, got ${f}`;
  if (n < 3 * f + 1) return `DepSky needs n >= 3f+1 clouds: f=${f} needs at least ${3 * f + 1}, got ${n}`;
  return undefined;
}

export abstract class Core<T> {
  readonly n: number;
  readonly f: number;
  readonly quorum: number;
  private seq = 0;
  /** Outstanding calls: id -> tag (the phase that issued them). */
  protected readonly pending = new Map<number, { tag: string; cloud: number }>();
  private out: Action<T>[] = [];
  private finished = false;

  constructor(readonly clouds: CloudSet) {
    this.n = clouds.names.length;
    this.f = clouds.f;
    this.quorum = quorumSize(this.n, this.f);
  }

  get isFinished(): boolean {
    return this.finished;
  }

  /** Feed one event, get the actions to perform, in order. Events after done/fail are ignored. */
  step(ev: CoreEvent): Action<T>[] {
    if (!this.finished) {
      switch (ev.type) {
        case 'start':
          this.onStart();
          break;
        case 'reply': {
          const p = this.pending.get(ev.reply.id);
          // Unknown or cancelled call ids (late replies) are ignored: they can never count twice.
          if (p !== undefined && p.cloud === ev.reply.cloud) {
            this.pending.delete(ev.reply.id);
            this.onReply(p.tag, ev.reply);
          }
          break;
        }
        case 'tick':
          this.onTick();
          break;
        case 'encoded':
          this.onEncoded(ev.encoded);
          break;
        case 'digested':
          this.onDigested(ev.digests);
          break;
      }
    }
    const out = this.out;
    this.out = [];
    return out;
  }

  protected abstract onStart(): void;
  protected abstract onReply(tag: string, reply: CloudReply): void;
  protected onTick(): void {}
  protected onEncoded(_e: Encoded): void {}
  protected onDigested(_d: string[]): void {}

  protected call(cloud: number, op: CloudOp, tag: string): number {
    const id = ++this.seq;
    this.pending.set(id, { tag, cloud });
    this.out.push({ type: 'call', id, cloud, op });
    return id;
  }

  protected callAll(op: CloudOp, tag: string): void {
    for (let i = 0; i < this.n; i++) this.call(i, op, tag);
  }

  protected pendingWith(tag: string): number {
    let c = 0;
    for (const p of this.pending.values()) if (p.tag === tag) c++;
    return c;
  }

  protected cancelTag(tag: string): void {
    const ids: number[] = [];
    for (const [id, p] of this.pending) if (p.tag === tag) ids.push(id);
    for (const id of ids) this.pending.delete(id);
    if (ids.length > 0) this.out.push({ type: 'cancel', ids });
  }

  protected emit(a: Action<T>): void {
    this.out.push(a);
  }

  private cancelAll(): void {
    const ids = [...this.pending.keys()];
    this.pending.clear();
    if (ids.length > 0) this.out.push({ type: 'cancel', ids });
  }

  protected done(value: T): void {
    this.cancelAll();
    this.out.push({ type: 'done', value });
    this.finished = true;
  }

  protected fail(failure: CoreFailure): void {
    this.cancelAll();
    this.out.push({ type: 'fail', failure });
    this.finished = true;
  }

  protected name(cloud: number): string {
    return this.clouds.names[cloud] ?? `#${cloud}`;
  }
}

/** Outcome of one cloud's metadata get, as queryMetadata classifies it. */
export type MetaAnswer = 'valid' | 'absent' | 'invalid' | 'error';

/**
 * queryMetadata (Table 6.1): get `metadata` from all n clouds, keep the correctly signed ones, finish when n-f
 * clouds answered validly. A missing file counts as a valid answer "version 0 / nothing" (a cloud that hides
 * the file is covered by quorum intersection: f+1 of any n-f answers come from correct clouds).
 */
export class MetadataCollector {
  readonly valid: { cloud: number; meta: Metadata }[] = [];
  readonly answers = new Map<number, MetaAnswer>();
  readonly errors = new Map<number, string>();
  /**
   * Clouds among the 'invalid' answers whose file is not metadata at all (not JSON, wrong shape): damaged on the
   * cloud, as opposed to well-formed metadata whose signature does not verify (another writer key, or a replay).
   */
  readonly garbled = new Set<number>();
  /** Clouds in the order their answers arrived (the latency order used by the read optimisation). */
  readonly arrival: number[] = [];

  constructor(
    private readonly du: string,
    private readonly crypto: CoreCrypto,
  ) {}

  static op(container: string): CloudOp {
    return { kind: 'get', container, name: METADATA_FILE };
  }

  record(reply: CloudReply): void {
    const r = reply.result;
    let a: MetaAnswer;
    if (r.status === 'notFound') a = 'absent';
    else if (r.status === 'fetched' && r.value.bytes !== undefined) {
      const meta = this.crypto.openMetadata(r.value.bytes);
      // A correctly signed file of another data unit is a replay by the cloud: treat it as invalid.
      if (meta !== undefined && meta.du === this.du) {
        a = 'valid';
        this.valid.push({ cloud: reply.cloud, meta });
      } else {
        a = 'invalid';
        if (meta === undefined && parseMetadataFile(r.value.bytes) === undefined) this.garbled.add(reply.cloud);
      }
    } else {
      a = 'error';
      this.errors.set(reply.cloud, r.status === 'error' ? r.message : `unexpected ${r.status}`);
    }
    this.answers.set(reply.cloud, a);
    this.arrival.push(reply.cloud);
  }

  get good(): number {
    let c = 0;
    for (const a of this.answers.values()) if (a === 'valid' || a === 'absent') c++;
    return c;
  }

  count(kind: MetaAnswer): number {
    let c = 0;
    for (const a of this.answers.values()) if (a === kind) c++;
    return c;
  }

  /** Highest correctly signed metadata, or undefined when no cloud holds any. */
  max(): Metadata | undefined {
    let best: Metadata | undefined;
    for (const { meta } of this.valid)
      if (best === undefined || compareVersions(meta.version, best.version) > 0) best = meta;
    return best;
  }

  /** The failure to report when a quorum can no longer be reached. */
  failure(n: number, f: number, names: readonly string[]): CoreFailure {
    const invalid = this.count('invalid');
    const foreign = invalid - this.garbled.size;
    // Only well-formed files signed by another key on more than f clouds say "another key": damaged files say
    // nothing about the key, and passing another one would not help.
    if (this.valid.length === 0 && foreign > f) {
      return {
        code: StorageCode.wrongKey,
        kind: 'invalid',
        message: `metadata of "${this.du}" on ${foreign} of ${n} clouds is not signed by this writer key`,
        hint: 'the data unit was written with another key: pass the right one with --key/--pubkey',
      };
    }
    // Damaged files on more than f clouds (whatever the others answered first, so the report does not depend on
    // which cloud is fastest), or no valid copy and the invalid ones mostly damaged.
    if (this.garbled.size > f || (this.valid.length === 0 && invalid > f)) {
      const where = [...this.garbled].sort((a, b) => a - b).map((c) => names[c] ?? String(c));
      const other = foreign > 0 ? `; on ${foreign} more it is not signed by this writer key` : '';
      return {
        code: StorageCode.metadataUnreadable,
        kind: 'failure',
        message: `metadata of "${this.du}" is unreadable on clouds ${where.join(', ')} (damaged files)${other}`,
        hint: "more than f clouds hold damaged metadata: `tclouds storage scrub COMPONENT` shows every copy; restore the clouds' data",
      };
    }
    const bad = [...this.answers].filter(([, a]) => a === 'error' || a === 'invalid');
    const detail = bad
      .map(
        ([c, a]) =>
          `${names[c] ?? c}: ${a === 'invalid' ? (this.garbled.has(c) ? 'unreadable metadata' : 'bad signature') : (this.errors.get(c) ?? 'error')}`,
      )
      .join('; ');
    return {
      code: StorageCode.noQuorum,
      kind: 'unavailable',
      message: `only ${this.good} of ${n} clouds answered with valid metadata, ${quorumSize(n, f)} needed (${detail})`,
      hint: 'at most f clouds may be down or faulty; check the failing clouds and retry',
    };
  }
}

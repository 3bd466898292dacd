/**
 * The additional DepSky protocols (§1.9): create, destroy, garbage collection, plus listing data units.
 * Each starts with queryMetadata where the outcome depends on who owns the data unit: a writer never deletes or
 * re-creates a data unit whose metadata is signed by another key.
 */
import { StorageCode } from '../codes.js';
import { Core, MetadataCollector } from './core.js';
import { compareVersions, containerOf, duOfContainer, METADATA_FILE, parseValueFile, versionString } from './names.js';
import type { CloudReply, CloudSet, CoreCrypto, Metadata, Protocol, Version } from './types.js';

/** Shared start: query metadata, then call `next(max)` (max undefined = the data unit does not exist). */
abstract class AfterMetadata<T> extends Core<T> {
  protected readonly container: string;
  private readonly q: MetadataCollector;

  constructor(
    clouds: CloudSet,
    protected readonly du: string,
    crypto: CoreCrypto,
  ) {
    super(clouds);
    this.container = containerOf(du);
    this.q = new MetadataCollector(du, crypto);
  }

  protected onStart(): void {
    this.callAll(MetadataCollector.op(this.container), 'query');
  }

  protected onReply(tag: string, reply: CloudReply): void {
    if (tag !== 'query') {
      this.onOther(tag, reply);
      return;
    }
    this.q.record(reply);
    if (this.q.good >= this.quorum) {
      this.cancelTag('query');
      if (this.q.valid.length === 0 && this.q.count('invalid') > this.f) {
        this.fail(this.q.failure(this.n, this.f, this.clouds.names));
        return;
      }
      this.next(this.q.max());
    } else if (this.q.good + this.pendingWith('query') < this.quorum) {
      this.fail(this.q.failure(this.n, this.f, this.clouds.names));
    }
  }

  protected abstract next(max: Metadata | undefined): void;
  protected abstract onOther(tag: string, reply: CloudReply): void;

  protected notFound(): void {
    this.fail({
      code: StorageCode.notFound,
      kind: 'notFound',
      message: `data unit "${this.du}" does not exist`,
      hint: 'check the name with `tclouds storage ls`',
    });
  }

  protected quorumLost(what: string, got: number): void {
    this.fail({
      code: StorageCode.noQuorum,
      kind: 'unavailable',
      message: `${what}: only ${got} of ${this.n} clouds answered, ${this.quorum} needed`,
      hint: 'at most f clouds may be down; retry later',
    });
  }
}

/** Create: the container with signed version-0 metadata on all clouds (no-op if it exists). */
export class CreateCore extends AfterMetadata<{ created: boolean; version: Version }> {
  private acks = 0;
  constructor(
    clouds: CloudSet,
    du: string,
    private readonly crypto: CoreCrypto,
    private readonly protocol: Protocol,
  ) {
    super(clouds, du, crypto);
  }

  protected next(max: Metadata | undefined): void {
    if (max !== undefined) {
      this.done({ created: false, version: max.version });
      return;
    }
    const meta: Metadata = {
      format: 1,
      du: this.du,
      protocol: this.protocol,
      version: { counter: 0, writer: '' },
      size: 0,
      n: this.n,
      f: this.f,
      clouds: [...this.clouds.names],
      digests: [],
    };
    const bytes = this.crypto.signMetadata(meta);
    this.callAll({ kind: 'put', container: this.container, name: METADATA_FILE, payload: bytes }, 'put');
  }

  protected onOther(_tag: string, reply: CloudReply): void {
    if (reply.result.status === 'ok') this.acks++;
    if (this.acks >= this.quorum) this.done({ created: true, version: { counter: 0, writer: '' } });
    else if (this.acks + this.pendingWith('put') < this.quorum) this.quorumLost('create', this.acks);
  }
}

export interface GcResult {
  current: Version;
  /** Oldest version kept; every value file older than it was removed. */
  keptFrom: Version;
  removed: number;
  /** Clouds whose listing or removals failed (their old files stay; run gc again later). */
  incomplete: string[];
}

/**
 * Garbage collection: keep the newest `keep` versions (never the current one's newer neighbours: versions above
 * the signed current version are ignored, so a cloud listing fake names cannot make us delete the current value).
 */
export class GcCore extends AfterMetadata<GcResult> {
  private current: Version | undefined;
  /** Per cloud: its value files (whole values, segments, manifests) with the version each belongs to. */
  private readonly listings = new Map<number, { name: string; version: Version }[]>();
  private removed = 0;
  private keptFrom: Version | undefined;
  private readonly incomplete = new Set<string>();
  private removing = false;

  constructor(
    clouds: CloudSet,
    du: string,
    crypto: CoreCrypto,
    private readonly keep: number,
  ) {
    super(clouds, du, crypto);
  }

  protected next(max: Metadata | undefined): void {
    if (max === undefined) {
      this.notFound();
      return;
    }
    this.current = max.version;
    this.callAll({ kind: 'list', container: this.container }, 'list');
  }

  protected onOther(tag: string, reply: CloudReply): void {
    const r = reply.result;
    if (tag === 'list') {
      if (r.status === 'listed') {
        const files: { name: string; version: Version }[] = [];
        for (const name of r.names) {
          const version = parseValueFile(name);
          if (version !== undefined) files.push({ name, version });
        }
        this.listings.set(reply.cloud, files);
      } else this.incomplete.add(this.name(reply.cloud));
      if (this.pendingWith('list') === 0) this.removeOld();
      return;
    }
    if (r.status === 'ok' || r.status === 'notFound') this.removed++;
    else this.incomplete.add(this.name(reply.cloud));
    this.maybeDone();
  }

  private removeOld(): void {
    if (this.listings.size < this.quorum) {
      this.quorumLost('gc listing', this.listings.size);
      return;
    }
    const cur = this.current!;
    const all = new Map<string, Version>();
    for (const files of this.listings.values())
      for (const { version: v } of files) if (compareVersions(v, cur) <= 0) all.set(versionString(v), v);
    all.set(versionString(cur), cur);
    const sorted = [...all.values()].sort((a, b) => compareVersions(b, a));
    this.keptFrom = sorted[Math.min(this.keep, sorted.length) - 1]!;
    this.removing = true;
    for (const [cloud, files] of this.listings) {
      for (const { name, version } of files) {
        if (compareVersions(version, this.keptFrom) < 0) {
          this.call(cloud, { kind: 'remove', container: this.container, name }, 'remove');
        }
      }
    }
    this.maybeDone();
  }

  private maybeDone(): void {
    if (!this.removing || this.pendingWith('remove') > 0) return;
    this.done({
      current: this.current!,
      keptFrom: this.keptFrom!,
      removed: this.removed,
      incomplete: [...this.incomplete].sort(),
    });
  }
}

/** Destroy: remove every file and the container on every cloud (§1.9). */
export class DestroyCore extends AfterMetadata<{ removedFiles: number; incomplete: string[] }> {
  private lists = 0;
  private removedFiles = 0;
  private readonly incomplete = new Set<string>();
  private readonly filesLeft = new Map<number, number>();

  protected next(max: Metadata | undefined): void {
    if (max === undefined) {
      this.notFound();
      return;
    }
    this.callAll({ kind: 'list', container: this.container }, 'list');
  }

  protected onOther(tag: string, reply: CloudReply): void {
    const r = reply.result;
    const cloud = reply.cloud;
    if (tag === 'list') {
      if (r.status === 'listed' || r.status === 'notFound') {
        this.lists++;
        const names = r.status === 'listed' ? r.names : [];
        // Metadata goes last: until then, a reader still sees a consistent (if partly deleted) data unit.
        const ordered = [...names.filter((x) => x !== METADATA_FILE), ...names.filter((x) => x === METADATA_FILE)];
        this.filesLeft.set(cloud, ordered.length);
        for (const name of ordered) this.call(cloud, { kind: 'remove', container: this.container, name }, 'remove');
        if (ordered.length === 0) this.call(cloud, { kind: 'removeContainer', container: this.container }, 'rmc');
      } else this.incomplete.add(this.name(cloud));
    } else if (tag === 'remove') {
      if (r.status === 'ok' || r.status === 'notFound') this.removedFiles++;
      else this.incomplete.add(this.name(cloud));
      const left = (this.filesLeft.get(cloud) ?? 1) - 1;
      this.filesLeft.set(cloud, left);
      if (left === 0) this.call(cloud, { kind: 'removeContainer', container: this.container }, 'rmc');
    } else if (r.status !== 'ok' && r.status !== 'notFound') this.incomplete.add(this.name(cloud));
    if (this.pending.size === 0) {
      if (this.lists < this.quorum) this.quorumLost('destroy', this.lists);
      else this.done({ removedFiles: this.removedFiles, incomplete: [...this.incomplete].sort() });
    }
  }
}

/** Data units of the bucket: a container counts when listed by f+1 clouds (f faulty clouds cannot invent one). */
export class ListCore extends Core<{ dataUnits: string[]; incomplete: string[] }> {
  private readonly seen = new Map<string, number>();
  private answered = 0;
  private readonly incomplete: string[] = [];

  protected onStart(): void {
    this.callAll({ kind: 'listContainers' }, 'ls');
  }

  protected onReply(_tag: string, reply: CloudReply): void {
    const r = reply.result;
    if (r.status === 'listed') {
      this.answered++;
      for (const c of new Set(r.names)) this.seen.set(c, (this.seen.get(c) ?? 0) + 1);
    } else if (r.status === 'notFound') this.answered++;
    else this.incomplete.push(this.name(reply.cloud));
    // Wait for every cloud (or its failure): a data unit written while one cloud was down is on n-1 clouds only.
    if (this.pending.size > 0) return;
    if (this.answered < this.quorum) {
      this.fail({
        code: StorageCode.noQuorum,
        kind: 'unavailable',
        message: `ls: only ${this.answered} of ${this.n} clouds answered, ${this.quorum} needed`,
      });
      return;
    }
    const dataUnits = [...this.seen]
      .filter(([, c]) => c >= this.f + 1)
      .map(([name]) => duOfContainer(name))
      .filter((x): x is string => x !== undefined)
      .sort();
    this.done({ dataUnits, incomplete: this.incomplete.sort() });
  }
}

/** queryMetadata alone: the current signed metadata of a data unit (no data read). */
export class StatCore extends AfterMetadata<Metadata> {
  protected next(max: Metadata | undefined): void {
    if (max === undefined) this.notFound();
    else this.done(max);
  }

  protected onOther(): void {}
}

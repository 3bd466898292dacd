/**
 * DepSky-A and DepSky-CA read (Algorithms 1 and 2, read halves), with the read optimisation and the retry rule
 * for weakly consistent clouds.
 *
 * 1. queryMetadata: n-f correctly signed (or absent) metadata files; take the highest version.
 * 2. Data: ask clouds one at a time for A, f+1 at a time for CA (DS-16), in latency order (the order in which
 *    their metadata answers arrived, clouds that showed the chosen version first) or in a given price order.
 *    Each failure (error, missing file, digest mismatch) starts the next cloud; a get that stays unanswered for
 *    `hedgeTicks` ticks also starts the next one, so a slow cloud costs at most that delay.
 * 3. Done when 1 (A) / f+1 (CA) values match the signed digests. Weakly consistent clouds (§1.10): when every
 *    cloud was tried, wait `retryTicks` and try the clouds again, up to `retryRounds` times (DS-17).
 */
import { StorageCode } from '../codes.js';
import { Core, MetadataCollector } from './core.js';
import { compareVersions, containerOf, manifestFile, valueFile, versionString } from './names.js';
import type { CloudReply, CloudSet, CoreCrypto, Fetched, Metadata } from './types.js';

export interface ReadOptions {
  /** Clouds to try first (e.g. cheapest first), before the latency order from the metadata answers. */
  preference?: number[];
  /** Ticks before an unanswered data get makes the next cloud start too. Default 20. */
  hedgeTicks?: number;
  /** Extra rounds over all clouds for weakly consistent clouds. Default 2. */
  retryRounds?: number;
  /** Ticks to wait between rounds. Default 5. */
  retryTicks?: number;
  /** Stream A values to spool files instead of memory (large objects). */
  stream?: boolean;
}

export interface ReadResult {
  meta: Metadata;
  /** Valid values by cloud index: one for A, f+1 for CA (block i of cloud i). Empty for version 0. */
  values: Map<number, Fetched>;
  /** Clouds whose data failed the check (corrupt/missing), for reporting. */
  rejected: { cloud: number; reason: string }[];
  /** Data gets issued (the cost the read optimisation saves). */
  dataGets: number;
  /** Clouds whose metadata showed the chosen version, in the order they answered (a streamed read's candidates). */
  showed?: number[];
}

export class ReadCore extends Core<ReadResult> {
  private readonly meta: MetadataCollector;
  private readonly container: string;
  private phase: 'meta' | 'data' | 'wait' = 'meta';
  private chosen: Metadata | undefined;
  private order: number[] = [];
  private showed = new Set<number>();
  private next = 0;
  private readonly good = new Map<number, Fetched>();
  private readonly rejected: { cloud: number; reason: string }[] = [];
  private dataGets = 0;
  private sinceLaunch = 0;
  private roundsLeft: number;
  private waitLeft = 0;
  private readonly hedgeTicks: number;
  private readonly retryTicks: number;

  constructor(
    clouds: CloudSet,
    private readonly du: string,
    crypto: CoreCrypto,
    private readonly opts: ReadOptions = {},
  ) {
    super(clouds);
    this.container = containerOf(du);
    this.meta = new MetadataCollector(du, crypto);
    this.roundsLeft = opts.retryRounds ?? 2;
    this.hedgeTicks = opts.hedgeTicks ?? 20;
    this.retryTicks = opts.retryTicks ?? 5;
  }

  protected onStart(): void {
    this.callAll(MetadataCollector.op(this.container), 'meta');
  }

  private get need(): number {
    return this.chosen?.protocol === 'depsky-ca' ? this.f + 1 : 1;
  }

  protected onReply(tag: string, reply: CloudReply): void {
    if (tag === 'meta' && this.phase !== 'meta') {
      this.lateMetadata(reply);
      return;
    }
    if (tag === 'meta') {
      this.meta.record(reply);
      if (this.meta.good >= this.quorum) {
        // The other metadata gets stay open until the read ends: a cloud answering after the quorum still joins
        // `showed` (lateMetadata), so a streamed read need not decode around a data cloud that was only slower.
        this.startData();
      } else if (this.meta.good + this.pendingWith('meta') < this.quorum) {
        this.fail(this.meta.failure(this.n, this.f, this.clouds.names));
      }
      return;
    }
    // Data reply.
    const m = this.chosen!;
    const r = reply.result;
    const reason = this.check(reply.cloud, m, r);
    if (reason === undefined && r.status === 'fetched') {
      this.good.set(reply.cloud, r.value);
      if (this.good.size >= this.need) {
        const showed = this.order.filter((c) => this.showed.has(c));
        this.done({ meta: m, values: this.good, rejected: this.rejected, dataGets: this.dataGets, showed });
        return;
      }
    } else {
      this.rejected.push({ cloud: reply.cloud, reason: reason ?? 'unexpected reply' });
    }
    this.fillUp();
  }

  /**
   * A metadata answer after the quorum: a cloud whose correctly signed metadata shows the chosen version joins
   * `showed` (a candidate for a streamed read's blocks); it changes nothing else of this read.
   */
  private lateMetadata(reply: CloudReply): void {
    this.meta.record(reply);
    const m = this.chosen;
    if (m === undefined) return;
    const v = this.meta.valid.find((x) => x.cloud === reply.cloud);
    if (v !== undefined && compareVersions(v.meta.version, m.version) === 0) this.showed.add(reply.cloud);
  }

  private check(cloud: number, m: Metadata, r: CloudReply['result']): string | undefined {
    if (r.status === 'notFound') return `${valueFile(m.version)} missing`;
    if (r.status === 'error') return r.message;
    if (r.status !== 'fetched') return `unexpected ${r.status}`;
    if (m.protocol === 'depsky-a') {
      if (r.value.digest !== m.digests[0] || r.value.size !== m.size) return 'digest mismatch (corrupt value)';
      return undefined;
    }
    const pos = m.clouds.indexOf(this.clouds.names[cloud]!);
    if (pos < 0 || r.value.digest !== m.digests[pos]) return 'digest mismatch (corrupt block)';
    return undefined;
  }

  private startData(): void {
    const best = this.meta.max();
    if (best === undefined) {
      if (this.meta.count('invalid') > this.f) {
        this.fail(this.meta.failure(this.n, this.f, this.clouds.names));
        return;
      }
      this.fail({
        code: StorageCode.notFound,
        kind: 'notFound',
        message: `data unit "${this.du}" does not exist (no signed metadata on ${this.meta.good} clouds)`,
        hint: 'check the name with `tclouds storage ls`',
      });
      return;
    }
    this.chosen = best;
    if (best.version.counter === 0) {
      this.done({ meta: best, values: new Map(), rejected: [], dataGets: 0 });
      return;
    }
    const eligible = (c: number) =>
      best.protocol === 'depsky-a' || best.clouds.includes(this.clouds.names[c] ?? '\u0000');
    // Latency order: clouds that showed the chosen version first (they surely stored it), then the others in
    // arrival order, then those that never answered. A given preference (e.g. cheapest first) goes before it.
    const showed = new Set(
      this.meta.valid.filter((v) => compareVersions(v.meta.version, best.version) === 0).map((v) => v.cloud),
    );
    this.showed = showed;
    const arrived = this.meta.arrival;
    const base = [
      ...(this.opts.preference ?? []),
      ...arrived.filter((c) => showed.has(c)),
      ...arrived.filter((c) => !showed.has(c)),
      ...Array.from({ length: this.n }, (_, c) => c).filter((c) => !arrived.includes(c)),
    ];
    this.order = base.filter((c, i) => c >= 0 && c < this.n && base.indexOf(c) === i && eligible(c));
    if (this.order.length < this.need) {
      this.fail({
        code: StorageCode.integrity,
        kind: 'failure',
        message: `version ${versionString(best.version)} of "${this.du}" is spread over clouds this client does not know (${best.clouds.join(', ')})`,
        hint: 'the data unit was reconfigured: update the component clouds in the topology',
      });
      return;
    }
    this.phase = 'data';
    this.next = 0;
    this.fillUp();
  }

  private launch(): boolean {
    while (this.next < this.order.length) {
      const c = this.order[this.next++]!;
      if (this.good.has(c)) continue;
      this.dataGets++;
      this.sinceLaunch = 0;
      this.call(
        c,
        {
          kind: 'get',
          container: this.container,
          // Streamed CA (format 2): the f+1 manifests (key shares, segment digests); the host streams the segments.
          name: this.chosen!.format === 2 ? manifestFile(this.chosen!.version) : valueFile(this.chosen!.version),
          stream: this.opts.stream === true && this.chosen!.protocol === 'depsky-a',
        },
        'data',
      );
      return true;
    }
    return false;
  }

  /** Keep `need - good` gets in flight; when no cloud is left, retry a round or fail. */
  private fillUp(): void {
    while (this.pendingWith('data') < this.need - this.good.size) if (!this.launch()) break;
    if (this.pendingWith('data') > 0) return;
    if (this.roundsLeft > 0) {
      this.roundsLeft--;
      this.phase = 'wait';
      this.waitLeft = this.retryTicks;
      return;
    }
    const m = this.chosen!;
    const why = this.rejected.map((r) => `${this.name(r.cloud)}: ${r.reason}`).join('; ');
    this.fail({
      code: StorageCode.integrity,
      kind: 'failure',
      message: `could not read ${this.need} valid ${m.protocol === 'depsky-ca' ? 'blocks' : 'value'} of "${this.du}" version ${versionString(m.version)} (${why})`,
      hint: 'more than f clouds lost or corrupted this version; an older version may still be readable',
    });
  }

  protected override onTick(): void {
    if (this.phase === 'wait') {
      if (--this.waitLeft <= 0) {
        this.phase = 'data';
        this.next = 0;
        this.fillUp();
      }
    } else if (this.phase === 'data') {
      if (++this.sinceLaunch >= this.hedgeTicks) this.launch();
    }
  }
}

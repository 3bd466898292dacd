/**
 * The low-contention lock/lease protocol for several writers (§1.8), hardened against one faulty cloud.
 *
 * Lock files are zero-byte, unsigned `lock-<writer>-<T>` files, and a Byzantine cloud can list files that do not
 * exist. If a single listing could stop a writer, one faulty cloud would block every writer forever (a liveness
 * attack the lock of TClouds D2.2.1 ch. 6.3.8 leaves open as printed). So a lock file only COUNTS when the same name is listed by at least f+1
 * of the clouds that answered: f faulty clouds cannot reach that on their own, and f+1 listings include at least
 * one correct cloud, so the file really was written there. The same rule is used in step 1 and step 3.
 *
 *   1. list on all n clouds (wait n-f). A counted lock of another writer with now < T + delta: held, give up.
 *   2. put `lock-<me>-<now+lease>` on all n clouds (wait n-f).
 *   3. after `settleTicks` (propagation wait for weakly consistent clouds, §1.10), list again (wait n-f). A counted
 *      lock of another writer still valid: remove ours (wait n-f) and report a conflict (the caller backs off
 *      randomly and retries). Otherwise we hold the lock until T.
 * Renewal = acquire again by the holder (its own old lock files do not count against it and are removed).
 * Unlock = remove our lock files (UnlockCore).
 */
import { StorageCode } from '../codes.js';
import { Core } from './core.js';
import { containerOf, lockFile, parseLockFile } from './names.js';
import type { CloudReply, CloudSet } from './types.js';

export interface LockOptions {
  writer: string;
  /** Local clock in ms since the epoch when the attempt starts (injected: cores read no clock). */
  now: number;
  leaseMs: number;
  /** Safety margin for clock differences between writers. */
  deltaMs: number;
  /** Ticks to wait between step 2 and step 3. */
  settleTicks?: number;
}

export interface LockHolder {
  writer: string;
  until: number;
  /** On how many clouds the lock file was listed. */
  seenOn: number;
}

export type LockResult =
  | { acquired: true; until: number; file: string }
  | { acquired: false; reason: 'held' | 'conflict'; holder: LockHolder };

/** Lock files of other writers that count (listed by >= f+1 clouds) and are still valid at `now`. */
export function countedLocks(
  listings: readonly (readonly string[])[],
  f: number,
  now: number,
  deltaMs: number,
  except?: string,
): LockHolder[] {
  const seen = new Map<string, number>();
  for (const names of listings) {
    for (const name of new Set(names)) {
      const l = parseLockFile(name);
      if (l === undefined || l.writer === except) continue;
      seen.set(name, (seen.get(name) ?? 0) + 1);
    }
  }
  const out: LockHolder[] = [];
  for (const [name, count] of seen) {
    const l = parseLockFile(name)!;
    if (count >= f + 1 && now < l.until + deltaMs) out.push({ writer: l.writer, until: l.until, seenOn: count });
  }
  return out.sort((a, b) => b.until - a.until || (a.writer < b.writer ? -1 : 1));
}

export class LockCore extends Core<LockResult> {
  private readonly container: string;
  private phase: 'list1' | 'put' | 'settle' | 'list2' | 'unput' = 'list1';
  private listings: string[][] = [];
  private acks = 0;
  private settleLeft: number;
  private readonly until: number;
  private readonly file: string;
  private conflict: LockHolder | undefined;

  constructor(
    clouds: CloudSet,
    du: string,
    private readonly opts: LockOptions,
  ) {
    super(clouds);
    this.container = containerOf(du);
    this.until = opts.now + opts.leaseMs;
    this.file = lockFile(opts.writer, this.until);
    this.settleLeft = opts.settleTicks ?? 0;
  }

  protected onStart(): void {
    this.callAll({ kind: 'list', container: this.container }, 'list1');
  }

  private unavailable(what: string, got: number): void {
    this.fail({
      code: StorageCode.noQuorum,
      kind: 'unavailable',
      message: `lock: only ${got} of ${this.n} clouds answered the ${what}, ${this.quorum} needed`,
      hint: 'at most f clouds may be down; retry later',
    });
  }

  protected onReply(tag: string, reply: CloudReply): void {
    const r = reply.result;
    if (tag === 'list1' || tag === 'list2') {
      if (r.status === 'listed') this.listings.push(r.names);
      else if (r.status === 'notFound') this.listings.push([]);
      if (this.listings.length >= this.quorum) {
        this.cancelTag(tag);
        const others = countedLocks(this.listings, this.f, this.opts.now, this.opts.deltaMs, this.opts.writer);
        this.listings = [];
        if (tag === 'list1') {
          if (others.length > 0) {
            this.done({ acquired: false, reason: 'held', holder: others[0]! });
            return;
          }
          this.phase = 'put';
          this.callAll({ kind: 'put', container: this.container, name: this.file, payload: new Uint8Array(0) }, 'put');
        } else if (others.length > 0) {
          this.conflict = others[0]!;
          this.phase = 'unput';
          this.acks = 0;
          this.callAll({ kind: 'remove', container: this.container, name: this.file }, 'unput');
        } else {
          this.done({ acquired: true, until: this.until, file: this.file });
        }
      } else if (this.listings.length + this.pendingWith(tag) < this.quorum) {
        this.unavailable('listing', this.listings.length);
      }
      return;
    }
    if (r.status === 'ok' || (tag === 'unput' && r.status === 'notFound')) this.acks++;
    if (this.acks >= this.quorum) {
      this.cancelTag(tag);
      this.acks = 0;
      if (tag === 'put') {
        if (this.settleLeft > 0) this.phase = 'settle';
        else this.list2();
      } else {
        this.done({ acquired: false, reason: 'conflict', holder: this.conflict! });
      }
    } else if (this.acks + this.pendingWith(tag) < this.quorum) {
      this.unavailable(tag === 'put' ? 'lock write' : 'lock removal', this.acks);
    }
  }

  private list2(): void {
    this.phase = 'list2';
    this.callAll({ kind: 'list', container: this.container }, 'list2');
  }

  protected override onTick(): void {
    if (this.phase === 'settle' && --this.settleLeft <= 0) this.list2();
  }
}

/** Unlock: list, then remove every lock file of `writer` on every cloud that lists one (wait for n-f lists). */
export class UnlockCore extends Core<{ removed: number }> {
  private readonly container: string;
  private lists = 0;
  private removed = 0;

  constructor(
    clouds: CloudSet,
    du: string,
    private readonly writer: string,
  ) {
    super(clouds);
    this.container = containerOf(du);
  }

  protected onStart(): void {
    this.callAll({ kind: 'list', container: this.container }, 'list');
  }

  protected onReply(tag: string, reply: CloudReply): void {
    const r = reply.result;
    if (tag === 'list') {
      if (r.status === 'listed' || r.status === 'notFound') {
        this.lists++;
        const names = r.status === 'listed' ? r.names : [];
        for (const name of names) {
          if (parseLockFile(name)?.writer === this.writer) {
            this.call(reply.cloud, { kind: 'remove', container: this.container, name }, 'remove');
          }
        }
      }
    } else if (r.status === 'ok' || r.status === 'notFound') this.removed++;
    this.maybeDone();
  }

  private maybeDone(): void {
    if (this.pendingWith('remove') > 0) return;
    if (this.lists >= this.quorum || this.pendingWith('list') === 0) {
      if (this.lists < this.quorum) {
        this.fail({
          code: StorageCode.noQuorum,
          kind: 'unavailable',
          message: `unlock: only ${this.lists} of ${this.n} clouds answered, ${this.quorum} needed`,
        });
      } else this.done({ removed: this.removed });
    }
  }
}

/**
 * The host loop of the DepSky cores: one event at a time, actions executed in order, so the cores stay pure and
 * the same core runs against real clouds and in tests.
 *
 * - `call`: start the driver call with its own AbortController; its reply becomes a `reply` event.
 * - `cancel`: abort those calls (the quorum answered; slow clouds are not waited for).
 * - `encode`: run the host's encoder for the version the core chose, feed back `encoded`.
 * - ticks every `tickMs` drive the cores' hedging, retry and settle timers.
 * Values fetched with `stream: true` are spooled to temp files while hashed (bounded memory); the spool deletes
 * the files the result does not keep.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream, promises as fs } from 'node:fs';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { sha256Hex } from './crypto/primitives.js';
import type { CloudDriver } from './drivers/types.js';
import type { Core } from './protocol/core.js';
import type { CloudOp, CoreEvent, CoreFailure, Encoded, OpResult, Version } from './protocol/types.js';

export class CoreFailed extends Error {
  constructor(readonly failure: CoreFailure) {
    super(failure.message);
    this.name = 'CoreFailed';
  }
}

/** Temp files of streamed gets. `keep` moves one out of the spool's cleanup. */
export class Spool {
  private readonly files = new Set<string>();
  constructor(readonly dir: string) {}

  newFile(): string {
    const f = path.join(this.dir, `.tclouds-spool-${process.pid}-${randomBytes(8).toString('hex')}.tmp`);
    this.files.add(f);
    return f;
  }

  keep(file: string): void {
    this.files.delete(file);
  }

  async cleanup(): Promise<void> {
    await Promise.all([...this.files].map((f) => fs.rm(f, { force: true })));
    this.files.clear();
  }
}

/** A put that goes on after its operation returned (a late copy): true when it stored its file. */
export interface Lingering {
  promise: Promise<boolean>;
  abort(): void;
  /** The cloud it writes to. */
  cloud: string;
  /** The data unit's container it writes into: a later write there must not be overtaken by it. */
  container: string;
}

export interface RunOptions {
  signal?: AbortSignal;
  tickMs?: number;
  /** Encode the value for `version`; `later` may deliver the digests after the puts started (overlap). */
  encode?: (version: Version) => Promise<Encoded & { later?: Promise<string[]> }>;
  spool?: Spool;
  /**
   * Puts still running when the core finished (e.g. the n-th cloud's copy after n-f acked) are not aborted but
   * added here, so the caller can let them complete for durability (`LateCopies.settle`). Without it they are aborted.
   */
  lingering?: LateCopies;
  /** Observe each finished call (progress, metrics, tests). */
  onCall?: (cloud: number, op: CloudOp, result: OpResult, ms: number) => void;
}

async function perform(driver: CloudDriver, op: CloudOp, signal: AbortSignal, spool?: Spool): Promise<OpResult> {
  try {
    switch (op.kind) {
      case 'get': {
        if (op.stream && spool) {
          const src = await driver.getStream(op.container, op.name, { signal });
          if (src === undefined) return { status: 'notFound' };
          const file = spool.newFile();
          const hash = createHash('sha256');
          let size = 0;
          const tap = new Transform({
            transform(chunk: Buffer, _enc, cb) {
              hash.update(chunk);
              size += chunk.length;
              cb(null, chunk);
            },
          });
          await pipeline(src, tap, createWriteStream(file, { mode: 0o600 }), { signal });
          return { status: 'fetched', value: { digest: hash.digest('hex'), size, handle: file } };
        }
        if (op.name.startsWith('value') && driver.getHashed) {
          const r = await driver.getHashed(op.container, op.name, { signal });
          if (r === undefined) return { status: 'notFound' };
          return { status: 'fetched', value: { digest: r.digest, size: r.bytes.length, bytes: r.bytes } };
        }
        if (op.name.startsWith('value')) {
          // Values: hash each chunk as it arrives, so the digest costs (almost) no time after the last byte
          // (the driver reads ahead while this thread hashes).
          const src = await driver.getStream(op.container, op.name, { signal });
          if (src === undefined) return { status: 'notFound' };
          const hash = createHash('sha256');
          const chunks: Buffer[] = [];
          let size = 0;
          for await (const chunk of src) {
            const b = chunk as Buffer;
            hash.update(b);
            chunks.push(b);
            size += b.length;
          }
          const all = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
          const bytes = new Uint8Array(all.buffer, all.byteOffset, all.byteLength);
          return { status: 'fetched', value: { digest: hash.digest('hex'), size, bytes } };
        }
        const bytes = await driver.get(op.container, op.name, { signal });
        if (bytes === undefined) return { status: 'notFound' };
        return { status: 'fetched', value: { digest: sha256Hex(bytes), size: bytes.length, bytes } };
      }
      case 'put':
        await driver.put(op.container, op.name, op.payload, { signal });
        return { status: 'ok' };
      case 'list':
        return { status: 'listed', names: await driver.list(op.container, { signal }) };
      case 'listContainers':
        return { status: 'listed', names: await driver.listContainers({ signal }) };
      case 'remove':
        await driver.remove(op.container, op.name, { signal });
        return { status: 'ok' };
      case 'removeContainer':
        await driver.removeContainer(op.container, { signal });
        return { status: 'ok' };
    }
  } catch (e) {
    return { status: 'error', message: e instanceof Error ? e.message : String(e) };
  }
}

/** A put the executor started: its promise (true when stored), the cloud and the container it writes to. */
interface PutInFlight {
  promise: Promise<boolean>;
  cloud: string;
  container: string;
}

/**
 * Cancel the calls the core no longer needs. When the core is finishing and `lingering` is given, puts keep going in
 * the background instead: a copy on the n-th cloud is worth its bandwidth.
 */
function cancelCalls(
  ids: readonly number[],
  calls: Map<number, AbortController>,
  puts: Map<number, PutInFlight>,
  lingering: RunOptions['lingering'],
): void {
  for (const id of ids) {
    const put = puts.get(id);
    const ctl = calls.get(id);
    if (put && ctl && lingering) {
      const entry: Lingering = {
        promise: put.promise,
        abort: () => ctl.abort(new Error('cancelled')),
        cloud: put.cloud,
        container: put.container,
      };
      lingering.add(entry);
      calls.delete(id);
      continue;
    }
    calls.get(id)?.abort(new Error('cancelled: quorum reached'));
    calls.delete(id);
  }
}

/** Run `core` to completion against `drivers` (index = cloud number). Rejects with CoreFailed on a core failure. */
export function runCore<T>(core: Core<T>, drivers: readonly CloudDriver[], opts: RunOptions = {}): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const calls = new Map<number, AbortController>();
    /** Puts in flight: their promise (true when stored) and the cloud they write to. */
    const puts = new Map<number, PutInFlight>();
    const queue: CoreEvent[] = [];
    let draining = false;
    let settled = false;
    const tick = setInterval(() => push({ type: 'tick' }), opts.tickMs ?? 100);

    const finish = (err: unknown, value?: T) => {
      if (settled) return;
      settled = true;
      clearInterval(tick);
      opts.signal?.removeEventListener('abort', onAbort);
      for (const c of calls.values()) c.abort(new Error('cancelled: quorum reached'));
      calls.clear();
      if (err === undefined) resolve(value as T);
      else reject(err);
    };
    const onAbort = () => finish(opts.signal?.reason ?? new Error('aborted'));
    if (opts.signal?.aborted) return onAbort();
    opts.signal?.addEventListener('abort', onAbort, { once: true });

    function push(ev: CoreEvent): void {
      if (settled) return;
      queue.push(ev);
      if (draining) return;
      draining = true;
      try {
        while (queue.length > 0 && !settled) {
          const actions = core.step(queue.shift()!);
          const finishing = actions.some((a) => a.type === 'done');
          for (const a of actions) {
            switch (a.type) {
              case 'call': {
                const ctl = new AbortController();
                calls.set(a.id, ctl);
                const driver = drivers[a.cloud]!;
                const t0 = performance.now();
                const p = perform(driver, a.op, ctl.signal, opts.spool).then((result) => {
                  puts.delete(a.id);
                  if (calls.delete(a.id)) {
                    opts.onCall?.(a.cloud, a.op, result, performance.now() - t0);
                    push({ type: 'reply', reply: { id: a.id, cloud: a.cloud, result } });
                  }
                  return result.status === 'ok';
                });
                if (a.op.kind === 'put') puts.set(a.id, { promise: p, cloud: driver.cloud, container: a.op.container });
                break;
              }
              case 'cancel':
                cancelCalls(a.ids, calls, puts, finishing ? opts.lingering : undefined);
                break;
              case 'encode':
                if (!opts.encode) throw new Error('core asked to encode but no encoder was given');
                opts.encode(a.version).then(
                  ({ later, ...encoded }) => {
                    push({ type: 'encoded', encoded });
                    later?.then(
                      (digests) => push({ type: 'digested', digests }),
                      (e) => finish(e),
                    );
                  },
                  (e) => finish(e),
                );
                break;
              case 'done':
                finish(undefined, a.value);
                break;
              case 'fail':
                finish(new CoreFailed(a.failure));
                break;
            }
          }
        }
      } catch (e) {
        finish(e);
      } finally {
        draining = false;
      }
    }
    push({ type: 'start' });
  });
}

/**
 * Late copies: puts that go on after their operation returned (the n-th cloud's copy once n-f stored it), with
 * what became of each cloud's copies since the last settle. Bounded: settle() waits at most its `ms`, then aborts.
 */
export class LateCopies {
  private readonly running = new Set<Lingering>();
  /** Per cloud: true while every late put to it succeeded. */
  private readonly outcome = new Map<string, boolean>();

  add(entry: Lingering): void {
    this.running.add(entry);
    if (!this.outcome.has(entry.cloud)) this.outcome.set(entry.cloud, true);
    const failed = () => this.outcome.set(entry.cloud, false);
    void entry.promise
      .then((ok) => {
        if (!ok) failed();
      }, failed)
      .finally(() => this.running.delete(entry));
  }

  get size(): number {
    return this.running.size;
  }

  /**
   * Before a new write into `container`: wait (at most `ms`) for the late copies still going into it, and abort
   * what is left. Otherwise a lagging cloud could get the previous version's metadata after the new one's, and
   * hold the older version once both writes "finished" (a reader of n-f clouds could then see no newer copy).
   */
  async before(container: string, ms: number): Promise<void> {
    const mine = [...this.running].filter((l) => l.container === container);
    if (mine.length === 0) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled(mine.map((l) => l.promise)),
      new Promise<void>((res) => {
        timer = setTimeout(res, ms);
      }),
    ]);
    clearTimeout(timer);
    for (const l of mine) {
      if (!this.running.has(l)) continue;
      this.outcome.set(l.cloud, false);
      l.abort();
      this.running.delete(l);
    }
  }

  /** Wait for the running copies, at most `ms`; abort what is left. Which clouds' late copies all landed. */
  async settle(ms: number): Promise<{ left: number; stored: string[]; unfinished: string[] }> {
    if (this.running.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.allSettled([...this.running].map((l) => l.promise)),
        new Promise<void>((res) => {
          timer = setTimeout(res, ms);
        }),
      ]);
      clearTimeout(timer);
    }
    const left = this.running.size;
    for (const l of this.running) {
      this.outcome.set(l.cloud, false);
      l.abort();
    }
    this.running.clear();
    const clouds = [...this.outcome.keys()].sort();
    const stored = clouds.filter((c) => this.outcome.get(c));
    this.outcome.clear();
    return { left, stored, unfinished: clouds.filter((c) => !stored.includes(c)) };
  }
}

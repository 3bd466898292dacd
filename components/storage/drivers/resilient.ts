/**
 * Timeouts and retries around any driver (DS-03): every DepSky cloud operation is idempotent (puts of the same
 * name carry the same bytes, removes of missing files succeed), so each call is retried with backoff until it
 * answers, a permanent error occurs, the attempts run out, or the caller aborts (quorum reached, Ctrl-C).
 */
import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Payload } from '../protocol/types.js';
import { type CallOptions, type CloudDriver, isAbortError, PermanentDriverError, tcErrorIn } from './types.js';

export interface RetryPolicy {
  /** Per-attempt timeout in ms (large objects: generous). Default 30 s. */
  timeoutMs: number;
  /** Attempts in total (1 = no retry). Default 3. */
  attempts: number;
  /** First backoff in ms, doubled each retry. Default 100. */
  backoffMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { timeoutMs: 30_000, attempts: 3, backoffMs: 100 };

export class ResilientDriver implements CloudDriver {
  readonly cloud: string;
  readonly kind: string;
  private readonly policy: RetryPolicy;

  constructor(
    readonly inner: CloudDriver,
    policy: Partial<RetryPolicy> = {},
  ) {
    this.cloud = inner.cloud;
    this.kind = inner.kind;
    this.policy = { ...DEFAULT_RETRY, ...policy };
  }

  private async run<T>(what: string, o: CallOptions | undefined, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const { attempts, timeoutMs, backoffMs } = this.policy;
    let last: unknown;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      o?.signal?.throwIfAborted();
      const timeout = AbortSignal.timeout(timeoutMs);
      const signal = o?.signal ? AbortSignal.any([o.signal, timeout]) : timeout;
      let ended = false;
      try {
        const call = fn(signal);
        call.then(
          () => {
            ended = true;
          },
          () => {
            ended = true;
          },
        );
        return await raceAbort(call, signal);
      } catch (e) {
        // Let go of while still running: it may go on reading what it was given.
        if (!ended) o?.onAbandoned?.();
        if (o?.signal?.aborted) throw o.signal.reason ?? e;
        if (e instanceof PermanentDriverError) throw e;
        // Our credential errors (TC215-219): the metadata client retried already; report them as they are.
        const tc = tcErrorIn(e);
        if (tc) throw tc;
        last = timeout.aborted ? new Error(`${what} timed out after ${timeoutMs} ms`) : e;
        if (attempt < attempts) {
          await sleep(backoffMs * 2 ** (attempt - 1), undefined, o?.signal ? { signal: o.signal } : {});
        }
      }
    }
    const msg = last instanceof Error ? last.message : String(last);
    throw new Error(`${this.cloud}: ${what} failed after ${attempts} attempts: ${msg}`, { cause: last });
  }

  createContainer(o?: CallOptions): Promise<void> {
    return this.run('create bucket', o, (signal) => this.inner.createContainer({ signal }));
  }
  listContainers(o?: CallOptions): Promise<string[]> {
    return this.run('list data units', o, (signal) => this.inner.listContainers({ signal }));
  }
  list(container: string, o?: CallOptions): Promise<string[]> {
    return this.run(`list ${container}`, o, (signal) => this.inner.list(container, { signal }));
  }
  get(container: string, name: string, o?: CallOptions): Promise<Uint8Array | undefined> {
    return this.run(`get ${container}/${name}`, o, (signal) => this.inner.get(container, name, { signal }));
  }
  /** Only opening the stream is retried: a broken transfer is reported to the core, which tries another cloud. */
  getStream(container: string, name: string, o?: CallOptions): Promise<Readable | undefined> {
    return this.run(`get ${container}/${name}`, o, (signal) =>
      this.inner.getStream(container, name, o?.signal ? { signal: o.signal } : { signal }),
    );
  }
  /**
   * Only the first attempt reads into `into`: an attempt given up on (timed out) may still be writing there, so the
   * retries read into new buffers (the caller then never reuses `into`).
   */
  get getInto(): CloudDriver['getInto'] {
    const inner = this.inner;
    if (!inner.getInto) return undefined;
    return (container, name, into, o) => {
      let first = true;
      return this.run(`get ${container}/${name}`, o, (signal) => {
        const mine = first;
        first = false;
        return mine ? inner.getInto!(container, name, into, { signal }) : inner.get(container, name, { signal });
      });
    };
  }
  get getHashed(): CloudDriver['getHashed'] {
    const inner = this.inner;
    if (!inner.getHashed) return undefined;
    return (container, name, o) =>
      this.run(`get ${container}/${name}`, o, (signal) => inner.getHashed!(container, name, { signal }));
  }

  put(container: string, name: string, payload: Payload, o?: CallOptions): Promise<void> {
    const defer = o?.deferDirectorySync ? { deferDirectorySync: true } : {};
    return this.run(`put ${container}/${name}`, o, (signal) =>
      this.inner.put(container, name, payload, { signal, ...defer }),
    );
  }
  remove(container: string, name: string, o?: CallOptions): Promise<void> {
    return this.run(`remove ${container}/${name}`, o, (signal) => this.inner.remove(container, name, { signal }));
  }
  removeContainer(container: string, o?: CallOptions): Promise<void> {
    return this.run(`remove ${container}`, o, (signal) => this.inner.removeContainer(container, { signal }));
  }
  async close(): Promise<void> {
    await this.inner.close?.();
  }
}

/** Settle as soon as `signal` aborts even if the SDK call ignores its signal (it keeps running, detached). */
function raceAbort<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    p.catch(() => {});
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => {
      p.catch(() => {});
      reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e) => {
        signal.removeEventListener('abort', onAbort);
        reject(isAbortError(e) && !signal.aborted ? new Error(String(e)) : e);
      },
    );
  });
}

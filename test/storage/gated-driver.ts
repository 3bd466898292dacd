/**
 * A cloud whose puts of chosen files wait at a gate until the test opens it: a REAL local-directory driver behind,
 * so the client, the executor and the streamed writer run unchanged. The timing of a slow cloud becomes a step
 * the test takes (no sleeps): "the late copy of version 1 lands now, after version 2 was written".
 * A gated put whose caller aborts it while it waits fails at once and stores nothing (as a real cut upload).
 */
import type { Readable } from 'node:stream';
import type { CallOptions, CloudDriver } from '../../components/storage/drivers/types.js';
import type { Payload } from '../../components/storage/protocol/types.js';

export class GatedDriver implements CloudDriver {
  readonly cloud: string;
  readonly kind: string;
  private opened = false;
  private readonly waiters = new Set<() => void>();
  /** Every gated put, settled or not (stored: true; cut by its caller: false). */
  readonly gated: Promise<boolean>[] = [];
  private onWait: (() => void) | undefined;
  /** Names of the files this cloud stored, in the order their puts completed. */
  readonly stored: string[] = [];

  constructor(
    readonly inner: CloudDriver,
    readonly holds: (name: string) => boolean,
  ) {
    this.cloud = inner.cloud;
    this.kind = inner.kind;
  }

  /** Let every waiting and future gated put through. */
  open(): void {
    this.opened = true;
    for (const w of this.waiters) w();
    this.waiters.clear();
  }

  /** Resolves once a put waits at the gate (at once if one already does). */
  waiting(): Promise<void> {
    if (this.waiters.size > 0) return Promise.resolve();
    return new Promise((r) => {
      this.onWait = r;
    });
  }

  /** Every gated put so far has settled (stored or cut). */
  settled(): Promise<PromiseSettledResult<boolean>[]> {
    return Promise.allSettled(this.gated);
  }

  private pass(o?: CallOptions): Promise<void> {
    if (this.opened) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const go = () => {
        o?.signal?.removeEventListener('abort', cut);
        resolve();
      };
      const cut = () => {
        this.waiters.delete(go);
        reject(o?.signal?.reason ?? new Error('aborted'));
      };
      if (o?.signal?.aborted) return cut();
      o?.signal?.addEventListener('abort', cut, { once: true });
      this.waiters.add(go);
      this.onWait?.();
      this.onWait = undefined;
    });
  }

  put(container: string, name: string, payload: Payload, o?: CallOptions): Promise<void> {
    const store = async () => {
      await this.inner.put(container, name, payload, o);
      this.stored.push(name);
    };
    if (!this.holds(name)) return store();
    const done = this.pass(o).then(() => {
      o?.signal?.throwIfAborted();
      return store();
    });
    this.gated.push(
      done.then(
        () => true,
        () => false,
      ),
    );
    return done;
  }

  createContainer(o?: CallOptions): Promise<void> {
    return this.inner.createContainer(o);
  }
  listContainers(o?: CallOptions): Promise<string[]> {
    return this.inner.listContainers(o);
  }
  list(container: string, o?: CallOptions): Promise<string[]> {
    return this.inner.list(container, o);
  }
  get(container: string, name: string, o?: CallOptions): Promise<Uint8Array | undefined> {
    return this.inner.get(container, name, o);
  }
  getStream(container: string, name: string, o?: CallOptions): Promise<Readable | undefined> {
    return this.inner.getStream(container, name, o);
  }
  remove(container: string, name: string, o?: CallOptions): Promise<void> {
    return this.inner.remove(container, name, o);
  }
  removeContainer(container: string, o?: CallOptions): Promise<void> {
    return this.inner.removeContainer(container, o);
  }
}

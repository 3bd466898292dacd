/**
 * Fault injection at the cloud boundary: a driver that wraps a REAL local-directory driver and misbehaves the
 * way a Byzantine or broken cloud would. Nothing of our own code is mocked: the client, cores, executor and
 * codec under test run unchanged over it.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import type { CallOptions, CloudDriver } from '../../components/storage/drivers/types.js';
import type { Payload } from '../../components/storage/protocol/types.js';

export type Fault = 'down' | 'slow' | 'corrupt' | 'stale' | 'forge' | 'fakeLocks';
export const FAULTS: Fault[] = ['down', 'slow', 'corrupt', 'stale', 'forge', 'fakeLocks'];

export class FaultyDriver implements CloudDriver {
  readonly cloud: string;
  readonly kind: string;
  /** stale: the first metadata this cloud ever stored, served forever after. */
  private frozen = new Map<string, Uint8Array>();
  /** Calls cancelled by the caller while this (slow) cloud was still working on them. */
  cancelled = 0;

  constructor(
    readonly inner: CloudDriver,
    readonly fault: Fault,
    readonly slowMs = 500,
  ) {
    this.cloud = inner.cloud;
    this.kind = inner.kind;
  }

  private async before(o?: CallOptions): Promise<void> {
    if (this.fault === 'down') throw new Error(`${this.cloud} is down (injected)`);
    if (this.fault === 'slow') {
      try {
        await sleep(this.slowMs, undefined, o?.signal ? { signal: o.signal } : {});
      } catch (e) {
        // The executor gave up on this call because a quorum answered without it.
        this.cancelled++;
        throw e;
      }
    }
  }

  async createContainer(o?: CallOptions): Promise<void> {
    await this.before(o);
    return this.inner.createContainer(o);
  }

  async listContainers(o?: CallOptions): Promise<string[]> {
    await this.before(o);
    const names = await this.inner.listContainers(o);
    // A lying cloud also invents data units; ls must not show them (f+1 rule).
    return this.fault === 'fakeLocks' || this.fault === 'forge' ? [...names, 'invented%2Fby%2Fcloud'] : names;
  }

  async list(container: string, o?: CallOptions): Promise<string[]> {
    await this.before(o);
    const names = await this.inner.list(container, o);
    if (this.fault === 'fakeLocks') {
      // Valid-looking lock files of another writer, an hour into the future.
      return [...names, `lock-deadbeef-${Date.now() + 3_600_000}`, `lock-0badc0de-${Date.now() + 7_200_000}`];
    }
    return names;
  }

  private mangle(name: string, bytes: Uint8Array): Uint8Array {
    if (this.fault === 'corrupt') {
      if (bytes.length === 0) return new Uint8Array([0x42]);
      const out = new Uint8Array(bytes);
      out[Math.floor(out.length / 2)]! ^= 0x5a;
      return out;
    }
    if (this.fault === 'forge' && name === 'metadata') {
      // A newer version the writer never signed: bump the counter, point at a forged value, keep the old signature.
      const doc = JSON.parse(Buffer.from(bytes).toString('utf8')) as {
        meta: { version: { counter: number; writer: string }; digests: string[] };
        sig: string;
      };
      doc.meta.version = { counter: doc.meta.version.counter + 1000, writer: 'eeee' };
      const evil = createHash('sha256').update('forged').digest('hex');
      doc.meta.digests = doc.meta.digests.map(() => evil);
      return new TextEncoder().encode(JSON.stringify(doc));
    }
    return bytes;
  }

  async get(container: string, name: string, o?: CallOptions): Promise<Uint8Array | undefined> {
    await this.before(o);
    if (this.fault === 'stale' && name === 'metadata') {
      const f = this.frozen.get(container);
      if (f) return f;
    }
    if (this.fault === 'forge' && name.startsWith('value') && name.endsWith('.eeee')) {
      return new TextEncoder().encode('forged');
    }
    const bytes = await this.inner.get(container, name, o);
    return bytes === undefined ? undefined : this.mangle(name, bytes);
  }

  async getStream(container: string, name: string, o?: CallOptions): Promise<Readable | undefined> {
    if (this.fault === 'corrupt' || this.fault === 'forge' || this.fault === 'stale') {
      const bytes = await this.get(container, name, o);
      return bytes === undefined ? undefined : Readable.from([Buffer.from(bytes)]);
    }
    await this.before(o);
    return this.inner.getStream(container, name, o);
  }

  async put(container: string, name: string, payload: Payload, o?: CallOptions): Promise<void> {
    await this.before(o);
    if (this.fault === 'stale' && name === 'metadata' && payload instanceof Uint8Array) {
      // Keep serving the first signed metadata; acknowledge (and store) the later ones.
      if (!this.frozen.has(container)) this.frozen.set(container, new Uint8Array(payload));
    }
    return this.inner.put(container, name, payload, o);
  }

  async remove(container: string, name: string, o?: CallOptions): Promise<void> {
    await this.before(o);
    return this.inner.remove(container, name, o);
  }

  async removeContainer(container: string, o?: CallOptions): Promise<void> {
    await this.before(o);
    this.frozen.delete(container);
    return this.inner.removeContainer(container, o);
  }
}

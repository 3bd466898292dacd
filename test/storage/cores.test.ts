/**
 * The pure cores, driven event by event (no I/O): quorum arithmetic, write ordering, the read optimisation,
 * the lock counting rule and the reconfiguration f+1 rule. Crypto is the real Ed25519 glue.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ed25519CoreCrypto } from '../../components/storage/codec.js';
import { sha256Hex } from '../../components/storage/crypto/primitives.js';
import { type CloudConfig, ConfigCore } from '../../components/storage/protocol/config.js';
import { checkNF, quorumSize } from '../../components/storage/protocol/core.js';
import { countedLocks, LockCore } from '../../components/storage/protocol/lock.js';
import {
  compareVersions,
  containerOf,
  duOfContainer,
  parseValueFile,
  valueFile,
} from '../../components/storage/protocol/names.js';
import { ReadCore } from '../../components/storage/protocol/read.js';
import type { Action, CloudOp, Metadata, OpResult } from '../../components/storage/protocol/types.js';
import { WriteCore } from '../../components/storage/protocol/write.js';
import { keyPair } from './support.js';

const keys = keyPair();
const crypto = ed25519CoreCrypto(keys.publicKey, keys.privateKey);
const set = { names: ['a', 'b', 'c', 'd'], f: 1 };

type Call = Extract<Action<unknown>, { type: 'call' }>;
const calls = (as: Action<unknown>[]): Call[] => as.filter((a): a is Call => a.type === 'call');

function meta(counter: number, value: Uint8Array): Metadata {
  return {
    format: 1,
    du: 'x',
    protocol: 'depsky-a',
    version: { counter, writer: 'a1' },
    size: value.length,
    n: 4,
    f: 1,
    clouds: set.names,
    digests: [sha256Hex(value)],
  };
}

const fetched = (bytes: Uint8Array): OpResult => ({
  status: 'fetched',
  value: { bytes, digest: sha256Hex(bytes), size: bytes.length },
});

describe('quorums', () => {
  it('n-f quorums of any n >= 3f+1 intersect in at least f+1 clouds', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 30 }), fc.integer({ min: 0, max: 20 }), (f, extra) => {
        const n = 3 * f + 1 + extra;
        const q = quorumSize(n, f);
        expect(checkNF(n, f)).toBeUndefined();
        expect(2 * q - n).toBeGreaterThanOrEqual(f + 1);
        expect(q).toBeLessThanOrEqual(n - f);
      }),
    );
    expect(checkNF(3, 1)).toMatch(/n >= 3f\+1/);
    expect(quorumSize(4, 1)).toBe(3);
  });

  it('versions order by counter, then writer id; file names round-trip', () => {
    expect(compareVersions({ counter: 5, writer: 'a' }, { counter: 5, writer: 'b' })).toBe(-1);
    expect(compareVersions({ counter: 6, writer: 'a' }, { counter: 5, writer: 'b' })).toBe(1);
    expect(parseValueFile(valueFile({ counter: 12, writer: 'beef' }))).toEqual({ counter: 12, writer: 'beef' });
    expect(parseValueFile('value12')).toBeUndefined();
    expect(duOfContainer(containerOf('reports/2026/q3.pdf'))).toBe('reports/2026/q3.pdf');
    expect(containerOf('../x')).not.toContain('/');
    expect(containerOf('..')).not.toBe('..');
  });
});

describe('write core', () => {
  it('writes the value to all n, waits n-f acks, only then puts metadata; completes at n-f metadata acks', () => {
    const w = new WriteCore(set, 'x', crypto, { protocol: 'depsky-a', writer: 'a1' });
    const q = calls(w.step({ type: 'start' }));
    expect(q.map((c) => (c.op as { name: string }).name)).toEqual(['metadata', 'metadata', 'metadata', 'metadata']);
    // Existing version 7 on three clouds; the fourth says nothing yet.
    const old = crypto.signMetadata(meta(7, new Uint8Array([1])));
    let acts: Action<unknown>[] = [];
    for (const c of q.slice(0, 3))
      acts = w.step({ type: 'reply', reply: { id: c.id, cloud: c.cloud, result: fetched(old) } });
    expect(acts.find((a) => a.type === 'encode')).toEqual({ type: 'encode', version: { counter: 8, writer: 'a1' } });
    const value = new Uint8Array([9, 9]);
    const puts = calls(
      w.step({ type: 'encoded', encoded: { payloads: [value], digests: [sha256Hex(value)], size: 2 } }),
    );
    expect(puts.map((c) => (c.op as { name: string }).name)).toEqual(Array(4).fill('value8.a1'));
    const ack = (c: Call) => w.step({ type: 'reply', reply: { id: c.id, cloud: c.cloud, result: { status: 'ok' } } });
    expect(calls(ack(puts[0]!))).toEqual([]);
    expect(calls(ack(puts[1]!))).toEqual([]);
    const metaPuts = calls(ack(puts[2]!));
    expect(metaPuts.map((c) => (c.op as { name: string }).name)).toEqual(Array(4).fill('metadata'));
    ack(metaPuts[3]!);
    ack(metaPuts[1]!);
    const end = ack(metaPuts[0]!);
    expect(end.at(-1)).toMatchObject({ type: 'done', value: { meta: { version: { counter: 8 } } } });
    // The pending calls (data put to cloud 3, metadata put to cloud 2) are cancelled.
    expect(end.find((a) => a.type === 'cancel')).toBeDefined();
  });

  it('digests delivered after the value puts: the metadata waits for both the quorum and the digests', () => {
    const w = new WriteCore(set, 'x', crypto, {
      protocol: 'depsky-a',
      writer: 'a1',
      knownVersion: { counter: 4, writer: 'a1' },
    });
    expect(w.step({ type: 'start' })).toEqual([{ type: 'encode', version: { counter: 5, writer: 'a1' } }]);
    const v = new Uint8Array([7]);
    const puts = calls(w.step({ type: 'encoded', encoded: { payloads: [v], size: 1 } }));
    let out: Action<unknown>[] = [];
    for (const c of puts.slice(0, 3))
      out = w.step({ type: 'reply', reply: { id: c.id, cloud: c.cloud, result: { status: 'ok' } } });
    expect(calls(out)).toEqual([]);
    const metaPuts = calls(w.step({ type: 'digested', digests: [sha256Hex(v)] }));
    expect(metaPuts.map((c) => (c.op as { name: string }).name)).toEqual(Array(4).fill('metadata'));
  });

  it('fails cleanly when more than f clouds refuse the value', () => {
    const w = new WriteCore(set, 'x', crypto, {
      protocol: 'depsky-a',
      writer: 'a1',
      knownVersion: { counter: 0, writer: '' },
    });
    w.step({ type: 'start' });
    const v = new Uint8Array(0);
    const puts = calls(w.step({ type: 'encoded', encoded: { payloads: [v], digests: [sha256Hex(v)], size: 0 } }));
    w.step({ type: 'reply', reply: { id: puts[0]!.id, cloud: 0, result: { status: 'error', message: 'boom' } } });
    const out = w.step({
      type: 'reply',
      reply: { id: puts[1]!.id, cloud: 1, result: { status: 'error', message: 'boom' } },
    });
    expect(out.at(-1)).toMatchObject({ type: 'fail', failure: { code: 'TC201' } });
  });
});

describe('read core', () => {
  function metaPhase(r: ReadCore, order: number[], files: (Uint8Array | undefined)[]) {
    const q = calls(r.step({ type: 'start' }));
    let out: Action<unknown>[] = [];
    for (const i of order) {
      const f = files[i];
      out = r.step({
        type: 'reply',
        reply: { id: q[i]!.id, cloud: i, result: f ? fetched(f) : { status: 'notFound' } },
      });
    }
    return out;
  }

  it('DepSky-A asks one cloud first (the fastest one that showed the version), then the next on a bad value', () => {
    const value = new Uint8Array([1, 2, 3]);
    const m = crypto.signMetadata(meta(3, value));
    const r = new ReadCore(set, 'x', crypto);
    const out = metaPhase(r, [2, 0, 3], [m, m, m, m]);
    const first = calls(out);
    expect(first.map((c) => c.cloud)).toEqual([2]);
    expect((first[0]!.op as { name: string }).name).toBe('value3.a1');
    // Cloud 2 returns garbage: detected, cloud 0 (next in latency order) is asked.
    const next = calls(
      r.step({ type: 'reply', reply: { id: first[0]!.id, cloud: 2, result: fetched(new Uint8Array([6])) } }),
    );
    expect(next.map((c) => c.cloud)).toEqual([0]);
    const done = r.step({ type: 'reply', reply: { id: next[0]!.id, cloud: 0, result: fetched(value) } });
    expect(done.at(-1)).toMatchObject({ type: 'done', value: { dataGets: 2, rejected: [{ cloud: 2 }] } });
  });

  it('a price preference puts the cheapest cloud first, before the latency order', () => {
    const value = new Uint8Array([4]);
    const m = crypto.signMetadata(meta(1, value));
    const r = new ReadCore(set, 'x', crypto, { preference: [3] });
    const first = calls(metaPhase(r, [0, 1, 2], [m, m, m, m]));
    expect(first.map((c) => c.cloud)).toEqual([3]);
  });

  it('takes the highest correctly signed version and ignores forged and stale metadata', () => {
    const v1 = new Uint8Array([1]);
    const v2 = new Uint8Array([2]);
    const stale = crypto.signMetadata(meta(1, v1));
    const current = crypto.signMetadata(meta(2, v2));
    const forged = new TextEncoder().encode(new TextDecoder().decode(current).replace('"counter":2', '"counter":99'));
    const r = new ReadCore(set, 'x', crypto);
    const first = calls(metaPhase(r, [0, 1, 2, 3], [forged, stale, current, current]));
    expect((first[0]!.op as { name: string }).name).toBe('value2.a1');
    expect(first[0]!.cloud).toBe(2);
  });

  it('a hedge tick starts the next cloud when the first one is slow', () => {
    const value = new Uint8Array([5]);
    const m = crypto.signMetadata(meta(1, value));
    const r = new ReadCore(set, 'x', crypto, { hedgeTicks: 3 });
    const first = calls(metaPhase(r, [0, 1, 2], [m, m, m, m]));
    expect(first).toHaveLength(1);
    expect(calls(r.step({ type: 'tick' }))).toHaveLength(0);
    expect(calls(r.step({ type: 'tick' }))).toHaveLength(0);
    expect(calls(r.step({ type: 'tick' })).map((c) => c.cloud)).toEqual([1]);
  });

  it('weakly consistent clouds: a missing value is retried after a wait, then found', () => {
    const value = new Uint8Array([5]);
    const m = crypto.signMetadata(meta(1, value));
    const r = new ReadCore(set, 'x', crypto, { retryRounds: 1, retryTicks: 2 });
    let pending = calls(metaPhase(r, [0, 1, 2], [m, m, m, m]));
    // Every cloud says "not there yet" (eventual consistency).
    for (let i = 0; i < 4; i++) {
      const c = pending[0]!;
      pending = calls(r.step({ type: 'reply', reply: { id: c.id, cloud: c.cloud, result: { status: 'notFound' } } }));
      if (i < 3) expect(pending).toHaveLength(1);
    }
    expect(pending).toHaveLength(0);
    expect(calls(r.step({ type: 'tick' }))).toHaveLength(0);
    const again = calls(r.step({ type: 'tick' }));
    expect(again).toHaveLength(1);
    const done = r.step({ type: 'reply', reply: { id: again[0]!.id, cloud: again[0]!.cloud, result: fetched(value) } });
    expect(done.at(-1)?.type).toBe('done');
  });

  it('DepSky-CA asks exactly f+1 clouds when all are healthy', () => {
    const m: Metadata = {
      ...meta(1, new Uint8Array()),
      protocol: 'depsky-ca',
      sealedSize: 40,
      digests: ['a', 'b', 'c', 'd'].map((x) => sha256Hex(new TextEncoder().encode(x))),
    };
    const r = new ReadCore(set, 'x', crypto);
    const first = calls(metaPhase(r, [3, 1, 0], Array(4).fill(crypto.signMetadata(m))));
    expect(first.map((c) => c.cloud)).toEqual([3, 1]);
  });

  it('a cloud whose metadata arrives after the quorum joins `showed` only if it shows the chosen version', () => {
    const v2 = new Uint8Array([2]);
    const current = crypto.signMetadata(meta(2, v2));
    const stale = crypto.signMetadata(meta(1, new Uint8Array([1])));
    const forged = new TextEncoder().encode(new TextDecoder().decode(current).replace('"counter":2', '"counter":3'));
    // Correctly signed and newer than the quorum's: still not this read's version (it read at the quorum).
    const newer = crypto.signMetadata(meta(3, new Uint8Array([3])));
    for (const [late, joins] of [
      [current, true],
      [stale, false],
      [forged, false],
      [newer, false],
    ] as const) {
      const r = new ReadCore(set, 'x', crypto);
      const q = calls(r.step({ type: 'start' }));
      let out: Action<unknown>[] = [];
      for (const i of [1, 2, 3])
        out = r.step({ type: 'reply', reply: { id: q[i]!.id, cloud: i, result: fetched(current) } });
      // The quorum started the data phase and left cloud 0's metadata get open (no cancel of it).
      const data = calls(out);
      expect(data.map((c) => c.cloud)).toEqual([1]);
      expect(out.find((a) => a.type === 'cancel')).toBeUndefined();
      // Cloud 0 answers late: no new call either way, and nothing but `showed` changes.
      expect(calls(r.step({ type: 'reply', reply: { id: q[0]!.id, cloud: 0, result: fetched(late) } }))).toEqual([]);
      const done = r.step({ type: 'reply', reply: { id: data[0]!.id, cloud: 1, result: fetched(v2) } });
      expect(done.at(-1)).toMatchObject({ type: 'done', value: { meta: { version: { counter: 2 } } } });
      const showed = (done.at(-1) as { value: { showed: number[] } }).value.showed;
      // Early answers first, the late one after them.
      expect(showed).toEqual(joins ? [1, 2, 3, 0] : [1, 2, 3]);
    }
  });
});

describe('lock counting', () => {
  const now = 1_000_000;
  it('a lock listed by f clouds does not count; by f+1 it does; expired locks never count', () => {
    const fake = 'lock-dead-2000000';
    expect(countedLocks([[fake], [], []], 1, now, 0)).toEqual([]);
    expect(countedLocks([[fake], [fake], []], 1, now, 0)).toEqual([{ writer: 'dead', until: 2_000_000, seenOn: 2 }]);
    expect(countedLocks([[fake], [fake, fake], []], 1, 3_000_000, 0)).toEqual([]);
    expect(countedLocks([[fake], [fake]], 1, now, 0, 'dead')).toEqual([]);
  });

  it('acquires when only one cloud lists a competing lock (no liveness attack)', () => {
    const core = new LockCore(set, 'x', { writer: 'a1', now, leaseMs: 1000, deltaMs: 100 });
    const l1 = calls(core.step({ type: 'start' }));
    const listed = (c: Call, names: string[]) =>
      core.step({ type: 'reply', reply: { id: c.id, cloud: c.cloud, result: { status: 'listed', names } } });
    listed(l1[0]!, ['lock-dead-9999999']);
    listed(l1[1]!, []);
    const puts = calls(listed(l1[2]!, []));
    expect(puts.map((c) => (c.op as { name: string }).name)).toEqual(Array(4).fill('lock-a1-1001000'));
    let l2: Call[] = [];
    for (const c of puts.slice(0, 3))
      l2 = calls(core.step({ type: 'reply', reply: { id: c.id, cloud: c.cloud, result: { status: 'ok' } } }));
    expect(l2.every((c) => c.op.kind === 'list')).toBe(true);
    listed(l2[0]!, ['lock-dead-9999999', 'lock-a1-1001000']);
    listed(l2[1]!, ['lock-a1-1001000']);
    const end = listed(l2[2]!, ['lock-a1-1001000']);
    expect(end.at(-1)).toMatchObject({ type: 'done', value: { acquired: true, until: 1_001_000 } });
  });

  it('step 3 sees a contender on f+1 clouds: removes its own lock and reports the conflict', () => {
    const core = new LockCore(set, 'x', { writer: 'a1', now, leaseMs: 1000, deltaMs: 100 });
    const l1 = calls(core.step({ type: 'start' }));
    let puts: Call[] = [];
    for (const c of l1.slice(0, 3))
      puts = calls(
        core.step({ type: 'reply', reply: { id: c.id, cloud: c.cloud, result: { status: 'listed', names: [] } } }),
      );
    let l2: Call[] = [];
    for (const c of puts.slice(0, 3))
      l2 = calls(core.step({ type: 'reply', reply: { id: c.id, cloud: c.cloud, result: { status: 'ok' } } }));
    const other = 'lock-b2-1000500';
    let removes: Call[] = [];
    for (const c of l2.slice(0, 3))
      removes = calls(
        core.step({ type: 'reply', reply: { id: c.id, cloud: c.cloud, result: { status: 'listed', names: [other] } } }),
      );
    expect(removes.map((c) => c.op)).toEqual(
      Array(4).fill({ kind: 'remove', container: 'x', name: 'lock-a1-1001000' } satisfies CloudOp),
    );
    let end: Action<unknown>[] = [];
    for (const c of removes.slice(0, 3))
      end = core.step({ type: 'reply', reply: { id: c.id, cloud: c.cloud, result: { status: 'ok' } } });
    expect(end.at(-1)).toMatchObject({
      type: 'done',
      value: { acquired: false, reason: 'conflict', holder: { writer: 'b2' } },
    });
  });
});

describe('reconfiguration notice', () => {
  const cfg = (epoch: number, clouds: string[]): CloudConfig => ({ format: 1, du: 'x', epoch, clouds, f: 1 });
  const open = (b: Uint8Array) => JSON.parse(new TextDecoder().decode(b)) as CloudConfig;
  const enc = (c: CloudConfig) => new TextEncoder().encode(JSON.stringify(c));

  function run(files: (CloudConfig | undefined)[]) {
    const core = new ConfigCore(set, 'x', open);
    const q = calls(core.step({ type: 'start' }));
    let out: Action<unknown>[] = [];
    files.forEach((f, i) => {
      out = core.step({
        type: 'reply',
        reply: { id: q[i]!.id, cloud: i, result: f ? fetched(enc(f)) : { status: 'notFound' } },
      });
    });
    return out.at(-1);
  }

  it('is accepted from f+1 clouds, never from f', () => {
    const good = cfg(2, ['a', 'b', 'c', 'e']);
    const bogus = cfg(9, ['evil', 'b', 'c', 'd']);
    expect(run([bogus, good, good, undefined])).toMatchObject({ type: 'done', value: { config: good, seenOn: 2 } });
    expect(run([bogus, undefined, undefined, undefined])).toMatchObject({ type: 'done', value: { seenOn: 0 } });
  });
});

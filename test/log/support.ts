/**
 * A log built in memory the way a deployment builds it: the core service on each of n replicas (same ordered
 * operations), each replica authenticating its copies with its own evolving secret and Ed25519 key. The pure
 * verify tests tamper with its copies; nothing here talks to a process or a cloud.
 */
import { generateKeyPairSync, type KeyObject, randomBytes } from 'node:crypto';
import { authenticateSegment } from '../../components/log/protocol/authenticate.js';
import { LogCoreService } from '../../components/log/protocol/core-service.js';
import type { EntryInput } from '../../components/log/protocol/entry.js';
import { secretAt } from '../../components/log/protocol/forward-integrity.js';
import type { SealedSegment, SegmentCopy } from '../../components/log/protocol/segment.js';
import type { ExecContext } from '../../components/smr/services/service.js';

export const LOG = 'stack/audit';

export interface MemoryLog {
  n: number;
  f: number;
  keys: KeyObject[];
  signKeys: KeyObject[];
  seeds: Buffer[];
  sealed: SealedSegment[];
  copies: Map<number, Map<number, SegmentCopy | string>>;
}

export function ctx(seq: number, timestamp = 1_700_000_000_000 + seq, client = 'client-audit/s-0'): ExecContext {
  return { client, seq, cid: seq, timestamp, nonce: 0, readOnly: false };
}

export const entry = (i: number, cloud = 'a'): EntryInput => ({
  cloud,
  node: `node-${i % 3}`,
  type: i % 2 ? 'write' : 'login',
  msg: `event ${i}`,
});

/** `segments` segments of `per` entries each, authenticated by every replica. */
export function memoryLog(segments: number, per = 5, n = 4, f = 1): MemoryLog {
  const sealed: SealedSegment[] = [];
  const svc = new LogCoreService((s) => sealed.push(s), per);
  let seq = 0;
  for (let k = 0; k < segments; k++) {
    const batch = Array.from({ length: per }, (_, j) => entry(k * per + j, ['a', 'b', 'c', 'd'][(k * per + j) % 4]));
    svc.execute(new TextEncoder().encode(JSON.stringify({ op: 'append', entries: batch })), ctx(++seq));
  }
  const pairs = Array.from({ length: n }, () => generateKeyPairSync('ed25519'));
  const seeds = Array.from({ length: n }, () => randomBytes(32));
  const copies = new Map<number, Map<number, SegmentCopy | string>>();
  for (const s of sealed) {
    const m = new Map<number, SegmentCopy | string>();
    for (let r = 0; r < n; r++) {
      const secret = secretAt(seeds[r] as Buffer, 0, s.segment + 1);
      m.set(
        r,
        authenticateSegment(clone(s), {
          replica: r,
          log: LOG,
          secret,
          signKey: (pairs[r] as { privateKey: KeyObject }).privateKey,
        }),
      );
    }
    copies.set(s.segment, m);
  }
  return { n, f, keys: pairs.map((p) => p.publicKey), signKeys: pairs.map((p) => p.privateKey), seeds, sealed, copies };
}

export function input(l: MemoryLog, since?: { size: number; root: string }) {
  return { log: LOG, n: l.n, f: l.f, keys: l.keys, seeds: l.seeds, copies: l.copies, since };
}

export const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

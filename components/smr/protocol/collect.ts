/**
 * Collects and the sound/bind predicates of Mod-SMaRt's leader change (VP-Consensus, TClouds D2.2.1, ch. 8, after
 * Cachin's "Yet another visit to Paxos" / Byzantine read-write epoch consensus). Pure; the leader change protocol
 * that sends and checks them is leader-change.ts.
 *
 * A collect is what a replica knows about the consensus instance it is running when it installs a new regency:
 * `valTs`/`val` = the regency in which it last ACCEPTed (saw > (n+f)/2 matching WRITEs) and that value;
 * `ws` = every value hash it WROTE with the highest regency it wrote it in. The new leader gathers collects
 * (each MAC-vectored by its sender, so followers can re-check them) and proposes:
 *   - the value v such that binds(ts, v, S): more than (n+f)/2 collects have valTs < ts or (valTs = ts and val = v),
 *     and more than f collects wrote v in a regency >= ts (so at least one correct replica did), else
 *   - anything valid when unbound(S): more than (n+f)/2 collects never accepted.
 * If some value was decided in regency r, more than (n+f)/2 - f correct replicas hold valTs >= r with that value,
 * so neither unbound(S) nor binds() for another value can hold, for ANY set S of collects: leader change can
 * never contradict a decision. Only liveness needs S to be large.
 */
import { fromHex, toHex, utf8 } from './codec.js';
import { MAX_COLLECT_WRITES } from './limits.js';

export interface Collect {
  reg: number;
  cid: number;
  valTs: number;
  valHash: string | null;
  val: Uint8Array | null;
  /** hash -> highest regency in which the sender wrote it. */
  ws: Map<string, number>;
}

export function encodeCollect(c: Collect): Uint8Array {
  const ws = [...c.ws.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return utf8.encode(JSON.stringify({ reg: c.reg, cid: c.cid, valTs: c.valTs, val: c.val ? toHex(c.val) : null, ws }));
}

/** Decodes a collect; `digest` recomputes the value hash so a sender cannot pair a value with another hash. */
export function decodeCollect(bytes: Uint8Array, digest: (b: Uint8Array) => string): Collect | undefined {
  try {
    const o = JSON.parse(utf8.decode(bytes)) as Record<string, unknown>;
    const reg = o.reg;
    const cid = o.cid;
    const valTs = o.valTs;
    if (!Number.isInteger(reg) || !Number.isInteger(cid) || !Number.isInteger(valTs)) return undefined;
    let val: Uint8Array | null = null;
    if (o.val !== null) {
      const v = fromHex(o.val as string);
      if (!v) return undefined;
      val = v;
    }
    if ((valTs as number) >= 0 !== (val !== null)) return undefined;
    if (!Array.isArray(o.ws) || o.ws.length > MAX_COLLECT_WRITES) return undefined;
    const ws = new Map<string, number>();
    for (const e of o.ws as unknown[]) {
      if (!Array.isArray(e) || typeof e[0] !== 'string' || !Number.isInteger(e[1])) return undefined;
      ws.set(e[0], e[1] as number);
    }
    return {
      reg: reg as number,
      cid: cid as number,
      valTs: valTs as number,
      val,
      valHash: val ? digest(val) : null,
      ws,
    };
  } catch {
    return undefined;
  }
}

export interface CollectState {
  valTs: number;
  valHash: string | null;
  val: Uint8Array | null;
  ws: Map<string, number>;
}

export const EMPTY_STATE: CollectState = { valTs: -1, valHash: null, val: null, ws: new Map() };

export type SyncChoice = { kind: 'bound'; hash: string; value: Uint8Array } | { kind: 'unbound' } | { kind: 'unsound' };

/**
 * The value a new leader must propose for the instance the collects `states` describe: `bound` (that value),
 * `unbound` (anything valid) or `unsound` (not enough collects yet to tell).
 */
export function chooseValue(states: CollectState[], n: number, f: number): SyncChoice {
  const half = Math.floor((n + f) / 2);
  let best: { ts: number; hash: string; value: Uint8Array } | undefined;
  for (const cand of states) {
    if (cand.valTs < 0 || !cand.valHash || !cand.val) continue;
    if (best && best.ts >= cand.valTs) continue;
    const ts = cand.valTs;
    const h = cand.valHash;
    let older = 0;
    let wrote = 0;
    for (const s of states) {
      if (s.valTs < ts || (s.valTs === ts && s.valHash === h)) older++;
      const w = s.ws.get(h);
      if (w !== undefined && w >= ts) wrote++;
    }
    if (older > half && wrote > f) best = { ts, hash: h, value: cand.val };
  }
  if (best) return { kind: 'bound', hash: best.hash, value: best.value };
  const never = states.filter((s) => s.valTs < 0).length;
  return never > half ? { kind: 'unbound' } : { kind: 'unsound' };
}

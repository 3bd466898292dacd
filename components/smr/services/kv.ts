/**
 * The default replicated service: a key-value map with get, put, delete and compare-and-set.
 * Operations and results are JSON (utf8). Results are canonical (fixed key order) because clients compare
 * replies byte for byte. Snapshots list entries sorted by key so equal states have equal bytes.
 */
import type { ExecContext, Service } from './service.js';

export type KvOp =
  | { op: 'get'; key: string }
  | { op: 'put'; key: string; value: string }
  | { op: 'delete'; key: string }
  | { op: 'cas'; key: string; expected: string | null; value: string };

export type KvResult = { ok: true; value: string | null } | { ok: false; value: string | null } | { error: string };

/** Longest key the service accepts (UTF-16 code units); clients refuse longer keys before sending. */
export const MAX_KEY_LENGTH = 1024;

const enc = new TextEncoder();
const dec = new TextDecoder();

export function encodeKvOp(op: KvOp): Uint8Array {
  return enc.encode(JSON.stringify(op));
}

export function decodeKvResult(bytes: Uint8Array): KvResult {
  return JSON.parse(dec.decode(bytes)) as KvResult;
}

export function isReadOnlyKv(op: KvOp): boolean {
  return op.op === 'get';
}

function parseOp(bytes: Uint8Array): KvOp | undefined {
  try {
    const o = JSON.parse(dec.decode(bytes)) as Record<string, unknown>;
    if (typeof o.key !== 'string' || o.key.length > MAX_KEY_LENGTH) return undefined;
    switch (o.op) {
      case 'get':
      case 'delete':
        return { op: o.op, key: o.key };
      case 'put':
        return typeof o.value === 'string' ? { op: 'put', key: o.key, value: o.value } : undefined;
      case 'cas':
        return typeof o.value === 'string' && (o.expected === null || typeof o.expected === 'string')
          ? { op: 'cas', key: o.key, expected: o.expected, value: o.value }
          : undefined;
      default:
        return undefined;
    }
  } catch {
    return undefined;
  }
}

/** Pure sequential model, also used by the simulator's linearizability check. */
export function applyKv(map: Map<string, string>, op: KvOp, readOnly = false): KvResult {
  const cur = map.get(op.key) ?? null;
  switch (op.op) {
    case 'get':
      return { ok: true, value: cur };
    case 'put':
      if (readOnly) return { error: 'read-only request cannot write' };
      map.set(op.key, op.value);
      return { ok: true, value: cur };
    case 'delete':
      if (readOnly) return { error: 'read-only request cannot write' };
      map.delete(op.key);
      return { ok: true, value: cur };
    case 'cas':
      if (readOnly) return { error: 'read-only request cannot write' };
      if (cur !== op.expected) return { ok: false, value: cur };
      map.set(op.key, op.value);
      return { ok: true, value: cur };
  }
}

export function resultBytes(r: KvResult): Uint8Array {
  if ('error' in r) return enc.encode(JSON.stringify({ error: r.error }));
  return enc.encode(JSON.stringify({ ok: r.ok, value: r.value }));
}

export class KvService implements Service {
  readonly map = new Map<string, string>();

  execute(op: Uint8Array, ctx: ExecContext): Uint8Array {
    const parsed = parseOp(op);
    if (!parsed) return resultBytes({ error: 'malformed kv operation' });
    return resultBytes(applyKv(this.map, parsed, ctx.readOnly));
  }

  snapshot(): Uint8Array {
    return enc.encode(JSON.stringify([...this.map.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))));
  }

  restore(state: Uint8Array): void {
    this.map.clear();
    for (const [k, v] of JSON.parse(dec.decode(state)) as [string, string][]) this.map.set(k, v);
  }
}

/** Every null operation's result: results are only read (replies copy them), so one empty array serves all. */
const EMPTY = new Uint8Array(0);

/** Null operations for benchmarks (the paper's stateless service): the reply is empty. */
export class NoopService implements Service {
  private count = 0;
  execute(_op: Uint8Array, ctx: ExecContext): Uint8Array {
    if (!ctx.readOnly) this.count++;
    return EMPTY;
  }
  snapshot(): Uint8Array {
    return enc.encode(String(this.count));
  }
  restore(state: Uint8Array): void {
    this.count = Number(dec.decode(state)) || 0;
  }
}

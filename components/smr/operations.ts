/**
 * What `tclouds smr` does against a deployment: find the deployment of a topology, connect a client, run one KV
 * operation or a closed-loop load. Commands only parse flags and render these values.
 */
import { performance } from 'node:perf_hooks';
import { ExitCode, TcError } from '../../kernel/errors.js';
import { loadTopology, stackDir } from '../../topology/load.js';
import { clientFromOutputs, type SmrClient } from './client.js';
import { SmrCode } from './codes.js';
import type { ClientAuth } from './request-auth.js';
import { decodeKvResult, encodeKvOp, type KvOp, type KvResult, MAX_KEY_LENGTH } from './services/kv.js';

/** Where a deployment's outputs are: `--stack-dir` if given, else <topology dir>/.tclouds/<name>. */
export async function resolveStackDir(file: string, explicit?: string): Promise<string> {
  if (explicit) return explicit;
  return stackDir(await loadTopology(file));
}

export async function connectComponent(
  where: { file: string; stackDir?: string },
  component: string,
  timeoutMs: number,
  opts: { sign?: boolean } = {},
): Promise<SmrClient> {
  const dir = await resolveStackDir(where.file, where.stackDir);
  const client = await clientFromOutputs(dir, component, {
    timeoutMs,
    ...(opts.sign === undefined ? {} : { sign: opts.sign }),
  });
  const connected = await client.connect(client.n - client.f, Math.min(timeoutMs, 5000));
  if (connected < client.n - client.f) {
    await client.close();
    throw new TcError(
      SmrCode.unavailable,
      `only ${connected} of ${client.n} replicas of "${component}" are reachable (need ${client.n - client.f})`,
      {
        exit: ExitCode.unavailable,
        hint: 'check `tclouds status`; redeploy with `tclouds deploy --target local` if nodes are down',
      },
    );
  }
  return client;
}

export function parseKvArgs(op: string, args: string[]): KvOp {
  const need = (k: number, usage: string) => {
    if (args.length !== k) {
      throw new TcError(SmrCode.usage, `${op} takes ${k} argument${k === 1 ? '' : 's'}: ${usage}`, {
        exit: ExitCode.usage,
      });
    }
  };
  if (args[0] !== undefined && args[0].length > MAX_KEY_LENGTH) {
    throw new TcError(
      SmrCode.usage,
      `key is ${args[0].length} characters long; the kv service takes at most ${MAX_KEY_LENGTH}`,
      {
        exit: ExitCode.usage,
        hint: 'use a shorter key (hash a long one, e.g. with sha256sum)',
      },
    );
  }
  switch (op) {
    case 'get':
      need(1, 'KEY');
      return { op: 'get', key: args[0]! };
    case 'delete':
      need(1, 'KEY');
      return { op: 'delete', key: args[0]! };
    case 'put':
      need(2, 'KEY VALUE');
      return { op: 'put', key: args[0]!, value: args[1]! };
    case 'cas':
      need(3, 'KEY EXPECTED NEW (EXPECTED "-" means the key must be absent)');
      return { op: 'cas', key: args[0]!, expected: args[1] === '-' ? null : args[1]!, value: args[2]! };
    default:
      throw new TcError(SmrCode.usage, `unknown operation "${op}"`, {
        exit: ExitCode.usage,
        hint: 'operations: get KEY, put KEY VALUE, delete KEY, cas KEY EXPECTED NEW',
      });
  }
}

export interface InvokeResult {
  component: string;
  op: KvOp;
  result: KvResult;
  /** false when a read was answered by the read-only fast path (no ordering). */
  ordered: boolean;
  latencyMs: number;
  replicasConnected: number;
  /** added (Ed25519 client signatures): how the request was authenticated, `mac` (MAC vector) or `signature`. */
  auth: ClientAuth;
}

export async function invokeKv(
  where: { file: string; stackDir?: string },
  component: string,
  op: KvOp,
  opts: { timeoutMs?: number; ordered?: boolean; sign?: boolean } = {},
): Promise<InvokeResult> {
  const client = await connectComponent(
    where,
    component,
    opts.timeoutMs ?? 40_000,
    opts.sign === undefined ? {} : { sign: opts.sign },
  );
  try {
    const t0 = performance.now();
    const r = await client.session().invoke(encodeKvOp(op), { readOnly: op.op === 'get' && !opts.ordered });
    return {
      component,
      op,
      result: decodeKvResult(r.result),
      ordered: r.ordered,
      latencyMs: Math.round((performance.now() - t0) * 100) / 100,
      replicasConnected: client.connectedReplicas().length,
      auth: client.auth,
    };
  } finally {
    await client.close();
  }
}

export interface LoadResult {
  clients: number;
  payloadBytes: number;
  seconds: number;
  ops: number;
  opsPerSecond: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number; mean: number };
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/**
 * Closed-loop load: `clients` sessions each keep exactly one request outstanding for `seconds` (after a short
 * warm-up) and record latencies. `makeOp` builds the operation bytes (a null op by default).
 */
export async function closedLoop(
  invoke: (session: number, op: Uint8Array) => Promise<unknown>,
  clients: number,
  seconds: number,
  payloadBytes: number,
  warmupMs = 300,
): Promise<LoadResult> {
  const op = new Uint8Array(payloadBytes);
  const lat: number[] = [];
  const warmEnd = performance.now() + warmupMs;
  const end = warmEnd + seconds * 1000;
  let ops = 0;
  await Promise.all(
    Array.from({ length: clients }, async (_, s) => {
      while (performance.now() < end) {
        const t0 = performance.now();
        await invoke(s, op);
        const t1 = performance.now();
        if (t0 >= warmEnd && t1 <= end) {
          ops++;
          lat.push(t1 - t0);
        }
      }
    }),
  );
  lat.sort((a, b) => a - b);
  const r2 = (x: number) => Math.round(x * 100) / 100;
  return {
    clients,
    payloadBytes,
    seconds,
    ops,
    opsPerSecond: Math.round(ops / seconds),
    latencyMs: {
      p50: r2(percentile(lat, 50)),
      p90: r2(percentile(lat, 90)),
      p99: r2(percentile(lat, 99)),
      max: r2(lat[lat.length - 1] ?? 0),
      mean: r2(lat.reduce((a, b) => a + b, 0) / Math.max(1, lat.length)),
    },
  };
}

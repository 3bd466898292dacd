/**
 * Node configuration of SMR replicas (roles `replica` and `standby`): written by plan.ts, parsed by node.ts
 * (replicaConfig). Defaults are those of a replica started from a hand-written spec; the plan always writes the
 * topology's values.
 */
import { z } from 'zod';
import { ExitCode, TcError } from '../../kernel/errors.js';
import { parseNodeConfig } from '../node-config.js';
import { SmrCode } from './codes.js';
import { MAX_BATCH_REQUESTS } from './protocol/limits.js';
import { validateGroup } from './protocol/types.js';

/** 1 GiB: a checkpoint period of large batches fits many times over, and a disk of a few GiB is not filled. */
export const DEFAULT_WAL_MAX_BYTES = 1 << 30;
/** 1 MiB: below it a checkpoint of a small service state would already fill the log. */
export const MIN_WAL_MAX_BYTES = 1 << 20;

export const SmrReplicaConfigSchema = z.object({
  f: z.int().min(0).default(1),
  /** Group size; a replica checks it against the replicas its spec lists. Default: as many as listed. */
  n: z.int().min(1).optional(),
  faults: z.enum(['byzantine', 'crash']).default('byzantine'),
  /** `kv`, `noop`, or the path of a user service module. */
  service: z.string().min(1).default('kv'),
  batchSize: z.int().min(1).max(MAX_BATCH_REQUESTS).default(400),
  checkpointPeriod: z.int().min(1).default(1000),
  /** How clients authenticate requests; with `signature` MAC-only requests are refused. */
  clientAuth: z.enum(['mac', 'signature']).default('mac'),
  /** `fsync`: the write-ahead log (wal.ts) holds every promise before it leaves; `none`: memory only (benchmarks). */
  durability: z.enum(['fsync', 'none']).default('fsync'),
  /** Bound of the write-ahead log: past it the replica checkpoints early and starts a new segment. */
  walMaxBytes: z.int().min(MIN_WAL_MAX_BYTES).default(DEFAULT_WAL_MAX_BYTES),
  /** Twin quad: which of the two independent groups (0 replica, 1 standby). */
  group: z.int().min(0).optional(),
  tickMs: z.int().min(1).default(10),
  requestTimeoutMs: z.int().min(10).default(500),
  maxPending: z.int().min(1).default(50_000),
  /**
   * Lets POST /admin/fault turn this replica Byzantine (`tclouds chaos byzantine`). The local realizer sets it; a
   * cloud plan only when the topology asks (`chaos: { byzantine: true }`).
   */
  faultInjection: z.boolean().default(false),
});
export type SmrReplicaConfig = z.output<typeof SmrReplicaConfigSchema>;
export type SmrReplicaConfigInput = z.input<typeof SmrReplicaConfigSchema>;

export const SMR_CONFIGS = { replica: SmrReplicaConfigSchema, standby: SmrReplicaConfigSchema } as const;

/** A replica's config once checked against its group: `n` is known. */
export type ReplicaConfig = SmrReplicaConfig & { n: number };

/**
 * The config of a replica whose spec lists `members` replicas in its group: the schema, then what the schema
 * cannot check alone (n agrees with the spec; n >= 3f+1, or 2f+1 when the component tolerates crashes only).
 */
export function replicaConfig(raw: unknown, members: number): ReplicaConfig {
  const c = parseNodeConfig(SmrReplicaConfigSchema, raw, { code: SmrCode.config, what: 'SMR replica config' });
  const n = c.n ?? members;
  if (n !== members) {
    throw new TcError(SmrCode.config, `SMR config says n=${n} but the spec lists ${members} replicas in this group`, {
      exit: ExitCode.invalid,
      hint: 'redeploy so that specs and config agree',
    });
  }
  const f = c.f;
  const problem =
    c.faults === 'crash'
      ? n < 2 * f + 1
        ? `n=${n} cannot tolerate f=${f} crashes (need 2f+1)`
        : undefined
      : validateGroup(n, f);
  if (problem) throw new TcError(SmrCode.config, problem, { exit: ExitCode.invalid });
  return { ...c, n };
}

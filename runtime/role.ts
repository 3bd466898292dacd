/**
 * The contract between the generic node host (`tclouds node run --spec FILE`, runtime/) and the role code of
 * each component (`components/<kind>/node.ts`, which exports `roles: Record<string, RoleFactory>`).
 *
 * The node host owns all I/O that every node shares: the authenticated transport, the control HTTP server
 * (GET /health, GET /metrics, POST /admin/...), structured logs and SIGTERM handling. A role gets a context
 * and returns an instance the host can ask for health details and stop.
 */
import type { KeyObject } from 'node:crypto';
import type { NodeSpec } from './node-spec.js';

export type LogFields = Record<string, unknown>;

/** Structured JSON logger (one JSON object per line in `<dataDir>/node.log` and on stderr). Never log secrets. */
export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
}

export type Labels = Record<string, string>;

/** Prometheus-style metrics registry rendered by GET /metrics. */
export interface Metrics {
  counter(name: string, help: string, labels?: Labels): { inc(by?: number): void };
  gauge(name: string, help: string, labels?: Labels): { set(value: number): void };
  histogram(name: string, help: string, labels?: Labels): { observe(value: number): void };
}

export interface RoleContext {
  spec: NodeSpec;
  log: Logger;
  metrics: Metrics;
  /** Aborted when the node is asked to stop (SIGTERM, SIGINT). */
  signal: AbortSignal;
  /** This node's X25519 private key (loaded from spec.keyFile). */
  privateKey: KeyObject;
  /**
   * Peer ids whose traffic is refused (chaos partitions, POST /admin/partition). Roles pass this set to their
   * transports (runtime/transport.ts `blocked`), which drop frames both ways.
   */
  partitioned?: Set<string>;
  /**
   * Report a broken invariant (kernel/assert.ts) or another state the role cannot go on from. The host logs it
   * and the node exits without a clean-stop save, to be restarted from its durable state. Returns at once: the
   * role stops handling events itself.
   */
  fatal(error: unknown): void;
  /**
   * Record a security or availability event (type e.g. `storage.write`) in the log component the topology names
   * for this node's component (`auditLog`); absent when it names none. Never blocks or throws: the event is
   * queued (bounded) and sent in the background.
   */
  audit?(type: string, msg: string): void;
}

export interface RoleInstance {
  /**
   * Role-specific fields merged under `role` in GET /health, e.g. for SMR
   * `{ leader: 0, regency: 0, lastDecided: 41 }`, for a storage gateway `{ objects: 3, bytes: 1024 }`.
   */
  health(): Record<string, unknown>;
  /** Stop serving, flush durable state, close sockets. Called once by the host on shutdown. */
  stop(): Promise<void>;
  /**
   * Optional role-specific admin action from POST /admin/<action> (bearer token checked by the host). Returns a
   * JSON-able result, or undefined when the action is unknown (404). SMR uses it for its fault switch
   * (POST /admin/fault).
   */
  admin?(action: string, body: unknown): Promise<unknown>;
}

export type RoleFactory = (ctx: RoleContext) => Promise<RoleInstance>;

/**
 * GET /health response of every node (stable JSON shape; the status dashboard reads it):
 * `{ id, component, kind, role, index, cloud, domain, status, uptimeSeconds, pid, partitionedFrom, role: {...} }`
 * where status is 'ok' | 'starting' | 'degraded' | 'stopping'.
 */
export interface NodeHealth {
  id: string;
  component: string;
  kind: string;
  roleName: string;
  index: number;
  cloud: string;
  domain: number;
  status: 'ok' | 'starting' | 'degraded' | 'stopping';
  uptimeSeconds: number;
  pid: number;
  /** Peer ids whose traffic this node currently refuses (chaos partitions). */
  partitionedFrom: string[];
  role: Record<string, unknown>;
}

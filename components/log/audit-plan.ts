/**
 * Event-driven logging in the plan (TClouds D2.2.1, ch. 11, §11.3.2): a component with `auditLog: <log>` has its
 * nodes record their security and availability events in that log component of the same stack. Each such node is
 * a producer of its own: it gets a client key `audit-<node>` of the log (X25519, 0600, like every client key; the
 * core replicas accept its requests), and the log's core replicas learn which cloud and node that key speaks for,
 * so an entry's cloud, node and account name its producer and no node can write in another's name. Pure.
 */
import { ExitCode, TcError } from '../../kernel/errors.js';
import type { PeerSpec } from '../../runtime/node-spec.js';
import type { ComponentPlan, PlannedKey, PlannedNode } from '../plan-types.js';
import { LogCode } from './codes.js';

/** Producer client keys of audited nodes are `audit-<node id>`. */
export const AUDIT_CLIENT_PREFIX = 'audit-';

export function auditClientId(nodeId: string): string {
  return `${AUDIT_CLIENT_PREFIX}${nodeId}`;
}

/** A producer key of an audited node: its node's secret, so it is never listed among a deployment's client keys. */
export function isProducerKey(k: Pick<PlannedKey, 'id' | 'kind'>): boolean {
  return k.kind === 'client' && k.id.startsWith(AUDIT_CLIENT_PREFIX);
}

/**
 * Joins audited components to their logs: sets `auditLog` on each, adds one producer key per node to the log's
 * keys and the producers' origins to every core replica's config. `auditLogs` is component -> topology auditLog.
 */
export function wireAuditLogs(
  components: Record<string, ComponentPlan>,
  auditLogs: Record<string, string | undefined>,
): void {
  for (const [name, c] of Object.entries(components)) {
    const target = auditLogs[name];
    if (target === undefined) continue;
    const log = components[target];
    if (log?.kind !== 'log') {
      throw new TcError(LogCode.auditLog, `component "${name}": auditLog "${target}" is not a log component`, {
        exit: ExitCode.invalid,
        hint: 'name a `kind: log` component of the same topology',
        location: { path: `components.${name}.auditLog` },
      });
    }
    c.auditLog = target;
    const producers: Record<string, { cloud: string; node: string }> = {};
    for (const n of c.nodes) {
      const id = auditClientId(n.id);
      log.keys.push({ id, kind: 'client', for: n.id });
      producers[id] = { cloud: n.cloud, node: n.id };
    }
    for (const core of log.nodes.filter((n) => n.role === 'core')) {
      const had = (core.config.producers ?? {}) as Record<string, unknown>;
      core.config = { ...core.config, producers: { ...had, ...producers } };
    }
  }
}

/** What a realizer puts in an audited node's spec (runtime/node-spec.ts `auditLog`). */
export interface AuditTarget {
  component: string;
  clientId: string;
  keyFile: string;
  f: number;
  replicas: PeerSpec[];
}

/** The audit target of node `node` of component `c`, or undefined when its component records nothing. */
export function auditTargetOf(
  components: Record<string, ComponentPlan>,
  c: ComponentPlan,
  node: PlannedNode,
  where: { hostOf(id: string): string; publicKeyOf(id: string): string; keyFileOf(key: PlannedKey): string },
): AuditTarget | undefined {
  if (c.auditLog === undefined) return undefined;
  const log = components[c.auditLog];
  const clientId = auditClientId(node.id);
  const key = log?.keys.find((k) => k.id === clientId);
  if (!log || !key) return undefined;
  return {
    component: c.auditLog,
    clientId,
    keyFile: where.keyFileOf(key),
    f: log.f,
    replicas: log.nodes
      .filter((n) => n.role === 'core')
      .map((n) => ({
        id: n.id,
        role: n.role,
        index: n.index,
        host: where.hostOf(n.id),
        ports: { ...n.ports },
        publicKey: where.publicKeyOf(n.id),
      })),
  };
}

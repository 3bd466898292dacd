/**
 * What a node records in its audit log (TClouds D2.2.1, ch. 11, §11.3.2, event-driven logging), and the flood
 * guard in front of its producer. Events come from three places (runtime/audit.ts): roles that call `ctx.audit`
 * (storage gateway writes, locks, reconfiguration), the node's log lines that are events (LOG_EVENTS: the SMR's
 * leader changes and state transfers, fault switches, fatal stops), and counters of refused input
 * (REFUSAL_COUNTERS: frames and connections the transport or the SMR turned away).
 *
 * An attacker who can reach a port must not be able to flood the log through it: refusals are never an entry
 * each, but one `node.refused` entry per AUDIT_WINDOW_MS summing them by counter and reason; and any one event
 * type gets at most AUDIT_MAX_PER_TYPE entries per window, the rest summed in one `audit.suppressed` entry.
 */
import type { AuditTap, AuditTapFactory } from '../../runtime/audit.js';
import { readPrivateKey } from '../../runtime/keys.js';
import type { Labels, LogFields, Logger } from '../../runtime/role.js';
import { AuditProducer, auditClient } from './audit-producer.js';

/** Length of the aggregation window for refusals and of the per-type rate limit. */
export const AUDIT_WINDOW_MS = 5_000;
/** Most entries of one event type per window; the rest are counted in one summary entry. */
export const AUDIT_MAX_PER_TYPE = 100;

/** Log lines that are events, by message (as the code that writes them spells it), with their event type. */
export const LOG_EVENTS: Readonly<Record<string, string>> = {
  'installing regency': 'smr.leader-change',
  'request timeout; starting leader change': 'smr.leader-change-started',
  'invalid proposal from leader; starting leader change': 'smr.leader-suspected',
  'SYNC from new leader does not check; next leader change': 'smr.leader-suspected',
  'state transfer requested': 'smr.state-transfer',
  'installed checkpoint from state transfer': 'smr.state-transfer',
  'state transfer complete': 'smr.state-transfer',
  'replica stops taking part': 'smr.degraded',
  'write-ahead log: dropped a torn or damaged tail': 'smr.wal-damaged',
  'write-ahead log: dropping a segment after a damaged one': 'smr.wal-damaged',
  'fault mode changed': 'chaos.fault-mode',
  'fatal: stopping the node': 'node.fatal',
  'node ready': 'node.start',
  'node stopping': 'node.stop',
};

/** Counters of refused input, and the label values that are not an attacker's doing (chaos partitions). */
export const REFUSAL_COUNTERS: Readonly<Record<string, { ignore: readonly string[] }>> = {
  tclouds_transport_frames_dropped_total: { ignore: ['partitioned', 'handler_error'] },
  tclouds_transport_connections_refused_total: { ignore: [] },
  tclouds_smr_messages_dropped_total: { ignore: [] },
  tclouds_storage_gateway_rejected_total: { ignore: [] },
};

/** `msg` plus its fields as one line (fields in their own order; values as JSON). */
export function describe(msg: string, fields: LogFields | undefined): string {
  const parts = Object.entries(fields ?? {})
    .filter(([k]) => k !== 'node')
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
  return parts.length > 0 ? `${msg} (${parts.join(', ')})` : msg;
}

/** The rate limits and the refusal sums of one node: pure bookkeeping, flushed by the caller once a window. */
export class AuditWindow {
  private perType = new Map<string, number>();
  private suppressed = new Map<string, number>();
  private refused = new Map<string, number>();

  /** Whether an event of `type` may go out now (else it is counted as suppressed). */
  admit(type: string): boolean {
    const n = (this.perType.get(type) ?? 0) + 1;
    this.perType.set(type, n);
    if (n <= AUDIT_MAX_PER_TYPE) return true;
    this.suppressed.set(type, (this.suppressed.get(type) ?? 0) + 1);
    return false;
  }

  refuse(name: string, labels: Labels, by: number): void {
    const what = [name.replace(/^tclouds_|_total$/g, ''), labels.transport, labels.reason].filter(Boolean).join(' ');
    this.refused.set(what, (this.refused.get(what) ?? 0) + by);
  }

  get busy(): boolean {
    return this.refused.size > 0 || this.suppressed.size > 0 || this.perType.size > 0;
  }

  /** The window's summary entries, and a fresh window. */
  flush(): { type: string; msg: string }[] {
    const out: { type: string; msg: string }[] = [];
    const secs = AUDIT_WINDOW_MS / 1000;
    if (this.refused.size > 0) {
      const total = [...this.refused.values()].reduce((a, b) => a + b, 0);
      const each = [...this.refused].map(([k, v]) => `${k}: ${v}`).join('; ');
      out.push({ type: 'node.refused', msg: `${total} refused in the last ${secs} s (${each})` });
    }
    if (this.suppressed.size > 0) {
      const each = [...this.suppressed].map(([k, v]) => `${k}: ${v}`).join('; ');
      out.push({
        type: 'audit.suppressed',
        msg: `events over ${AUDIT_MAX_PER_TYPE} per ${secs} s not logged (${each})`,
      });
    }
    this.perType = new Map();
    this.suppressed = new Map();
    this.refused = new Map();
    return out;
  }
}

/** The tap of a node: rules and window in front of its producer. */
export class AuditRecorder implements AuditTap {
  private readonly window = new AuditWindow();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly producer: AuditProducer) {}

  record(type: string, msg: string): void {
    this.arm();
    if (this.window.admit(type)) this.producer.enqueue(type, msg);
  }

  onLog(_level: string, msg: string, fields: LogFields | undefined): void {
    const type = Object.hasOwn(LOG_EVENTS, msg) ? LOG_EVENTS[msg] : undefined;
    if (type) this.record(type, describe(msg, fields));
  }

  watchesCounter(name: string, labels: Labels): boolean {
    const rule = Object.hasOwn(REFUSAL_COUNTERS, name) ? REFUSAL_COUNTERS[name] : undefined;
    return rule !== undefined && !rule.ignore.includes(labels.reason ?? '');
  }

  onCounter(name: string, labels: Labels, by: number): void {
    this.arm();
    this.window.refuse(name, labels, by);
  }

  /** One timer per busy window: a quiet node has none running. */
  private arm(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      for (const e of this.window.flush()) this.producer.enqueue(e.type, e.msg);
    }, AUDIT_WINDOW_MS);
    this.timer.unref();
  }

  async close(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    for (const e of this.window.flush()) this.producer.enqueue(e.type, e.msg);
    await this.producer.close();
  }
}

/** The node host's factory (commands/node/run.ts): a recorder when the spec names an audit log. */
export const startAuditTap: AuditTapFactory = async (spec, log: Logger, metrics) => {
  const a = spec.auditLog;
  if (!a) return undefined;
  const client = auditClient(spec, a, await readPrivateKey(a.keyFile), log.child({ audit: a.component }));
  // Starts the transport; it keeps dialling core replicas that are not up yet.
  await client.smr.connect(0, 0);
  return new AuditRecorder(new AuditProducer({ cloud: spec.cloud, id: spec.id }, client, log, metrics));
};

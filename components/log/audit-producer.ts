/**
 * A node's producer for the log component its topology names (`auditLog`): events wait in a bounded in-memory
 * queue and are appended in batches through the log core's SMR client, as the node's own producer key
 * (`audit-<node>`). A log that is down or slow never holds the node up: sending happens in the background, a
 * failed batch is retried after AUDIT_RETRY_MS, and once AUDIT_QUEUE_LIMIT events wait, new ones are dropped,
 * counted in /metrics (tclouds_audit_events_dropped_total) and logged once per outage.
 */
import type { KeyObject } from 'node:crypto';
import type { NodeSpec } from '../../runtime/node-spec.js';
import type { Logger, Metrics } from '../../runtime/role.js';
import { SmrClient } from '../smr/client.js';
import { batches, LogClient } from './client.js';
import { MAX_MESSAGE_LENGTH } from './limits.js';
import type { EntryInput } from './protocol/entry.js';

/** Events a node keeps waiting for its log; past it new events are dropped (and counted). */
export const AUDIT_QUEUE_LIMIT = 10_000;
/** Wait after a failed append before the batch is tried again. */
export const AUDIT_RETRY_MS = 1_000;
/** Deadline of one append of the producer (the SMR client's per-invoke timeout). */
export const AUDIT_APPEND_TIMEOUT_MS = 10_000;
/** How long a stopping node waits for its queued events to reach the log. */
export const AUDIT_CLOSE_WAIT_MS = 3_000;
/**
 * Once the queue is empty for this long, the producer seals the open segment, so its events reach storage (and
 * `log query`) within seconds even when nothing else is appended; a busy node seals once per quiet spell.
 */
export const AUDIT_SEAL_IDLE_MS = 1_000;

type Origin = Pick<NodeSpec, 'cloud' | 'id'>;
type AuditLog = NonNullable<NodeSpec['auditLog']>;

export class AuditProducer {
  private queue: EntryInput[] = [];
  private pumping: Promise<void> | undefined;
  private closed = false;
  private warnedDrop = false;
  private warnedSend = false;
  private wake: (() => void) | undefined;
  private sealTimer: NodeJS.Timeout | undefined;
  private readonly dropped: { inc(by?: number): void };
  private readonly sent: { inc(by?: number): void };
  private readonly failed: { inc(by?: number): void };
  private readonly queued: { set(v: number): void };

  constructor(
    private readonly origin: Origin,
    private readonly client: LogClient,
    private readonly log: Logger,
    metrics: Metrics,
  ) {
    this.dropped = metrics.counter('tclouds_audit_events_dropped_total', 'Audit events dropped: the queue was full');
    this.sent = metrics.counter('tclouds_audit_events_sent_total', 'Audit events appended to the log');
    this.failed = metrics.counter('tclouds_audit_append_failures_total', 'Audit appends that failed (retried)');
    this.queued = metrics.gauge('tclouds_audit_events_queued', 'Audit events waiting for the log');
  }

  get pending(): number {
    return this.queue.length;
  }

  /** Queues one event; never blocks, never throws. */
  enqueue(type: string, msg: string): void {
    if (this.closed) return;
    if (this.queue.length >= AUDIT_QUEUE_LIMIT) {
      this.dropped.inc();
      if (!this.warnedDrop) {
        this.warnedDrop = true;
        this.log.warn('audit queue full: dropping events until the log takes them', { limit: AUDIT_QUEUE_LIMIT });
      }
      return;
    }
    const text = msg.length > MAX_MESSAGE_LENGTH ? `${msg.slice(0, MAX_MESSAGE_LENGTH - 1)}…` : msg;
    this.queue.push({ cloud: this.origin.cloud, node: this.origin.id, type, msg: text });
    this.queued.set(this.queue.length);
    if (this.sealTimer) clearTimeout(this.sealTimer);
    this.sealTimer = undefined;
    this.pumping ??= this.pump().finally(() => {
      this.pumping = undefined;
      if (this.queue.length === 0 && !this.closed) this.sealSoon();
    });
  }

  private sealSoon(): void {
    this.sealTimer = setTimeout(() => {
      this.sealTimer = undefined;
      // A failed seal is harmless: the core also seals on its own clock at the next append.
      this.client.seal().catch(() => {});
    }, AUDIT_SEAL_IDLE_MS);
    this.sealTimer.unref();
  }

  private async pump(): Promise<void> {
    while (this.queue.length > 0 && !this.closed) {
      const batch = batches(this.queue)[0] as EntryInput[];
      try {
        await this.client.appendBatch(batch);
        this.queue.splice(0, batch.length);
        this.queued.set(this.queue.length);
        this.sent.inc(batch.length);
        if (this.warnedDrop || this.warnedSend) this.log.info('audit log reachable again', { queued: this.pending });
        this.warnedDrop = false;
        this.warnedSend = false;
      } catch (e) {
        this.failed.inc();
        if (!this.warnedSend) {
          this.warnedSend = true;
          this.log.warn('audit log unreachable; events wait in memory', { error: (e as Error).message });
        }
        await new Promise<void>((r) => {
          const t = setTimeout(r, AUDIT_RETRY_MS);
          this.wake = () => {
            clearTimeout(t);
            r();
          };
        });
        this.wake = undefined;
      }
    }
  }

  /** Gives queued events up to AUDIT_CLOSE_WAIT_MS to reach the log, then stops. */
  async close(): Promise<void> {
    if (this.pumping) {
      await Promise.race([this.pumping, delay(AUDIT_CLOSE_WAIT_MS)]);
    }
    this.closed = true;
    if (this.sealTimer) clearTimeout(this.sealTimer);
    if (this.queue.length === 0) await Promise.race([this.client.seal().catch(() => {}), delay(AUDIT_CLOSE_WAIT_MS)]);
    this.wake?.();
    await this.client.close();
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref());
}

/** The SMR client of a node's audit log, as its producer key. */
export function auditClient(spec: Pick<NodeSpec, 'stack'>, a: AuditLog, key: KeyObject, log: Logger): LogClient {
  const smr = new SmrClient({
    stack: spec.stack,
    clientId: a.clientId,
    privateKey: key,
    replicas: a.replicas.map((r) => ({
      id: r.id,
      index: r.index,
      host: r.host,
      port: r.ports.client as number,
      publicKey: r.publicKey,
    })),
    f: a.f,
    timeoutMs: AUDIT_APPEND_TIMEOUT_MS,
    log,
  });
  return new LogClient(smr);
}

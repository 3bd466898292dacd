/**
 * A node whose audit log is unreachable keeps serving: on the real producer and SMR client, aimed at replicas that
 * do not exist, events queue without blocking up to AUDIT_QUEUE_LIMIT, the rest are dropped and counted in the
 * node's metrics, the outage and the first drop are logged once each, and closing gives up after a bounded wait.
 */
import { describe, expect, it } from 'vitest';
import { AUDIT_QUEUE_LIMIT, AuditProducer, auditClient } from '../../components/log/audit-producer.js';
import { generateNodeKey } from '../../runtime/keys.js';
import { JsonLogger } from '../../runtime/logger.js';
import { MetricsRegistry } from '../../runtime/metrics.js';

describe('audit producer with its log unreachable', () => {
  it('queues up to its limit, drops and counts the rest, warns once, never blocks', { timeout: 30_000 }, async () => {
    const lines: Record<string, unknown>[] = [];
    const log = new JsonLogger([{ write: (l) => lines.push(JSON.parse(l)) }], { node: 'x' });
    const metrics = new MetricsRegistry();
    const replicas = [0, 1, 2, 3].map((i) => ({
      id: `audit-core-${i}`,
      role: 'core',
      index: i,
      host: '127.0.0.1',
      // Port 9 (discard) on loopback: nothing listens, every dial is refused.
      ports: { client: 9 },
      publicKey: generateNodeKey().publicKey,
    }));
    const a = { component: 'audit', clientId: 'audit-x', keyFile: '', f: 1, replicas };
    const client = auditClient({ stack: 's' }, a, generateNodeKey().privateKey, log);
    await client.smr.connect(0, 0);
    const p = new AuditProducer({ cloud: 'a', id: 'x' }, client, log, metrics);
    const t = performance.now();
    for (let i = 0; i < AUDIT_QUEUE_LIMIT + 25; i++) p.enqueue('smr.leader-change', `event ${i}`);
    expect(performance.now() - t).toBeLessThan(5_000);
    expect(p.pending).toBe(AUDIT_QUEUE_LIMIT);
    expect(metrics.value('tclouds_audit_events_dropped_total')).toBe(25);
    expect(metrics.value('tclouds_audit_events_queued')).toBe(AUDIT_QUEUE_LIMIT);
    expect(lines.filter((l) => String(l.msg).startsWith('audit queue full'))).toHaveLength(1);
    await p.close();
    expect(metrics.value('tclouds_audit_events_sent_total')).toBe(0);
  });
});

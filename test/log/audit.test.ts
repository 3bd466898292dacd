/**
 * Event-driven logging from inside the nodes, the pure parts: the plan gives every node of an audited component
 * its own producer key of the log and tells the core replicas which cloud and node it speaks for; the core refuses
 * a producer's entry that claims another origin; the flood guard sums refusals into one entry per window and caps
 * each event type. The real processes are in audit-e2e.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { auditClientId, isProducerKey } from '../../components/log/audit-plan.js';
import { AUDIT_MAX_PER_TYPE, AuditWindow, describe as describeEvent } from '../../components/log/audit-tap.js';
import { decodeCoreResult, LogCoreService } from '../../components/log/protocol/core-service.js';
import { compilePlan } from '../../components/plan.js';
import { validateTopologyText } from '../../topology/load.js';
import { fourLocalClouds } from '../support/stacks.js';
import { ctx, entry } from './support.js';

const TOPOLOGY = fourLocalClouds(
  'demo',
  `  ledger: { kind: smr, f: 1, clouds: [a, b, c, d], auditLog: audit }
  audit: { kind: log, f: 1, clouds: [a, b, c, d] }`,
  'mediator',
);

describe('audit events: plan', () => {
  it('gives each audited node a producer key of the log, and the core replicas its cloud and node', () => {
    const r = validateTopologyText(TOPOLOGY, '/tmp/t.yaml');
    expect(r.errors).toEqual([]);
    const plan = compilePlan({ topology: r.topology!, dir: '/tmp', file: '/tmp/t.yaml', warnings: [] });
    const ledger = plan.components.ledger!;
    const audit = plan.components.audit!;
    expect(ledger.auditLog).toBe('audit');
    const producerKeys = audit.keys.filter(isProducerKey);
    expect(producerKeys.map((k) => k.id)).toEqual(ledger.nodes.map((n) => auditClientId(n.id)));
    for (const core of audit.nodes.filter((n) => n.role === 'core')) {
      expect(core.config.producers).toEqual(
        Object.fromEntries(ledger.nodes.map((n) => [auditClientId(n.id), { cloud: n.cloud, node: n.id }])),
      );
    }
    // The console is no producer of node events, and the log's own client keys are not producer keys.
    expect(audit.keys.filter((k) => !isProducerKey(k) && k.kind === 'client').map((k) => k.id)).toEqual([
      'client-audit',
      'console-audit',
    ]);
  });
});

describe('audit events: the core binds a producer to its origin', () => {
  const producers = { 'audit-ledger-replica-0': { cloud: 'a', node: 'ledger-replica-0' } };
  const op = (o: unknown) => new TextEncoder().encode(JSON.stringify(o));
  it('takes entries naming its own cloud and node, refuses any other', () => {
    const s = new LogCoreService(() => {}, 100, producers);
    const c = ctx(1, 1000, 'audit-ledger-replica-0/s-0');
    const own = { cloud: 'a', node: 'ledger-replica-0', type: 'smr.leader-change', msg: 'x' };
    expect(decodeCoreResult(s.execute(op({ op: 'append', entries: [own] }), c))).toMatchObject({ ok: true, count: 1 });
    const other = { ...own, node: 'ledger-replica-1' };
    expect(decodeCoreResult(s.execute(op({ op: 'append', entries: [own, other] }), c))).toEqual({
      error: 'producer audit-ledger-replica-0 may only append entries of cloud a, node ledger-replica-0',
    });
    // Clients that are not producers of node events keep choosing cloud and node (tclouds' own records).
    expect(decodeCoreResult(s.execute(op({ op: 'append', entries: [entry(1, 'b')] }), ctx(2)))).toMatchObject({
      ok: true,
    });
  });
});

describe('audit events: flood guard', () => {
  it('sums refusals into one entry per window', () => {
    const w = new AuditWindow();
    for (let i = 0; i < 10_000; i++) {
      w.refuse('tclouds_transport_frames_dropped_total', { transport: 'client', reason: 'unauthenticated' }, 1);
    }
    w.refuse('tclouds_transport_connections_refused_total', { transport: 'peer', reason: 'handshake_deadline' }, 3);
    const out = w.flush();
    expect(out).toHaveLength(1);
    expect(out[0]!.type).toBe('node.refused');
    expect(out[0]!.msg).toContain('10003 refused');
    expect(out[0]!.msg).toContain('transport_frames_dropped client unauthenticated: 10000');
    expect(w.flush()).toEqual([]);
  });

  it('caps each event type per window and says how many were left out', () => {
    const w = new AuditWindow();
    let admitted = 0;
    for (let i = 0; i < AUDIT_MAX_PER_TYPE + 50; i++) if (w.admit('smr.leader-change-started')) admitted++;
    expect(w.admit('smr.state-transfer')).toBe(true);
    expect(admitted).toBe(AUDIT_MAX_PER_TYPE);
    expect(w.flush()).toEqual([
      {
        type: 'audit.suppressed',
        msg: `events over ${AUDIT_MAX_PER_TYPE} per 5 s not logged (smr.leader-change-started: 50)`,
      },
    ]);
  });

  it('describes a log line with its fields', () => {
    expect(describeEvent('installing regency', { replica: 2, regency: 1, leader: 1, node: 'x' })).toBe(
      'installing regency (replica=2, regency=1, leader=1)',
    );
  });
});

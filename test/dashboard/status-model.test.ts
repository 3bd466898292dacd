import { describe, expect, it } from 'vitest';
import { buildStatus, quorumOf } from '../../dashboard/status-model.js';
import { renderStatusText } from '../../dashboard/status-text.js';
import { keepProbability, misbehavingReport, model, outputs, report, round } from './fixtures.js';

describe('status model on recorded health data', () => {
  it('all up, but two replicas share a host: one node fault tolerated, not the loss of that host', () => {
    const r = report('healthy');
    const ledger = r.components.find((c) => c.name === 'ledger')!;
    // local-a/0 holds replicas 0 and 1: node counts say one more fault, the host says none (4 - 2 < quorum 3).
    expect(ledger).toMatchObject({ n: 4, f: 1, quorum: 3, up: 4, faultsLeft: 1, domainFaultsLeft: 0 });
    expect(ledger).toMatchObject({ quorumLost: false, verdict: 'degraded' });
    expect(ledger.leader).toBe(0);
    expect(ledger.lastDecided).toBe(41);
    expect(ledger.nodes.find((n) => n.isLeader)?.id).toBe('ledger-replica-0');
    expect(ledger.verdictLine).toBe(
      'degraded: tolerates 1 more node fault (f=1) but not the loss of a host: 2 of its nodes share a host, 4/4 nodes up, quorum 3',
    );
    const files = r.components.find((c) => c.name === 'files')!;
    expect(files).toMatchObject({ unit: 'cloud', n: 4, f: 1, quorum: 3, up: 4, verdict: 'ok' });
    expect(files.clouds[0]).toMatchObject({ objects: 6, bytes: 3 * 1024 + 17, reachable: true });
    expect(r.summary).toEqual({
      components: 2,
      nodes: 4,
      up: 4,
      quorumLost: [],
      degraded: ['ledger'],
      misbehaving: [],
    });
  });

  it('before the first decision a replica reports -1: shown as "decided none yet"', () => {
    const fresh = structuredClone(round('healthy'));
    for (const p of Object.values(fresh.probes)) {
      const role = (p.health as { role?: Record<string, unknown> } | undefined)?.role;
      if (role) role.lastDecided = -1;
    }
    const r = buildStatus({ outputs, placement: model, ...fresh, now: new Date(0) });
    const ledger = r.components.find((c) => c.name === 'ledger')!;
    expect(ledger.nodes[0]!.keyMetric).toBe('leader 0 · regency 0 · decided none yet');
    expect(renderStatusText(r, process.stdout)).not.toContain('decided -1');
  });

  it('one replica per host: ok, tolerates f=1; an appliance box (one host for all): degraded, says why', () => {
    const spread = structuredClone(outputs);
    spread.components.ledger!.nodes.forEach((n, i) => {
      n.domain = i;
    });
    const at = (o: typeof outputs) =>
      buildStatus({ outputs: o, placement: model, ...round('healthy'), now: new Date(0) }).components.find(
        (c) => c.name === 'ledger',
      )!;
    expect(at(spread)).toMatchObject({ verdict: 'ok', faultsLeft: 1, domainFaultsLeft: 1 });
    expect(at(spread).verdictLine).toBe('ok: tolerates 1 more fault (f=1), 4/4 nodes up, quorum 3');
    const box = structuredClone(outputs);
    for (const n of box.components.ledger!.nodes) Object.assign(n, { cloud: 'local-a', domain: 0 });
    expect(at(box)).toMatchObject({ verdict: 'degraded', faultsLeft: 1, domainFaultsLeft: 0 });
    expect(at(box).verdictLine).toContain('but not the loss of a host: 4 of its nodes share a host');
  });

  it('one replica down: f left 0, degraded, not lost', () => {
    const ledger = report('one-down').components.find((c) => c.name === 'ledger')!;
    expect(ledger).toMatchObject({ up: 3, faultsLeft: 0, quorumLost: false, verdict: 'degraded' });
    expect(ledger.nodes.find((n) => n.id === 'ledger-replica-3')).toMatchObject({ state: 'down', up: false });
  });

  it('paused leader: shown as paused, leader moves to what the live replicas agree on', () => {
    const ledger = report('leader-paused').components.find((c) => c.name === 'ledger')!;
    expect(ledger.nodes[0]).toMatchObject({ id: 'ledger-replica-0', state: 'paused', up: false, isLeader: false });
    expect(ledger.leader).toBe(1);
    expect(ledger.regency).toBe(1);
    expect(ledger.nodes[1]!.isLeader).toBe(true);
  });

  it('quorum lost: two of four replicas and two of four clouds gone', () => {
    const r = report('quorum-lost');
    expect(r.summary.quorumLost).toEqual(['files', 'ledger']);
    const ledger = r.components.find((c) => c.name === 'ledger')!;
    expect(ledger.verdictLine).toBe('QUORUM LOST: 2/4 nodes up, quorum 3');
    // The PM majority still holds (2 of 3 fault domains have a live VM) although the SMR quorum is gone:
    // the panel shows the paper's majority, the verdict line the protocol's quorum.
    const pl = r.placement.components[0]!;
    expect(pl.majorityNow).toBe(true);
    expect(pl.healthyLayout).toEqual([1, 1]);
    if (keepProbability) expect(pl.next[0]!.pKeep).toBe(0);
  });

  it('placement panel: VMs per fault domain, healthy layout and advisor figures', () => {
    const p = report('one-down').placement;
    expect(p).toMatchObject({ threat: 'byzantine-vm', keep: 'pm-majority', removal: false });
    const ledger = p.components[0]!;
    expect(ledger.domains.map((d) => [d.cloud, d.domain, d.vms, d.up])).toEqual([
      ['local-a', 0, 2, 2],
      ['local-c', 0, 1, 1],
      ['local-d', 1, 1, 0],
    ]);
    expect(ledger.layout).toEqual([2, 1, 1]);
    expect(ledger.healthyLayout).toEqual([2, 1]);
    expect(ledger.next.map((x) => x.faults)).toEqual([1, 2, 3]);
    if (keepProbability) {
      expect(ledger.next[0]!.pKeep).toBeCloseTo(keepProbability([2, 1], model, 1), 12);
    } else {
      expect(ledger.next[0]!.pKeep).toBeNull();
    }
  });

  it('a node missing from the probes counts as down; the report is stable JSON', () => {
    const r = buildStatus({ outputs, placement: model, probes: {}, buckets: [], now: new Date(0) });
    expect(r.summary.up).toBe(0);
    expect(JSON.parse(JSON.stringify(r))).toEqual(r);
    expect(r.components.find((c) => c.name === 'files')!.clouds[0]!.reachable).toBeNull();
  });

  it('quorum sizes: BFT-SMaRt, crash SMR, DepSky', () => {
    expect(quorumOf('smr', { f: 1, n: 4 }, 4)).toEqual({ n: 4, f: 1, quorum: 3 });
    expect(quorumOf('smr', { f: 2, n: 7 }, 7)).toEqual({ n: 7, f: 2, quorum: 5 });
    expect(quorumOf('smr', { f: 1, n: 3, faults: 'crash' }, 3)).toEqual({ n: 3, f: 1, quorum: 2 });
    expect(quorumOf('storage', { f: 1 }, 4)).toEqual({ n: 4, f: 1, quorum: 3 });
  });

  it('a replica its peers refuse counts as a fault, though it refuses nobody itself', () => {
    const healthy = round('healthy');
    const probes = structuredClone(healthy.probes);
    // What `chaos partition --node ledger-replica-3` leaves after a heal of ledger-replica-3's side alone.
    for (const id of ['ledger-replica-0', 'ledger-replica-1', 'ledger-replica-2']) {
      probes[id]!.health!.partitionedFrom = ['ledger-replica-3'];
    }
    const r = buildStatus({ outputs, placement: model, probes, buckets: healthy.buckets, now: new Date(0) });
    const ledger = r.components.find((c) => c.name === 'ledger')!;
    expect(ledger).toMatchObject({ up: 3, faultsLeft: 0, verdict: 'degraded' });
    expect(ledger.nodes.find((n) => n.id === 'ledger-replica-3')).toMatchObject({ state: 'ok', partitionedFrom: [] });
  });

  it('round fixtures are the recorded shape', () => {
    expect(Object.keys(round('healthy').probes)).toHaveLength(4);
  });
});

describe('misbehaving replicas (chaos byzantine)', () => {
  it('one replica reporting a fault mode: marked, counted as a fault, tolerance down by one', () => {
    const r = misbehavingReport({ 'ledger-replica-2': 'wrong-replies' });
    const ledger = r.components.find((c) => c.name === 'ledger')!;
    expect(ledger).toMatchObject({ up: 4, misbehaving: 1, faultsLeft: 0, quorumLost: false, verdict: 'degraded' });
    expect(ledger.verdictLine).toBe('degraded: tolerates 0 more faults (f=1), 4/4 nodes up (1 misbehaving), quorum 3');
    expect(ledger.nodes.find((n) => n.id === 'ledger-replica-2')).toMatchObject({
      up: true,
      misbehaving: 'wrong-replies',
    });
    expect(ledger.nodes.filter((n) => n.misbehaving === null)).toHaveLength(3);
    expect(r.summary.misbehaving).toEqual(['ledger-replica-2']);
    expect(r.summary.degraded).toEqual(['ledger']);
    const text = renderStatusText(r);
    expect(text).toMatch(/ledger-replica-2\s+ok\/byzantine:wrong-replies/);
    expect(text).toContain('(1 misbehaving)');
  });

  it('more than f misbehaving: the correct replicas are fewer than a quorum', () => {
    const r = misbehavingReport({ 'ledger-replica-1': 'silent', 'ledger-replica-2': 'censor' });
    const ledger = r.components.find((c) => c.name === 'ledger')!;
    expect(ledger).toMatchObject({ misbehaving: 2, quorumLost: true, verdict: 'lost' });
  });

  it('mode none is correct behaviour', () => {
    const ledger = misbehavingReport({ 'ledger-replica-2': 'none' }).components.find((c) => c.name === 'ledger')!;
    expect(ledger).toMatchObject({ misbehaving: 0, faultsLeft: 1, domainFaultsLeft: 0 });
  });
});

describe('components whose replicas sit beside helpers (log, mapreduce)', () => {
  const node = (component: string, role: string, index: number, domain: number) => ({
    id: `${component}-${role}-${index}`,
    role,
    index,
    host: `127.0.9.${domain + 1}`,
    ports: {},
    publicKey: 'AAAA',
    cloud: `c${domain}`,
    domain: 0,
    controlPort: 7499,
  });
  const base = structuredClone(outputs);
  base.components = {
    audit: {
      kind: 'log',
      buckets: [],
      client: { f: 1, n: 4, faults: 'byzantine' },
      clientKeys: {},
      nodes: [0, 1, 2, 3].map((i) => node('audit', 'core', i, i)).concat([node('audit', 'console', 0, 0)]),
    },
    jobs: {
      kind: 'mapreduce',
      buckets: [],
      client: { f: 1, workers: 4 },
      clientKeys: {},
      nodes: [node('jobs', 'job-tracker', 0, 0)].concat([0, 1, 2, 3].map((i) => node('jobs', 'worker', i, i))),
    },
  } as unknown as typeof outputs.components;
  const status = (down: string[]) => {
    const probes = Object.fromEntries(
      Object.values(base.components)
        .flatMap((c) => c.nodes)
        .filter((n) => !down.includes(n.id))
        .map((n) => [n.id, { id: n.id, health: { id: n.id, status: 'ok', uptimeSeconds: 1, pid: 1, role: {} } }]),
    );
    const r = buildStatus({ outputs: base, placement: model, probes, buckets: [], now: new Date(0) } as never);
    return (name: string) => r.components.find((c) => c.name === name)!;
  };

  it('the log counts its core replicas (BFT quorum of 4), not the console', () => {
    expect(status([])('audit')).toMatchObject({ n: 4, f: 1, quorum: 3, up: 4, verdict: 'ok' });
    // The console down: appends and verify go on; the core is whole.
    expect(status(['audit-console-0'])('audit')).toMatchObject({ up: 4, verdict: 'ok' });
    expect(status(['audit-core-1', 'audit-core-2'])('audit')).toMatchObject({ up: 2, verdict: 'lost' });
  });

  it('mapreduce counts workers (f+1 must agree) and is lost without its trusted tracker', () => {
    expect(status([])('jobs')).toMatchObject({ n: 4, f: 1, quorum: 2, up: 4, verdict: 'ok' });
    expect(status(['jobs-worker-0', 'jobs-worker-1'])('jobs')).toMatchObject({ up: 2, verdict: 'degraded' });
    const noTracker = status(['jobs-job-tracker-0'])('jobs');
    expect(noTracker).toMatchObject({ up: 4, verdict: 'lost', quorumLost: true });
    expect(noTracker.verdictLine).toBe('LOST: job-tracker jobs-job-tracker-0 down');
  });
});

/**
 * The plan compiler on real topology files: snapshots (the plan is the contract between the topology and every
 * realizer, so any change to it must show up in review), determinism, and the shape rules per kind and mode.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { allNodes, compilePlan, planDigest, planJson } from '../../components/plan.js';
import { loadTopology } from '../../topology/load.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const fixtures = path.join(here, 'fixtures');
const templates = path.join(here, '..', '..', 'templates');

async function yamlFiles(dir: string): Promise<string[]> {
  const names = await fs.readdir(dir).catch(() => [] as string[]);
  // cloud-init*.yaml in templates/ are VM boot templates of the Pulumi realizer, not topologies.
  return names.filter((n) => n.endsWith('.yaml') && !n.startsWith('cloud-init')).sort();
}

const fixtureFiles = await yamlFiles(fixtures);
const templateFiles = await yamlFiles(templates);

describe('plan snapshots', () => {
  it.each(fixtureFiles)('fixture %s', async (name) => {
    const plan = compilePlan(await loadTopology(path.join(fixtures, name)));
    await expect(planJson(plan)).toMatchFileSnapshot(`__snapshots__/fixture-${name.replace(/\.yaml$/, '')}.plan.snap`);
  });
  it.each(templateFiles)('template %s', async (name) => {
    const plan = compilePlan(await loadTopology(path.join(templates, name)));
    await expect(planJson(plan)).toMatchFileSnapshot(`__snapshots__/template-${name.replace(/\.yaml$/, '')}.plan.snap`);
  });
});

describe('plan rules', () => {
  it('is byte-identical for the same input and has no absolute paths', async () => {
    const file = path.join(fixtures, 'client-resident.yaml');
    const a = planJson(compilePlan(await loadTopology(file)));
    const b = planJson(compilePlan(await loadTopology(file)));
    expect(a).toBe(b);
    expect(a).not.toContain(here);
    expect(JSON.parse(a).clouds.four.path).toBe('data/four');
  });

  it("workflow engines get durability and takeoverMs from the topology (defaults fsync and the engine's own)", async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'tc-wf-plan-'));
    const write = async (extra: string) => {
      const file = path.join(dir, `t${extra.length}.yaml`);
      await fs.writeFile(
        file,
        `name: wf\nmode: native\nclouds: { a: { provider: local }, b: { provider: local }, c: { provider: local } }\ncomponents:\n  flows: { kind: workflow, f: 1, clouds: [a, b, c]${extra} }\n`,
      );
      return compilePlan(await loadTopology(file)).components.flows?.nodes[0]?.config;
    };
    expect(await write('')).toMatchObject({ durability: 'fsync' });
    expect(await write('')).not.toHaveProperty('takeoverMs');
    expect(await write(', durability: none, takeoverMs: 500')).toMatchObject({ durability: 'none', takeoverMs: 500 });
    await expect(write(', takeoverMs: 5')).rejects.toThrow(/takeoverMs/);
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('gives every kind its roles and counts from f and the fault kind', async () => {
    const plan = compilePlan(await loadTopology(path.join(fixtures, 'mediator-all-kinds.yaml')));
    const roles = (c: string) =>
      Object.entries(
        (plan.components[c]?.nodes ?? []).reduce<Record<string, number>>((acc, n) => {
          acc[n.role] = (acc[n.role] ?? 0) + 1;
          return acc;
        }, {}),
      );
    expect(roles('ledger')).toEqual([['replica', 4]]);
    expect(roles('vault')).toEqual([['gateway', 2]]);
    expect(plan.components.vault?.buckets.map((b) => b.cloud)).toEqual(['a', 'b', 'c', 'd']);
    expect(roles('audit')).toEqual([
      ['core', 4],
      ['console', 1],
    ]);
    // Log Storage: the clouds' buckets, written through DepSky by the core replicas.
    expect(plan.components.audit?.buckets.map((b) => b.cloud)).toEqual(['a', 'b', 'c', 'd']);
    expect(roles('jobs')).toEqual([
      ['job-tracker', 1],
      ['worker', 4],
    ]);
    // crash-tolerant workflow: 2f+1 engines; the SMR they run orders their inputs, so no coordination ensemble
    expect(roles('flow')).toEqual([['engine', 3]]);
    const ids = allNodes(plan).map((n) => n.id);
    expect(new Set(ids).size).toBe(ids.length);
    // SMR replicas: one per cloud (f=1 over 4 clouds), config per the contract
    const r0 = plan.components.ledger?.nodes[0];
    expect(r0?.config).toMatchObject({ f: 1, n: 4, faults: 'byzantine', service: 'kv' });
    expect(r0?.ports).toEqual({ peer: 7100, client: 7101 });
    expect(plan.components.ledger?.links).toContainEqual({ from: 'clients', to: 'replica', port: 'client' });
  });

  it('client-resident storage has no nodes; crash SMR has 2f+1 replicas', async () => {
    const plan = compilePlan(await loadTopology(path.join(fixtures, 'client-resident.yaml')));
    expect(plan.components.vault?.nodes).toEqual([]);
    expect(plan.components.vault?.housing).toBe('none');
    expect(plan.components.vault?.keys.map((k) => k.kind)).toEqual(['storage-writer', 'client']);
    expect(plan.components.ledger?.nodes).toHaveLength(3);
  });

  it('appliance puts every replica on one host of the box; twin quad doubles the group over two boxes', async () => {
    const box = compilePlan(await loadTopology(path.join(fixtures, 'appliance.yaml')));
    expect(box.components.ledger?.housing).toBe('appliance-box');
    expect(new Set(box.components.ledger?.nodes.map((n) => `${n.cloud}/${n.domain}`))).toEqual(new Set(['box/0']));
    expect(box.components.ledger?.layouts.box).toEqual({ hosts: 1, layout: [4], method: 'appliance' });
    const twin = compilePlan(await loadTopology(path.join(fixtures, 'twin-quad.yaml')));
    const ledger = twin.components.ledger;
    expect(ledger?.housing).toBe('twin-quad');
    expect(ledger?.nodes).toHaveLength(8);
    for (const role of ['replica', 'standby']) {
      const domains = ledger?.nodes.filter((n) => n.role === role).map((n) => n.domain);
      expect(new Set(domains).size).toBe(1);
    }
    expect(ledger?.layouts.box?.layout).toEqual([4, 4]);
  });

  it('native mode spreads nodes over fault domains within the cloud hosts', async () => {
    const plan = compilePlan(await loadTopology(path.join(fixtures, 'native.yaml')));
    const ledger = plan.components.ledger;
    expect(ledger?.nodes).toHaveLength(7);
    const layout = ledger?.layouts.east;
    expect(layout?.hosts).toBeLessThanOrEqual(5);
    expect(layout?.layout.reduce((a, b) => a + b, 0)).toBe(7);
    // the domains actually used match the layout, host by host
    const perDomain = new Map<number, number>();
    for (const n of ledger?.nodes ?? []) perDomain.set(n.domain, (perDomain.get(n.domain) ?? 0) + 1);
    expect([...perDomain.values()].sort((a, b) => b - a)).toEqual(layout?.layout);
    // a cloud without hosts: one node per host
    expect(plan.components.jobs?.layouts.north?.method).toBe('even-spread');
    expect(plan.clouds.east?.construct).toBe('aws:partition-placement-group');
  });

  it('durability and the write-ahead log bound reach every replica config; a bound under 1 MiB is refused', async () => {
    const text = await fs.readFile(path.join(fixtures, 'client-resident.yaml'), 'utf8');
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'tclouds-plan-wal-'));
    try {
      const withBound = path.join(dir, 'bound.yaml');
      await fs.writeFile(withBound, text.replace('{ kind: smr, f: 1,', '{ kind: smr, walMaxBytes: 67108864, f: 1,'));
      const plan = compilePlan(await loadTopology(withBound));
      const replicas = plan.components.ledger!.nodes;
      expect(replicas.length).toBeGreaterThan(0);
      for (const n of replicas) expect(n.config).toMatchObject({ durability: 'fsync', walMaxBytes: 64 << 20 });
      const tooSmall = path.join(dir, 'small.yaml');
      await fs.writeFile(tooSmall, text.replace('{ kind: smr, f: 1,', '{ kind: smr, walMaxBytes: 4096, f: 1,'));
      await expect(loadTopology(tooSmall)).rejects.toMatchObject({ code: 'TC010' });
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  it('a digest changes when the topology changes', async () => {
    const a = compilePlan(await loadTopology(path.join(fixtures, 'client-resident.yaml')));
    const b = structuredClone(a);
    (b.components.ledger as { f: number }).f = 2;
    expect(planDigest(a)).not.toBe(planDigest(b));
  });
});

/** Loopback addresses of local nodes: unique per node, deterministic, inside 127/8, grouped by fault domain. */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { compilePlan } from '../../components/plan.js';
import type { Plan } from '../../components/plan-types.js';
import { assignAddresses, checkPortFree } from '../../stacks/local/addresses.js';
import { loadTopology } from '../../topology/load.js';
import { repo } from './helpers.js';

const fixtures = path.join(repo, 'test', 'plan', 'fixtures');

describe('local addresses', () => {
  it('gives every node of every fixture its own 127.x address, the same each time', async () => {
    for (const f of ['mediator-all-kinds.yaml', 'native.yaml', 'twin-quad.yaml', 'appliance.yaml']) {
      const plan = compilePlan(await loadTopology(path.join(fixtures, f)));
      const a = assignAddresses(plan);
      const ids = Object.values(plan.components).flatMap((c) => c.nodes.map((n) => n.id));
      expect(a.size).toBe(ids.length);
      expect(new Set(a.values()).size).toBe(ids.length);
      for (const addr of a.values()) expect(addr).toMatch(/^127\.(\d+)\.(\d+)\.(\d+)$/);
      expect([...assignAddresses(plan)]).toEqual([...a]);
      // nodes of one fault domain of one cloud share a /24 (chaos can take a whole "PM" down)
      const cloudIndex = Object.keys(plan.clouds);
      for (const c of Object.values(plan.components)) {
        for (const n of c.nodes) {
          const [, x, y] = (a.get(n.id) as string).split('.');
          expect(Number(y)).toBe(cloudIndex.indexOf(n.cloud) * 16 + (n.domain % 16));
          expect(Number(x)).toBeGreaterThan(0);
        }
      }
    }
  });

  it('refuses more clouds than the scheme can address, with TC312', async () => {
    const plan = compilePlan(await loadTopology(path.join(fixtures, 'mediator-all-kinds.yaml')));
    const many: Plan = structuredClone(plan);
    const clouds: Plan['clouds'] = {};
    for (let i = 0; i < 20; i++) clouds[`x${i}`] = { provider: 'local' };
    Object.assign(clouds, plan.clouds);
    many.clouds = clouds;
    expect(() => assignAddresses(many)).toThrow(expect.objectContaining({ code: 'TC312' }));
  });

  it('reports a taken port with TC304', async () => {
    const net = await import('node:net');
    const s = net.createServer();
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    const port = (s.address() as { port: number }).port;
    try {
      await expect(checkPortFree('127.0.0.1', port, 'node x')).rejects.toMatchObject({ code: 'TC304' });
    } finally {
      await new Promise((r) => s.close(r));
    }
    await expect(checkPortFree('127.0.0.1', port, 'node x')).resolves.toBeUndefined();
  });
});

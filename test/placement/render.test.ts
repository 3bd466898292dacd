import { describe, expect, it } from 'vitest';
import { renderTerminalChart } from '../../placement/chart.js';
import { paperFigure } from '../../placement/figures.js';
import { layoutText } from '../../placement/render.js';
import { renderSvg, ticks } from '../../placement/svg.js';
import { adviseTopology } from '../../placement/topology-advice.js';
import type { Topology } from '../../topology/schema.js';

describe('rendering', () => {
  it('round ticks cover the axis', () => {
    expect(ticks(0, 1)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(ticks(0, 100, 8)).toEqual([0, 20, 40, 60, 80, 100]);
    expect(ticks(3, 3)).toEqual([3]);
  });

  it('SVG: one polyline per series, escaped text, points inside the plot area', () => {
    const chart = paperFigure(2);
    chart.series[0]!.label = 'a < b & "c"';
    const svg = renderSvg(chart, 720, 440);
    expect(svg.match(/<polyline/g)).toHaveLength(4);
    expect(svg).toContain('a &lt; b &amp; &quot;c&quot;');
    for (const m of svg.matchAll(/points="([^"]+)"/g)) {
      for (const pair of (m[1] as string).split(' ')) {
        const [x, y] = pair.split(',').map(Number) as [number, number];
        expect(x).toBeGreaterThanOrEqual(64);
        expect(x).toBeLessThanOrEqual(696);
        expect(y).toBeGreaterThanOrEqual(48);
        expect(y).toBeLessThanOrEqual(440);
      }
    }
  });

  it('terminal chart: a legend line per series and the curve drawn from 1 down to 0', () => {
    const lines = renderTerminalChart(paperFigure(2), 40, 10);
    expect(lines.filter((l) => /^ {2}[*o+x] /.test(l))).toHaveLength(4);
    const plot = lines.slice(2, 12);
    expect(plot[0]).toMatch(/^1\.00 \|[*o+x&]/); // all curves start at 1
    expect(plot[9]).toMatch(/^0\.00 \|.*[*o+x&]$/); // and end at 0
  });

  it('long layouts are shown run-length encoded', () => {
    expect(layoutText([30, ...Array(20).fill(1)])).toBe('[30,1x20]');
    expect(layoutText([6, 1, 1, 1, 1])).toBe('[6,1,1,1,1]');
  });
});

describe('advice for a topology', () => {
  const topology = {
    name: 'demo',
    mode: 'native',
    clouds: { a: { provider: 'local', hosts: 3 }, b: { provider: 'local' }, c: { provider: 'local', hosts: 10 } },
    placement: { threat: 'byzantine-vm', keep: 'pm-majority', removal: false },
    clients: { cidrs: [] },
    components: {
      ledger: {
        kind: 'smr',
        faults: 'byzantine',
        f: 2,
        clouds: ['a', 'b', 'c'],
        colocate: 'allowed',
        service: 'kv',
        checkpointPeriod: 1000,
        batchSize: 400,
      },
    },
  } as unknown as Topology;

  it('spreads the nodes over the clouds and lays out each cloud over its hosts', () => {
    const r = adviseTopology(topology, { attacks: 1 });
    expect(r.placement).toEqual({ threat: 'byzantine-vm', keep: 'pm-majority', removal: false });
    // 7 replicas (3f+1) round-robin over a, b, c: 3, 2, 2.
    expect(r.components.map((c) => [c.cloud, c.nodes, c.hosts, c.pms])).toEqual([
      ['a', 3, 3, 3],
      ['b', 2, null, 2],
      ['c', 2, 10, 2],
    ]);
    expect(r.notes.some((n) => n.includes('c: 10 hosts for 2 nodes'))).toBe(true);
    expect(r.notes.some((n) => n.includes('without `hosts`'))).toBe(true);
    const over = adviseTopology(topology, { override: { threat: 'crash-vm' } });
    expect(over.placement.threat).toBe('crash-vm');
  });
});

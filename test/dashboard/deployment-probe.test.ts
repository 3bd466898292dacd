import { type ChildProcess, spawn } from 'node:child_process';
import { promises as fs, readFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tailNodeLog } from '../../dashboard/node-log.js';
import { buildStatus } from '../../dashboard/status-model.js';
import type { DeploymentOutputs } from '../../runtime/node-spec.js';
import { loadDeployment, parseMetrics, probeBucket, StatusPoller } from '../../stacks/deployment.js';
import { tempDir } from '../support/tmp.js';
import { model, outputs as recorded, round } from './fixtures.js';

/**
 * Real node-like processes on loopback: each child serves the recorded /health of one replica and a
 * /metrics text, on its own 127.x address. One is SIGSTOPped (a paused node), one is never started (down).
 */
const CHILD = `
const http = require('node:http');
const [host, port, body] = process.argv.slice(1, 4);
const health = JSON.parse(body); health.pid = process.pid;
http.createServer((req, res) => {
  if (req.url === '/health') { res.setHeader('content-type', 'application/json'); res.end(JSON.stringify(health)); }
  else if (req.url === '/metrics') res.end('# HELP smr_decided_total decided\\n# TYPE smr_decided_total counter\\nsmr_decided_total 41\\nsmr_latency_ms{q="0.5"} 1.5\\n');
  else { res.statusCode = 404; res.end(); }
}).listen(Number(port), host, () => process.stdout.write('ready\\n'));
`;

let dir: string;
let outputs: DeploymentOutputs;
const children: ChildProcess[] = [];
const basePort = 17_300 + (process.pid % 500) * 2;

function startChild(host: string, port: number, health: unknown, nodeId: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['-e', CHILD, host, String(port), JSON.stringify(health), nodeId], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(child);
  return new Promise((resolve, reject) => {
    child.stdout!.once('data', () => resolve(child));
    child.once('exit', (code) => reject(new Error(`child exited ${code}`)));
  });
}

beforeAll(async () => {
  dir = tempDir('tclouds-status-');
  const healthy = round('healthy').probes;
  // The recorded deployment, moved to free ports and a temp stack directory with real local buckets.
  outputs = structuredClone(recorded);
  const ledger = outputs.components.ledger!;
  ledger.nodes.forEach((n, i) => {
    n.controlPort = basePort + i;
  });
  for (const b of outputs.components.files!.buckets) {
    b.path = path.join(dir, '.tclouds', 'quickstart', 'clouds', b.cloud, b.name);
    await fs.mkdir(path.join(b.path, 'unit-1'), { recursive: true });
    await fs.writeFile(path.join(b.path, 'unit-1', 'value-1'), Buffer.alloc(1000));
    await fs.writeFile(path.join(b.path, 'unit-1', 'metadata'), Buffer.alloc(24));
    await fs.writeFile(path.join(b.path, 'unit-1', '.metadata.123.tmp'), 'partial');
  }
  await fs.rm(outputs.components.files!.buckets[3]!.path!, { recursive: true });
  await fs.mkdir(path.join(dir, '.tclouds', 'quickstart', 'nodes', 'ledger-replica-1'), { recursive: true });
  await fs.writeFile(
    path.join(dir, '.tclouds', 'quickstart', 'nodes', 'ledger-replica-1', 'node.log'),
    `${Array.from({ length: 30 }, (_, i) =>
      JSON.stringify({
        time: `2026-11-22T02:00:${String(i).padStart(2, '0')}.000Z`,
        level: 'info',
        msg: 'decided',
        instance: i,
      }),
    ).join('\n')}\nnot json\n`,
  );
  await fs.writeFile(path.join(dir, '.tclouds', 'quickstart', 'outputs.json'), JSON.stringify(outputs));
  await Promise.all(
    ledger.nodes.slice(0, 3).map((n) => startChild(n.host, n.controlPort, healthy[n.id]!.health, n.id)),
  );
}, 120_000);

afterAll(async () => {
  for (const c of children) {
    c.kill('SIGCONT');
    c.kill('SIGKILL');
  }
});

describe('status poller against real processes on loopback', () => {
  it('reads outputs from ./.tclouds when no topology file is named', async () => {
    const cwd = process.cwd();
    process.chdir(dir);
    try {
      const d = await loadDeployment(undefined);
      expect(d.outputs.stack).toBe('quickstart');
      expect(d.stackDir).toBe(path.join(dir, '.tclouds', 'quickstart'));
      expect(d.placement).toEqual(model);
    } finally {
      process.chdir(cwd);
    }
  });

  it('healthy, down, paused: each node gets the right state, and metrics are parsed', async () => {
    // A generous probe timeout: a running child must answer within it however loaded the machine is; only the
    // paused one below uses it up.
    const poller = new StatusPoller({ outputs, stackDir: dir, placement: model }, { timeoutMs: 10_000, metrics: true });
    const first = await poller.poll();
    expect(first.probes['ledger-replica-0']!.health!.pid).toBe(children[0]!.pid);
    expect(first.probes['ledger-replica-0']!.metrics).toEqual({
      smr_decided_total: 41,
      'smr_latency_ms{q="0.5"}': 1.5,
    });
    expect(first.probes['ledger-replica-3']).toEqual({ id: 'ledger-replica-3', error: 'refused' });
    // Pause replica 0 for real: its socket still accepts, but nothing answers.
    children[0]!.kill('SIGSTOP');
    while (!/^\d+ \(.*\) T/.test(readFileSync(`/proc/${children[0]!.pid}/stat`, 'utf8'))) {
      await new Promise((r) => setTimeout(r, 10)); // until the kernel shows it stopped
    }
    const second = await poller.poll();
    children[0]!.kill('SIGCONT');
    expect(second.probes['ledger-replica-0']).toMatchObject({ error: 'timeout', paused: true });
    const report = buildStatus({ outputs, placement: model, ...second, now: new Date() });
    const ledger = report.components.find((c) => c.name === 'ledger')!;
    expect(ledger.nodes.map((n) => n.state)).toEqual(['paused', 'ok', 'ok', 'down']);
    expect(ledger.quorumLost).toBe(true);
    const files = report.components.find((c) => c.name === 'files')!;
    expect(files.clouds.map((c) => [c.reachable, c.objects, c.bytes])).toEqual([
      [true, 1, 1024],
      [true, 1, 1024],
      [true, 1, 1024],
      [false, null, null],
    ]);
    expect(files).toMatchObject({ up: 3, quorumLost: false, faultsLeft: 0 });
  });

  it('tails the node log and formats JSON lines', async () => {
    const lines = await tailNodeLog(path.join(dir, '.tclouds', 'quickstart'), 'ledger-replica-1', 3);
    expect(lines).toEqual(['02:00:28 info decided instance=28', '02:00:29 info decided instance=29', 'not json']);
    expect(await tailNodeLog(dir, 'nope')).toEqual([]);
  });

  it('cloud buckets are not probed', async () => {
    expect(await probeBucket({ cloud: 'aws', name: 'b', provider: 'aws' })).toEqual({
      cloud: 'aws',
      name: 'b',
      reachable: null,
    });
  });

  it('parses Prometheus text and skips junk', () => {
    expect(parseMetrics('# c\nup 1\nx{a="b"} 2.5e3\nbad line here\nnan_metric NaN\n')).toEqual({
      up: 1,
      'x{a="b"}': 2500,
    });
  });

  it('a missing deployment is a clear error', async () => {
    await expect(loadDeployment(path.join(dir, 'nope.yaml'))).rejects.toMatchObject({ code: 'TC500' });
  });

  it('does not hang on a server that accepts and never answers', async () => {
    const server = http.createServer(() => {});
    await new Promise<void>((r) => server.listen(basePort + 10, '127.0.0.1', r));
    try {
      const poller = new StatusPoller({ outputs, stackDir: dir, placement: model }, { timeoutMs: 150 });
      const node = { ...outputs.components.ledger!.nodes[0]!, host: '127.0.0.1', controlPort: basePort + 10 };
      expect(await poller.probeNode(node)).toEqual({ id: node.id, error: 'timeout' });
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
});

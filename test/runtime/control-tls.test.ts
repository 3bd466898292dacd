/**
 * The control port over TLS, with real node processes on loopback: a node whose spec names a control TLS file
 * serves /health and /admin only over TLS, to a client that pins its certificate; a client pinning another
 * certificate is refused (TC325), a plain-HTTP request gets nothing, a wrong token is a 401, and the token is in no
 * log. A spec that would serve plain HTTP beyond loopback, or whose TLS file is not the certificate it names, stops
 * the node before it binds (TC327, TC326); a pin whose file was replaced is TC324.
 * Needs the built CLI (`npm run build`).
 */
import { spawnSync } from 'node:child_process';
import { promises as fs, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { type ControlEndpoint, controlRequest } from '../../runtime/control-client.js';
import {
  type ControlTlsMaterial,
  controlTlsFileText,
  fingerprintOf,
  generateControlTls,
  loadPin,
} from '../../runtime/control-tls.js';
import type { NodeOutput, NodeSpec } from '../../runtime/node-spec.js';
import { type Deployment, StatusPoller } from '../../stacks/deployment.js';
import { makeCluster, REPO, spawnNode } from '../smr/cluster.js';
import { rejectedTcError } from '../support/tc-error.js';

/** Between two looks at a starting node. */
const POLL_MS = 25;
const START_TIMEOUT_MS = 60_000;

/** Writes the node's control TLS file (0600) and a spec naming it; returns the spec file. */
async function withTls(spec: NodeSpec, specFile: string, tls: ControlTlsMaterial, sha256 = tls.sha256) {
  const file = path.join(path.dirname(specFile), 'control-tls.pem');
  await fs.writeFile(file, controlTlsFileText(tls), { mode: 0o600 });
  const tlsSpec: NodeSpec = { ...spec, controlTls: { file, sha256 } };
  const out = path.join(path.dirname(specFile), 'spec-tls.json');
  await fs.writeFile(out, JSON.stringify(tlsSpec));
  return out;
}

async function waitTlsHealthy(ep: ControlEndpoint): Promise<Record<string, unknown>> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    const r = await controlRequest(ep, '/health', { method: 'GET', timeoutMs: 2000 }).catch(() => null);
    if (r?.status === 200) {
      const h = JSON.parse(r.body) as Record<string, unknown>;
      if (h.status === 'ok') return h;
    }
    if (Date.now() > deadline) throw new Error(`${ep.id} did not answer /health over TLS`);
    await new Promise((res) => setTimeout(res, POLL_MS));
  }
}

function runNode(specFile: string) {
  return spawnSync(process.execPath, [path.join(REPO, 'bin', 'run.js'), 'node', 'run', '--spec', specFile], {
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1' },
  });
}

describe('control port over TLS (real node process)', () => {
  it('answers /health and /admin over TLS to a client pinning its certificate, and to nobody else', async () => {
    const c = await makeCluster({ n: 4 });
    const spec = c.specs[0]!;
    const tls = generateControlTls(spec.id);
    const p = spawnNode(await withTls(spec, c.specFiles[0]!, tls));
    let stderr = '';
    p.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString('utf8');
    });
    const exited = new Promise<number | null>((resolve) => p.once('exit', (code) => resolve(code)));
    try {
      const ep: ControlEndpoint = {
        id: spec.id,
        host: spec.host,
        controlPort: spec.controlPort,
        tls: { cert: tls.certPem, sha256: tls.sha256 },
      };
      expect(await waitTlsHealthy(ep)).toMatchObject({ id: spec.id, status: 'ok', pid: p.pid });
      const metrics = await controlRequest(ep, '/metrics', { method: 'GET', timeoutMs: 5000 });
      expect(metrics.body).toContain('tclouds_node_up{role="replica"} 1');

      // The admin API with the node's token, and a wrong token refused.
      const block = { block: ['ledger-replica-1'] };
      const ok = await controlRequest(ep, '/admin/partition', { token: c.token, body: block, timeoutMs: 5000 });
      expect(ok).toMatchObject({ status: 200 });
      expect(JSON.parse(ok.body)).toEqual({ partitionedFrom: ['ledger-replica-1'] });
      const wrong = await controlRequest(ep, '/admin/heal', { token: 'f'.repeat(64), body: {}, timeoutMs: 5000 });
      expect(wrong.status).toBe(401);

      // A client pinning another certificate (another node's, or an impostor's) is refused before any request.
      const other = generateControlTls(spec.id);
      const err = await rejectedTcError(
        controlRequest({ ...ep, tls: { cert: other.certPem, sha256: other.sha256 } }, '/admin/heal', {
          token: c.token,
          body: {},
          timeoutMs: 5000,
        }),
      );
      expect(err.code).toBe('TC325');
      expect(err.message).toContain(spec.id);
      expect(err.hint).toContain('pinned');
      // The right certificate under a wrong fingerprint is refused too: the pin is the fingerprint, not the CA.
      const misnamed = await rejectedTcError(
        controlRequest({ ...ep, tls: { cert: tls.certPem, sha256: other.sha256 } }, '/health', {
          method: 'GET',
          timeoutMs: 5000,
        }),
      );
      expect(misnamed.code).toBe('TC325');

      // Plain HTTP to the TLS port gets no answer: the connection is dropped.
      const plain = await controlRequest(
        { id: spec.id, host: spec.host, controlPort: spec.controlPort },
        '/admin/heal',
        { token: c.token, body: {}, timeoutMs: 5000 },
      ).then(
        (r) => `answered HTTP ${r.status}`,
        (e: NodeJS.ErrnoException) => e.code ?? e.message,
      );
      expect(plain).not.toMatch(/^answered/);

      // `tclouds status` probes pin the certificate the outputs name (its file in the stack directory).
      const certFile = path.join(c.stackDir, 'keys', `${spec.id}.control.crt`);
      await fs.writeFile(certFile, tls.certPem);
      const node: NodeOutput = { ...spec, cloud: spec.cloud, controlTls: { certFile, sha256: tls.sha256 } };
      const dep: Deployment = {
        outputs: { version: 1, stack: c.stack, target: 'aws', components: {} } as unknown as Deployment['outputs'],
        stackDir: c.stackDir,
        placement: { threat: 'byzantine-vm', keep: 'pm-majority', removal: false },
      };
      const probe = await new StatusPoller(dep, { timeoutMs: 5000 }).probeNode(node);
      expect(probe.health).toMatchObject({ id: spec.id, status: 'ok' });
      const impostor = { ...node, controlTls: { certFile, sha256: other.sha256 } };
      expect((await new StatusPoller(dep, { timeoutMs: 5000 }).probeNode(impostor)).error).toMatch(/^TC324 /);

      // Still partitioned: neither refused request changed anything.
      const h = JSON.parse((await controlRequest(ep, '/health', { method: 'GET', timeoutMs: 5000 })).body);
      expect(h.partitionedFrom).toEqual(['ledger-replica-1']);
    } finally {
      p.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
    const log = readFileSync(path.join(spec.dataDir, '..', 'node.log'), 'utf8');
    expect(log).toContain('admin request refused');
    expect(log).toContain('"controlTls":true');
    expect(log).not.toContain(c.token);
    expect(stderr).not.toContain(c.token);
  });

  it('a TLS client against a plain-HTTP control port is TC325: it never sends the token in clear', async () => {
    const c = await makeCluster({ n: 4 });
    const spec = c.specs[0]!;
    const p = spawnNode(c.specFiles[0]!);
    const exited = new Promise<number | null>((resolve) => p.once('exit', (code) => resolve(code)));
    try {
      await waitTlsHealthy({ id: spec.id, host: spec.host, controlPort: spec.controlPort });
      const tls = generateControlTls(spec.id);
      const err = await rejectedTcError(
        controlRequest(
          {
            id: spec.id,
            host: spec.host,
            controlPort: spec.controlPort,
            tls: { cert: tls.certPem, sha256: tls.sha256 },
          },
          '/admin/heal',
          { token: c.token, body: {}, timeoutMs: 5000 },
        ),
      );
      expect(err.code).toBe('TC325');
      expect(err.message).toContain('does not speak TLS');
    } finally {
      p.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
    expect(readFileSync(path.join(spec.dataDir, '..', 'node.log'), 'utf8')).not.toContain('admin request refused');
  });

  it('refuses to start: plain HTTP beyond loopback (TC327), a TLS file that is not the named certificate (TC326)', async () => {
    const c = await makeCluster({ n: 4 });
    const spec = c.specs[0]!;
    const dir = path.dirname(c.specFiles[0]!);
    const open = path.join(dir, 'open.json');
    await fs.writeFile(open, JSON.stringify({ ...spec, host: '192.0.2.10' }));
    const r1 = runNode(open);
    expect(r1.status).toBe(3);
    expect(r1.stderr).toMatch(/TC327 node ledger-replica-0: the control port would serve plain HTTP on 192\.0\.2\.10/);
    const tls = generateControlTls(spec.id);
    const other = generateControlTls(spec.id);
    const r2 = runNode(await withTls(spec, c.specFiles[0]!, tls, other.sha256));
    expect(r2.status).toBe(3);
    expect(r2.stderr).toMatch(/TC326 node ledger-replica-0: control TLS .* holds certificate/);
    expect(r2.stderr).not.toMatch(/at .*\.js:\d+/); // no stack trace
  });

  it('a token for a non-loopback node without a pinned certificate is TC327: refused before any connection', async () => {
    const err = await rejectedTcError(
      controlRequest({ id: 'ledger-replica-0', host: '192.0.2.10', controlPort: 7199 }, '/admin/heal', {
        token: 'f'.repeat(64),
        body: {},
        timeoutMs: 5000,
      }),
    );
    expect(err.code).toBe('TC327');
    expect(err.message).toContain('ledger-replica-0');
  });

  it('a pinned certificate that is missing or replaced in the stack directory is TC324, naming the node', async () => {
    const c = await makeCluster({ n: 4 });
    const tls = generateControlTls('ledger-replica-0');
    const certFile = path.join(c.stackDir, 'keys', 'ledger-replica-0.control.crt');
    const missing = await rejectedTcError(loadPin('ledger-replica-0', { certFile, sha256: tls.sha256 }));
    expect(missing.code).toBe('TC324');
    expect(missing.message).toContain('ledger-replica-0');
    expect(missing.hint).toContain('tclouds deploy');
    await fs.writeFile(certFile, generateControlTls('ledger-replica-0').certPem);
    const replaced = await rejectedTcError(loadPin('ledger-replica-0', { certFile, sha256: tls.sha256 }));
    expect(replaced.code).toBe('TC324');
    await fs.writeFile(certFile, tls.certPem);
    expect(await loadPin('ledger-replica-0', { certFile, sha256: tls.sha256 })).toEqual({
      cert: tls.certPem,
      sha256: fingerprintOf(tls.certPem),
    });
  });
});

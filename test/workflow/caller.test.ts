/**
 * The caller's two halves that need no deployment: who calls and when another engine takes over (pure), and one
 * HTTP call against real loopback servers (the key it sends, and how each failure becomes an ordered outcome).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callerOf, shouldTakeOver } from '../../components/workflow/caller-choice.js';
import { makeCall } from '../../components/workflow/http-call.js';
import { MAX_RESPONSE_BYTES } from '../../components/workflow/limits.js';

describe('caller choice', () => {
  it('spreads calls over the engines and moves a call one engine on per takeover', () => {
    const ids = Array.from({ length: 300 }, (_, i) => `flow-${i}/root/Call#1.1`);
    const counts = [0, 0, 0];
    for (const id of ids) counts[callerOf(id, 0, 3)]!++;
    for (const c of counts) expect(c).toBeGreaterThan(60);
    for (const id of ids.slice(0, 20)) {
      expect(callerOf(id, 1, 3)).toBe((callerOf(id, 0, 3) + 1) % 3);
      expect(callerOf(id, 3, 3)).toBe(callerOf(id, 0, 3));
    }
  });

  it('lets the next engine ask first, the one after it later, and never the caller itself', () => {
    const id = 'flow-1/root/Call#1.1';
    const caller = callerOf(id, 0, 3);
    const next = (caller + 1) % 3;
    const after = (caller + 2) % 3;
    expect(shouldTakeOver(id, 0, 3, caller, 1e9, 2000)).toBe(false);
    expect(shouldTakeOver(id, 0, 3, next, 1999, 2000)).toBe(false);
    expect(shouldTakeOver(id, 0, 3, next, 2000, 2000)).toBe(true);
    expect(shouldTakeOver(id, 0, 3, after, 2000, 2000)).toBe(false);
    expect(shouldTakeOver(id, 0, 3, after, 4000, 2000)).toBe(true);
  });
});

describe('one HTTP call', () => {
  let server: Server;
  let base = '';
  const seen: { key?: string; method?: string; body: string }[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        seen.push({ key: req.headers['idempotency-key'] as string, method: req.method, body });
        if (req.url === '/slow') return; // never answers: the call times out
        if (req.url === '/big') {
          res.end('x'.repeat(MAX_RESPONSE_BYTES + 1));
          return;
        }
        res.writeHead(req.url === '/missing' ? 404 : 200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ echo: body }));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  it('sends the call id as Idempotency-Key and returns status, headers and body', async () => {
    const r = await makeCall(
      'e-1/root/A#1.1',
      { method: 'POST', url: `${base}/ok`, headers: {}, body: '{"a":1}' },
      5000,
    );
    expect(r).toMatchObject({ ok: true, status: 200, headers: { 'content-type': 'application/json' } });
    expect(JSON.parse((r as { body: string }).body)).toEqual({ echo: '{"a":1}' });
    expect(seen.at(-1)).toEqual({ key: 'e-1/root/A#1.1', method: 'POST', body: '{"a":1}' });
    expect(await makeCall('k', { method: 'GET', url: `${base}/missing`, headers: {} }, 5000)).toMatchObject({
      ok: true,
      status: 404,
    });
  });

  it('turns a timeout, a refused connection and an oversized answer into outcomes', async () => {
    expect(await makeCall('k', { method: 'GET', url: `${base}/slow`, headers: {} }, 200)).toMatchObject({
      ok: false,
      error: 'States.Timeout',
    });
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    expect(await makeCall('k', { method: 'GET', url: `http://127.0.0.1:${port}/`, headers: {} }, 2000)).toMatchObject({
      ok: false,
      error: 'States.Http.Socket',
    });
    expect(await makeCall('k', { method: 'GET', url: `${base}/big`, headers: {} }, 5000)).toMatchObject({
      ok: false,
      error: 'States.TaskFailed',
    });
  });
});

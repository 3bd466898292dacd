/**
 * Control HTTP server of every node (the node host's, whatever its role):
 *   GET  /health             NodeHealth JSON (runtime/role.ts)
 *   GET  /metrics            Prometheus text
 *   POST /admin/partition    {"block":[peer ids]}  refuse traffic from/to these peers (both directions)
 *   POST /admin/heal         clear all partitions
 *   POST /admin/<other>      role-specific (RoleInstance.admin), e.g. SMR's test-only /admin/fault
 * Every POST needs `Authorization: Bearer <token>` (the stack's admin token, compared in constant time).
 * Bodies are limited to 64 KiB; anything malformed is a 4xx JSON error, never a crash.
 */
import { timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { Logger } from './role.js';

export interface ControlHandlers {
  health(): unknown;
  metrics(): string;
  partition(block: string[]): void;
  heal(): void;
  admin(action: string, body: unknown): Promise<unknown>;
}

export async function startControlServer(
  host: string,
  port: number,
  token: string,
  h: ControlHandlers,
  log: Logger,
): Promise<http.Server> {
  const expected = Buffer.from(`Bearer ${token}`);
  const server = http.createServer((req, res) => {
    const send = (status: number, body: unknown, type = 'application/json') => {
      const text = type === 'application/json' ? `${JSON.stringify(body)}\n` : String(body);
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
      res.end(text);
    };
    const url = (req.url ?? '/').split('?')[0];
    if (req.method === 'GET' && url === '/health') return send(200, h.health());
    if (req.method === 'GET' && url === '/metrics') return send(200, h.metrics(), 'text/plain; version=0.0.4');
    if (req.method !== 'POST' || !url?.startsWith('/admin/')) return send(404, { error: 'not found' });
    const auth = Buffer.from(req.headers.authorization ?? '');
    if (auth.length !== expected.length || !timingSafeEqual(auth, expected)) {
      log.warn('admin request refused: bad or missing bearer token', { path: url });
      return send(401, { error: 'unauthorized' });
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > 64 * 1024) {
        send(413, { error: 'body too large' });
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      if (res.writableEnded) return;
      let body: unknown = {};
      try {
        const text = Buffer.concat(chunks).toString('utf8');
        if (text.trim()) body = JSON.parse(text);
      } catch {
        return send(400, { error: 'body is not JSON' });
      }
      const action = url.slice('/admin/'.length);
      if (action === 'partition') {
        const block = (body as { block?: unknown }).block;
        if (!Array.isArray(block) || !block.every((b) => typeof b === 'string')) {
          return send(400, { error: 'expected {"block":[peer ids]}' });
        }
        h.partition(block as string[]);
        log.info('partitioned', { block });
        return send(200, { partitionedFrom: block });
      }
      if (action === 'heal') {
        h.heal();
        log.info('partitions healed');
        return send(200, { partitionedFrom: [] });
      }
      h.admin(action, body).then(
        (r) => (r === undefined ? send(404, { error: `unknown admin action ${action}` }) : send(200, r)),
        (e) => send(400, { error: String((e as Error).message ?? e) }),
      );
    });
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return server;
}

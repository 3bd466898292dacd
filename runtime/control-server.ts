/**
 * Control HTTP server of every node (the node host's, whatever its role):
 *   GET  /health             NodeHealth JSON (runtime/role.ts)
 *   GET  /metrics            Prometheus text
 *   POST /admin/partition    {"block":[peer ids]}  refuse traffic from/to these peers (both directions)
 *   POST /admin/heal         clear all partitions
 *   POST /admin/restart      clean stop, then exit for the supervisor (systemd on a VM) to start the node again with
 *                            the spec it reads at start: how a rolling update restarts one node (202 {"restarting"})
 *   POST /admin/<other>      role-specific (RoleInstance.admin), e.g. SMR's test-only /admin/fault
 * Every POST needs `Authorization: Bearer <token>` (the node's admin token, compared in constant time).
 * Given a TLS key and certificate (cloud nodes: runtime/control-tls.ts) the server speaks only HTTPS (TLS 1.3), so
 * the token never crosses a network in clear; without them it is plain HTTP, which the node host allows on a
 * loopback address only (local target).
 * Bodies are limited to 64 KiB and checked against a schema before anything acts on them (a role's own actions
 * check theirs); anything malformed is a 400 JSON error naming the field, never a crash.
 */
import { timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import { z } from 'zod';
import type { Logger } from './role.js';

/** Largest admin request body. */
const MAX_ADMIN_BODY = 64 * 1024;

const PartitionBody = z.strictObject({ block: z.array(z.string().min(1).max(200)).max(10_000) });
const HealBody = z.union([z.strictObject({}), z.null()]);

/** The first problem of a body that does not match its schema, as `field: reason`. */
function bodyProblem(error: z.ZodError): string {
  const i = error.issues[0]!;
  return `${i.path.length > 0 ? i.path.join('.') : 'body'}: ${i.message}`;
}

export interface ControlHandlers {
  health(): unknown;
  metrics(): string;
  partition(block: string[]): void;
  heal(): void;
  admin(action: string, body: unknown): Promise<unknown>;
  /** Asked once the 202 answer to POST /admin/restart is sent. */
  restart(): void;
}

export async function startControlServer(
  host: string,
  port: number,
  token: string,
  h: ControlHandlers,
  log: Logger,
  tls?: { key: string; cert: string },
): Promise<http.Server> {
  const expected = Buffer.from(`Bearer ${token}`);
  const handler: http.RequestListener = (req, res) => {
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
      if (size > MAX_ADMIN_BODY) {
        send(413, { error: 'body too large' });
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      if (res.writableEnded) return;
      let body: unknown = null;
      try {
        const text = Buffer.concat(chunks).toString('utf8');
        if (text.trim()) body = JSON.parse(text);
      } catch {
        return send(400, { error: 'body is not JSON' });
      }
      const action = url.slice('/admin/'.length);
      if (action === 'partition') {
        const parsed = PartitionBody.safeParse(body);
        if (!parsed.success) return send(400, { error: `expected {"block":[peer ids]}: ${bodyProblem(parsed.error)}` });
        h.partition(parsed.data.block);
        log.info('partitioned', { block: parsed.data.block });
        return send(200, { partitionedFrom: parsed.data.block });
      }
      if (action === 'heal') {
        const parsed = HealBody.safeParse(body);
        if (!parsed.success) return send(400, { error: `expected {} or no body: ${bodyProblem(parsed.error)}` });
        h.heal();
        log.info('partitions healed');
        return send(200, { partitionedFrom: [] });
      }
      if (action === 'restart') {
        if (!HealBody.safeParse(body).success) return send(400, { error: 'expected {} or no body' });
        log.info('restart asked through the control API');
        res.once('finish', () => h.restart());
        return send(202, { restarting: true, pid: process.pid });
      }
      // A role's own action: the role checks its body; whatever it throws, synchronously or not, is a 400.
      Promise.resolve()
        .then(() => h.admin(action, body))
        .then(
          (r) => (r === undefined ? send(404, { error: `unknown admin action ${action}` }) : send(200, r)),
          (e) => send(400, { error: String((e as Error)?.message ?? e) }),
        );
    });
  };
  const server: http.Server = tls
    ? https.createServer({ key: tls.key, cert: tls.cert, minVersion: 'TLSv1.3' }, handler)
    : http.createServer(handler);
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

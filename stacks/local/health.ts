/** GET /health of a node's control server (runtime/role.ts, NodeHealth), with a short timeout. */
import http from 'node:http';

export interface HealthProbe {
  ok: boolean;
  status?: string;
  body?: Record<string, unknown>;
  error?: string;
}

export function probeHealth(host: string, port: number, timeoutMs = 1000): Promise<HealthProbe> {
  return new Promise((resolve) => {
    const req = http.get({ host, port, path: '/health', timeout: timeoutMs, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        let body: Record<string, unknown> | undefined;
        try {
          body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
        } catch {}
        const status = typeof body?.status === 'string' ? body.status : undefined;
        resolve({
          ok: res.statusCode === 200 && (status === undefined || status === 'ok' || status === 'degraded'),
          ...(status === undefined ? {} : { status }),
          ...(body === undefined ? {} : { body }),
        });
      });
      res.on('error', (e) => resolve({ ok: false, error: e.message }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (e) => resolve({ ok: false, error: e.message }));
  });
}

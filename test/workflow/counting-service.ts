/**
 * The test web service of the workflow suites, on loopback: it echoes the request body, counts how often each
 * Idempotency-Key arrives, and performs its effect (a counter per key) once per key, answering a repeated key from
 * its cache, as a service that honours the key does. It can hold responses (to kill the caller mid-call) and tells
 * who waits when a request arrives.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export class CountingService {
  readonly arrivals = new Map<string, number>();
  readonly effects = new Map<string, number>();
  private readonly cache = new Map<string, string>();
  private server: Server | undefined;
  private waiters: (() => void)[] = [];
  /** While set, responses wait until released (the request has arrived and is counted). */
  hold = false;
  private held: (() => void)[] = [];
  url = '';

  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      void body(req).then((text) => {
        const key = String(req.headers['idempotency-key'] ?? '');
        this.arrivals.set(key, (this.arrivals.get(key) ?? 0) + 1);
        const reply = () => {
          let cached = this.cache.get(key);
          if (cached === undefined) {
            this.effects.set(key, (this.effects.get(key) ?? 0) + 1);
            cached = text;
            if (key) this.cache.set(key, cached);
          }
          res.writeHead(200, { 'content-type': req.headers['content-type'] ?? 'text/plain' });
          res.end(cached);
        };
        if (this.hold) this.held.push(reply);
        else reply();
        for (const w of this.waiters.splice(0)) w();
      });
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/echo`;
    return this.url;
  }

  /** Resolves once at least `count` requests have arrived in all. */
  async arrived(count: number, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.total() < count) {
      if (Date.now() > deadline) throw new Error(`only ${this.total()} of ${count} requests arrived`);
      await new Promise<void>((r) => {
        // Woken by the next arrival; the timer only ends the wait at the deadline.
        const t = setTimeout(r, Math.max(0, deadline - Date.now()));
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  total(): number {
    let n = 0;
    for (const v of this.arrivals.values()) n += v;
    return n;
  }

  release(): void {
    this.hold = false;
    for (const r of this.held.splice(0)) r();
  }

  async stop(): Promise<void> {
    this.release();
    this.server?.closeAllConnections();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}

function body(req: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
  });
}

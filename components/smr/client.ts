/**
 * SMR client (TIA): sends each request to every replica with a MAC vector (one HMAC per replica, keys
 * derived pairwise from X25519), and votes on the replies with the pure ReplyCollector:
 * ordered -> f+1 identical replies; read-only -> ceil((n+f+1)/2) identical replies, reissued ordered when
 * they conflict or time out. Requests are retransmitted to all replicas until a quorum answers or the
 * invoke times out. One client identity (key) can run many sessions (logical clients `id/session`), each
 * with its own sequence numbers: that is how a benchmark runs hundreds of closed-loop clients.
 */
import { createHmac, type KeyObject, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { pairKey, secretKey } from '../../runtime/channel-keys.js';
import { NodeCode } from '../../runtime/codes.js';
import { ExitCode, TcError } from '../../runtime/errors.js';
import { readPrivateKey } from '../../runtime/keys.js';
import { nullLogger } from '../../runtime/logger.js';
import { MetricsRegistry } from '../../runtime/metrics.js';
import type { DeploymentOutputs } from '../../runtime/node-spec.js';
import type { Logger } from '../../runtime/role.js';
import { Transport } from '../../runtime/transport.js';
import { attachAuth, encodeRequestBody } from './protocol/codec.js';
import { ReplyCollector } from './protocol/collector.js';
import { decodeReply, encodeClientRequest } from './wire.js';

export interface ReplicaEndpoint {
  id: string;
  index: number;
  host: string;
  /** Client port. */
  port: number;
  publicKey: string;
}

export interface SmrClientOptions {
  stack: string;
  clientId: string;
  privateKey: KeyObject;
  replicas: ReplicaEndpoint[];
  f: number;
  /** Per-invoke deadline (ms). Default 40 s, as BFT-SMaRt's ServiceProxy. */
  timeoutMs?: number;
  /** Retransmit an unanswered request after this long (ms). */
  retransmitMs?: number;
  /** Read-only requests fall back to ordered after this long (ms). */
  readOnlyTimeoutMs?: number;
  log?: Logger;
}

interface Inflight {
  collector: ReplyCollector;
  resolve(v: Uint8Array): void;
  reject(e: Error): void;
  readOnly: boolean;
  /** The request as sent (retransmitted unchanged). */
  frame: Uint8Array;
  sentAt: number;
  deadline: number;
  deadlineMs: number;
}

export class SmrClient {
  private readonly t: Transport;
  private readonly keys: KeyObject[];
  private sweep: NodeJS.Timeout | undefined;
  private readonly byId: Map<string, number>;
  readonly n: number;
  readonly f: number;
  private readonly inflight = new Map<string, Inflight>();
  private sessions = 0;
  private readonly prefix = randomBytes(6).toString('hex');

  constructor(readonly opts: SmrClientOptions) {
    const replicas = [...opts.replicas].sort((a, b) => a.index - b.index);
    this.n = replicas.length;
    this.f = opts.f;
    this.byId = new Map(replicas.map((r) => [r.id, r.index]));
    // KeyObjects made once: a MAC vector is n createHmac calls per request.
    this.keys = replicas.map((r) =>
      secretKey(pairKey(opts.privateKey, r.publicKey, 'vector', opts.stack, opts.clientId, r.id)),
    );
    this.t = new Transport({
      name: 'smr-client',
      stack: opts.stack,
      selfId: opts.clientId,
      privateKey: opts.privateKey,
      dial: replicas.map((r) => ({ id: r.id, host: r.host, port: r.port, publicKey: r.publicKey })),
      metrics: new MetricsRegistry(),
      log: opts.log ?? nullLogger,
      onMessage: (from, buf) => this.onReply(from, buf),
    });
  }

  /** Connect; resolves once at least `min` replicas (default n-f) are connected, or after waitMs. */
  async connect(min = this.n - this.f, waitMs = 5000): Promise<number> {
    await this.t.start();
    const deadline = Date.now() + waitMs;
    while (this.t.connectedIds().length < min && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    return this.t.connectedIds().length;
  }

  connectedReplicas(): string[] {
    return this.t.connectedIds();
  }

  session(name?: string): SmrSession {
    return new SmrSession(this, `${this.opts.clientId}/${name ?? `${this.prefix}-${this.sessions++}`}`);
  }

  async close(): Promise<void> {
    for (const i of this.inflight.values()) i.reject(new Error('client closed'));
    this.inflight.clear();
    clearInterval(this.sweep);
    this.sweep = undefined;
    await this.t.close();
  }

  private onReply(from: string, buf: Buffer): void {
    const idx = this.byId.get(from);
    const r = decodeReply(buf);
    if (idx === undefined || !r) return;
    const key = `${r.client}|${r.seq}|${r.readOnly ? 1 : 0}`;
    const inf = this.inflight.get(key);
    if (!inf) return;
    const st = inf.collector.add(idx, r.seq, new Uint8Array(r.result));
    if (st.kind === 'done') {
      this.inflight.delete(key);
      inf.resolve(st.result);
    } else if (st.kind === 'conflict') {
      this.inflight.delete(key);
      inf.reject(
        new TcError(
          NodeCode.smrConflict,
          `replies conflict: ${inf.collector.received} replies without ${inf.collector.needed} identical`,
          {
            exit: ExitCode.unavailable,
          },
        ),
      );
    }
  }

  /** @internal one attempt: send, retransmit, resolve on quorum. */
  attempt(client: string, seq: number, op: Uint8Array, readOnly: boolean, deadlineMs: number): Promise<Uint8Array> {
    const body = encodeRequestBody(client, seq, readOnly, op);
    const frame = encodeClientRequest(
      attachAuth(
        body,
        this.keys.map((k) => createHmac('sha256', k).update(body).digest()),
      ),
    );
    const key = `${client}|${seq}|${readOnly ? 1 : 0}`;
    return new Promise<Uint8Array>((resolve, reject) => {
      const now = performance.now();
      this.inflight.set(key, {
        collector: new ReplyCollector(this.n, this.f, seq, readOnly),
        readOnly,
        frame,
        sentAt: now,
        deadline: now + deadlineMs,
        deadlineMs,
        resolve,
        reject,
      });
      this.sendAll(frame);
      this.startSweep();
    });
  }

  private sendAll(frame: Uint8Array): void {
    for (const id of this.byId.keys()) this.t.send(id, frame);
  }

  /**
   * One timer for all in-flight requests (not two per request: with hundreds of closed-loop sessions, creating
   * and clearing timers per request was a visible share of the client's CPU). It retransmits requests
   * unanswered for `retransmitMs` and fails those past their deadline; it stops when nothing is in flight.
   */
  private startSweep(): void {
    if (this.sweep) return;
    const retransmitMs = this.opts.retransmitMs ?? 1000;
    const period = Math.max(5, Math.min(50, retransmitMs / 4));
    this.sweep = setInterval(() => {
      const now = performance.now();
      for (const [key, inf] of this.inflight) {
        if (now >= inf.deadline) {
          this.inflight.delete(key);
          inf.reject(
            new TcError(NodeCode.smrUnavailable, `no quorum of identical replies within ${inf.deadlineMs} ms`, {
              exit: ExitCode.unavailable,
              hint: `${this.t.connectedIds().length}/${this.n} replicas connected; check \`tclouds status\``,
            }),
          );
        } else if (now - inf.sentAt >= retransmitMs) {
          inf.sentAt = now;
          this.sendAll(inf.frame);
        }
      }
      if (this.inflight.size === 0) {
        clearInterval(this.sweep);
        this.sweep = undefined;
      }
    }, period);
  }
}

export class SmrSession {
  private seq = 0;
  constructor(
    private readonly c: SmrClient,
    readonly id: string,
  ) {}

  async invoke(op: Uint8Array, opts: { readOnly?: boolean } = {}): Promise<{ result: Uint8Array; ordered: boolean }> {
    const timeout = this.c.opts.timeoutMs ?? 40_000;
    if (opts.readOnly) {
      try {
        // Unordered: current seq (not consumed), larger quorum; any failure falls back to an ordered request.
        const result = await this.c.attempt(this.id, this.seq, op, true, this.c.opts.readOnlyTimeoutMs ?? 1000);
        return { result, ordered: false };
      } catch {
        /* reissued ordered below */
      }
    }
    this.seq++;
    const result = await this.c.attempt(this.id, this.seq, op, false, timeout);
    return { result, ordered: true };
  }
}

/** Builds a client for an SMR component from a deployment's outputs.json. */
export async function clientFromOutputs(
  stackDir: string,
  component: string,
  opts: Partial<SmrClientOptions> = {},
): Promise<SmrClient> {
  const file = path.join(stackDir, 'outputs.json');
  let outputs: DeploymentOutputs;
  try {
    outputs = JSON.parse(await fs.readFile(file, 'utf8')) as DeploymentOutputs;
  } catch (e) {
    throw new TcError(
      NodeCode.smrNoDeployment,
      `no deployment outputs at ${file} (${(e as NodeJS.ErrnoException).code ?? 'unreadable'})`,
      {
        exit: ExitCode.notFound,
        hint: 'deploy first: `tclouds deploy --target local`',
      },
    );
  }
  const comp = outputs.components?.[component];
  if (!comp) {
    const known = Object.keys(outputs.components ?? {}).join(', ') || 'none';
    throw new TcError(
      NodeCode.smrNoDeployment,
      `the deployment has no component "${component}" (components: ${known})`,
      {
        exit: ExitCode.notFound,
      },
    );
  }
  if (comp.kind !== 'smr') {
    throw new TcError(NodeCode.smrNoDeployment, `component "${component}" is a ${comp.kind} component, not smr`, {
      exit: ExitCode.invalid,
    });
  }
  const keyEntry = Object.entries(comp.clientKeys ?? {})[0];
  if (!keyEntry) {
    throw new TcError(NodeCode.smrNoClientKey, `no client key for "${component}" is usable from this machine`, {
      exit: ExitCode.notFound,
      hint: 'client keys are written by `tclouds deploy` under .tclouds/<stack>/keys/',
    });
  }
  const [clientId, { keyFile }] = keyEntry;
  const privateKey = await readPrivateKey(path.resolve(stackDir, keyFile));
  const replicas = comp.nodes
    .filter((nd) => nd.role === 'replica')
    .map((nd) => ({ id: nd.id, index: nd.index, host: nd.host, port: nd.ports.client!, publicKey: nd.publicKey }));
  const f = comp.client.faults === 'crash' ? 0 : Number(comp.client.f ?? 1);
  return new SmrClient({ stack: outputs.stack, clientId, privateKey, replicas, f, ...opts });
}

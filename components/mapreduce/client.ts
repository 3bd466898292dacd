/**
 * The MapReduce client: talks to the job tracker of a deployed component over the authenticated transport with the
 * component's client key (runtime/transport.ts), one request and one reply at a time per request number.
 *
 * With a replicated tracker (`jobTracker: replicated`, 3f+1 replicas) every request goes to every replica and an
 * answer is accepted only once f+1 replicas gave it identically (the body, and the payload's digest): no single
 * replica can make the client believe a job record, an output copy or an error. Replicas that are a step apart
 * may answer differently for a moment; the request is then asked again (QUORUM_RETRIES).
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import { ExitCode, type ExitCodeValue, TcError } from '../../kernel/errors.js';
import { readPrivateKey } from '../../runtime/keys.js';
import { readOutputsFile } from '../../runtime/outputs-file.js';
import type { Logger, Metrics } from '../../runtime/role.js';
import { Transport } from '../../runtime/transport.js';
import { MapReduceCode } from './codes.js';
import { CLIENT_REQUEST_TIMEOUT_MS, MAX_CHUNK_BYTES } from './limits.js';
import { type ClientRequestMsg, decode, encode, TrackerReply, type TrackerReplyMsg } from './wire.js';

const quietLog: Logger = { debug() {}, info() {}, warn() {}, error() {}, child: () => quietLog };
const noMetrics: Metrics = {
  counter: () => ({ inc() {} }),
  gauge: () => ({ set() {} }),
  histogram: () => ({ observe() {} }),
};

type Pending = {
  resolve: (r: { body: unknown; payload: Buffer }) => void;
  reject: (e: Error) => void;
  /** Replies so far, by canonical answer; and the trackers the request went to. */
  answers: Map<string, { n: number; reply: TrackerReplyMsg; payload: Buffer }>;
  replied: Set<string>;
  sentTo: number;
};
/** A replicated tracker's replicas gave no f+1 identical answers yet: ask again (a replica may be a step behind). */
const QUORUM_RETRIES = 30;
const QUORUM_RETRY_MS = 150;
/** A request without its number (the client numbers it). */
type Request = ClientRequestMsg extends infer R ? (R extends { req: number } ? Omit<R, 'req'> : never) : never;

export class MapReduceClient {
  private readonly pending = new Map<number, Pending>();
  private next = 1;
  private connected: Promise<void>;
  private onConnected: () => void = () => {};

  private readonly up = new Set<string>();

  /**
   * @param trackerIds the job tracker, or the 3f+1 replicas of a replicated one
   * @param quorum identical answers needed: 1, or f+1 for a replicated tracker
   */
  constructor(
    private readonly transport: Transport,
    readonly trackerIds: string[],
    readonly component: string,
    readonly quorum = 1,
  ) {
    this.connected = new Promise((resolve) => {
      this.onConnected = resolve;
    });
  }

  get replicated(): boolean {
    return this.trackerIds.length > 1;
  }

  /** Called by the transport: requests wait for all replicas but f (all of them, for a single tracker). */
  connectedNow(id: string): void {
    this.up.add(id);
    const f = this.quorum - 1;
    if (this.up.size >= this.trackerIds.length - f) this.onConnected();
  }

  received(from: string, buf: Buffer): void {
    const m = decode(buf, TrackerReply);
    if (!m) return;
    const p = this.pending.get(m.header.req);
    if (!p || p.replied.has(from)) return;
    p.replied.add(from);
    const { req: _, ...answer } = m.header;
    const key = `${JSON.stringify(answer)}\n${createHash('sha256').update(m.payload).digest('hex')}`;
    const a = p.answers.get(key) ?? { n: 0, reply: m.header, payload: m.payload };
    a.n++;
    p.answers.set(key, a);
    if (a.n >= this.quorum) {
      this.pending.delete(m.header.req);
      if (a.reply.ok) p.resolve({ body: a.reply.body, payload: a.payload });
      else {
        const e = a.reply.error ?? { code: MapReduceCode.unavailable, message: 'the job tracker refused the request' };
        p.reject(new TcError(e.code, e.message, { exit: exitOf(e.code), ...(e.hint ? { hint: e.hint } : {}) }));
      }
    } else if (p.replied.size >= p.sentTo) {
      this.pending.delete(m.header.req);
      p.reject(new NoQuorum());
    }
  }

  async request(
    msg: Request,
    payload?: Uint8Array,
    timeoutMs = CLIENT_REQUEST_TIMEOUT_MS,
  ): Promise<{ body: unknown; payload: Buffer }> {
    await this.waitConnected(timeoutMs);
    for (let i = 0; ; i++) {
      try {
        return await this.once(msg, payload, timeoutMs);
      } catch (e) {
        if (!(e instanceof NoQuorum)) throw e;
        if (i >= QUORUM_RETRIES && !this.replicated)
          throw unavailable(`cannot reach the job tracker of "${this.component}" (${this.trackerIds.join(', ')})`);
        if (i >= QUORUM_RETRIES) {
          throw new TcError(
            MapReduceCode.trackerDisagree,
            `no ${this.quorum} of the ${this.trackerIds.length} job tracker replicas of "${this.component}" gave the same answer`,
            {
              exit: ExitCode.unavailable,
              hint: 'more than f tracker replicas are faulty or unreachable; see `tclouds status`',
            },
          );
        }
        await new Promise((r) => setTimeout(r, QUORUM_RETRY_MS));
      }
    }
  }

  private once(msg: Request, payload: Uint8Array | undefined, timeoutMs: number) {
    const req = this.next++;
    return new Promise<{ body: unknown; payload: Buffer }>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(req);
        reject(unavailable(`the job tracker of "${this.component}" did not answer within ${timeoutMs} ms`));
      }, timeoutMs);
      const frame = encode({ ...msg, req }, payload);
      const sentTo = this.trackerIds.filter((id) => this.transport.send(id, frame)).length;
      this.pending.set(req, {
        resolve: (r) => {
          clearTimeout(timer);
          resolve(r);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
        answers: new Map(),
        replied: new Set(),
        sentTo,
      });
      if (sentTo < this.quorum) this.pending.get(req)?.reject(new NoQuorum());
    });
  }

  private async waitConnected(timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve, reject) => {
      timer = setTimeout(
        () => {
          if (this.up.size >= this.quorum) resolve();
          else
            reject(unavailable(`cannot reach the job tracker of "${this.component}" (${this.trackerIds.join(', ')})`));
        },
        Math.min(timeoutMs, 10_000),
      );
    });
    try {
      await Promise.race([this.connected, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  close(): Promise<void> {
    for (const p of this.pending.values()) p.reject(unavailable('the client was closed'));
    this.pending.clear();
    return this.transport.close();
  }
}

class NoQuorum extends Error {}

function unavailable(message: string): TcError {
  return new TcError(MapReduceCode.unavailable, message, {
    exit: ExitCode.unavailable,
    hint: 'check `tclouds status`; redeploy with `tclouds deploy --target local` if the tracker is down',
  });
}

function exitOf(code: string): ExitCodeValue {
  if (code === MapReduceCode.noJob) return ExitCode.notFound;
  if (code === MapReduceCode.unavailable) return ExitCode.unavailable;
  if (code === MapReduceCode.usage || code === MapReduceCode.input) return ExitCode.invalid;
  return ExitCode.failure;
}

/** A client of the component's job tracker, with the deployment's client key. */
export async function openClient(stackDir: string, named: string | undefined): Promise<MapReduceClient> {
  const file = path.join(stackDir, 'outputs.json');
  const outputs = await readOutputsFile(file);
  const fail = (msg: string, exit: ExitCodeValue, hint?: string) =>
    new TcError(MapReduceCode.noDeployment, msg, { exit, ...(hint ? { hint } : {}) });
  if (!outputs)
    throw fail(`no deployment outputs at ${file}`, ExitCode.notFound, 'deploy first: `tclouds deploy --target local`');
  const component = named ?? onlyMapReduce(outputs.components);
  const comp = outputs.components[component];
  if (!comp) {
    const known = Object.keys(outputs.components).join(', ') || 'none';
    throw fail(`the deployment has no component "${component}" (components: ${known})`, ExitCode.notFound);
  }
  if (comp.kind !== 'mapreduce')
    throw fail(`component "${component}" is a ${comp.kind} component, not mapreduce`, ExitCode.invalid);
  const key = Object.entries(comp.clientKeys ?? {})[0];
  if (!key)
    throw fail(
      `no client key for "${component}" is usable from this machine`,
      ExitCode.notFound,
      'client keys are written by `tclouds deploy` under .tclouds/<stack>/keys/',
    );
  const trackers = comp.nodes.filter((n) => n.role === 'job-tracker');
  if (trackers.length === 0) throw fail(`component "${component}" has no job tracker node`, ExitCode.invalid);
  // A replicated tracker is 3f+1 replicas: f+1 identical answers include one of a correct replica.
  const quorum = trackers.length > 1 ? Math.floor((trackers.length - 1) / 3) + 1 : 1;
  const [clientId, { keyFile }] = key;
  const privateKey = await readPrivateKey(path.resolve(stackDir, keyFile));
  let client: MapReduceClient | undefined;
  const transport = new Transport({
    name: 'mapreduce-client',
    stack: outputs.stack,
    selfId: clientId,
    privateKey,
    dial: trackers.map((t) => ({ id: t.id, host: t.host, port: t.ports.http as number, publicKey: t.publicKey })),
    accept: () => undefined,
    maxFrameBytes: MAX_CHUNK_BYTES * 2,
    metrics: noMetrics,
    log: quietLog,
    onMessage: (from, buf) => client?.received(from, buf),
    onConnect: (id) => client?.connectedNow(id),
  });
  client = new MapReduceClient(
    transport,
    trackers.map((t) => t.id),
    component,
    quorum,
  );
  await transport.start();
  return client;
}

/** The one mapreduce component of a deployment (commands that take no component name use it). */
function onlyMapReduce(components: Record<string, { kind: string }>): string {
  const names = Object.entries(components)
    .filter(([, c]) => c.kind === 'mapreduce')
    .map(([n]) => n);
  if (names.length === 1) return names[0] as string;
  throw new TcError(
    MapReduceCode.noDeployment,
    names.length === 0
      ? 'the deployment has no mapreduce component'
      : `the deployment has ${names.length} mapreduce components: ${names.join(', ')}`,
    {
      exit: names.length === 0 ? ExitCode.notFound : ExitCode.usage,
      ...(names.length > 0 ? { hint: 'name one with --component' } : {}),
    },
  );
}

/**
 * The MapReduce client: talks to the job tracker of a deployed component over the authenticated transport with the
 * component's client key (runtime/transport.ts), one request and one reply at a time per request number.
 */
import path from 'node:path';
import { ExitCode, type ExitCodeValue, TcError } from '../../kernel/errors.js';
import { readPrivateKey } from '../../runtime/keys.js';
import { readOutputsFile } from '../../runtime/outputs-file.js';
import type { Logger, Metrics } from '../../runtime/role.js';
import { Transport } from '../../runtime/transport.js';
import { MapReduceCode } from './codes.js';
import { CLIENT_REQUEST_TIMEOUT_MS, MAX_CHUNK_BYTES } from './limits.js';
import { type ClientRequestMsg, decode, encode, TrackerReply } from './wire.js';

const quietLog: Logger = { debug() {}, info() {}, warn() {}, error() {}, child: () => quietLog };
const noMetrics: Metrics = {
  counter: () => ({ inc() {} }),
  gauge: () => ({ set() {} }),
  histogram: () => ({ observe() {} }),
};

type Pending = { resolve: (r: { body: unknown; payload: Buffer }) => void; reject: (e: Error) => void };
/** A request without its number (the client numbers it). */
type Request = ClientRequestMsg extends infer R ? (R extends { req: number } ? Omit<R, 'req'> : never) : never;

export class MapReduceClient {
  private readonly pending = new Map<number, Pending>();
  private next = 1;
  private connected: Promise<void>;
  private onConnected: () => void = () => {};

  constructor(
    private readonly transport: Transport,
    readonly trackerId: string,
    readonly component: string,
  ) {
    this.connected = new Promise((resolve) => {
      this.onConnected = resolve;
    });
  }

  /** Called by the transport. */
  connectedNow(): void {
    this.onConnected();
  }

  received(buf: Buffer): void {
    const m = decode(buf, TrackerReply);
    if (!m) return;
    const p = this.pending.get(m.header.req);
    if (!p) return;
    this.pending.delete(m.header.req);
    if (m.header.ok) p.resolve({ body: m.header.body, payload: m.payload });
    else {
      const e = m.header.error ?? { code: MapReduceCode.unavailable, message: 'the job tracker refused the request' };
      p.reject(new TcError(e.code, e.message, { exit: exitOf(e.code), ...(e.hint ? { hint: e.hint } : {}) }));
    }
  }

  async request(
    msg: Request,
    payload?: Uint8Array,
    timeoutMs = CLIENT_REQUEST_TIMEOUT_MS,
  ): Promise<{ body: unknown; payload: Buffer }> {
    await this.waitConnected(timeoutMs);
    const req = this.next++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(req);
        reject(unavailable(`the job tracker of "${this.component}" did not answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(req, {
        resolve: (r) => {
          clearTimeout(timer);
          resolve(r);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      this.transport.send(this.trackerId, encode({ ...msg, req }, payload));
    });
  }

  private async waitConnected(timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(unavailable(`cannot reach the job tracker of "${this.component}" (${this.trackerId})`)),
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
  const tracker = comp.nodes.find((n) => n.role === 'job-tracker');
  if (!tracker) throw fail(`component "${component}" has no job tracker node`, ExitCode.invalid);
  const [clientId, { keyFile }] = key;
  const privateKey = await readPrivateKey(path.resolve(stackDir, keyFile));
  let client: MapReduceClient | undefined;
  const transport = new Transport({
    name: 'mapreduce-client',
    stack: outputs.stack,
    selfId: clientId,
    privateKey,
    dial: [{ id: tracker.id, host: tracker.host, port: tracker.ports.http as number, publicKey: tracker.publicKey }],
    accept: () => undefined,
    maxFrameBytes: MAX_CHUNK_BYTES * 2,
    metrics: noMetrics,
    log: quietLog,
    onMessage: (_from, buf) => client?.received(buf),
    onConnect: () => client?.connectedNow(),
  });
  client = new MapReduceClient(transport, tracker.id, component);
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

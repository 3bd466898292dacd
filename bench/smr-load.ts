/**
 * Load generator process for bench/smr.ts: one SMR client with 200 closed-loop sessions, driven over IPC.
 *
 * Why a process of its own per system: when the replicated and the unreplicated clients shared the bench's
 * process, the baseline's 60-70 Kops/s points left the JIT and the heap in a state that made the replicated client
 * cost 24 instead of 14 us of CPU per operation, which lowered the replicated peak by a fifth. Each system now gets
 * a fresh client process, and the parent still runs their points back to back (same background load).
 *
 * Protocol (process.send / 'message'):
 *   parent -> { type: 'client', how }            child -> { type: 'ready', connected }
 *   parent -> { type: 'run', clients, seconds, size }   child -> { type: 'result', result, cpuSeconds }
 *   parent -> { type: 'close' }                   child exits 0
 * Any failure is reported as { type: 'error', message } and the child exits 1.
 */
import path from 'node:path';
import { clientFromOutputs, SmrClient, type SmrClientOptions, type SmrSession } from '../components/smr/client.js';
import { readPrivateKey } from '../runtime/keys.js';
import { measuredLoop } from './measured-loop.js';

export type ClientHow =
  | { kind: 'outputs'; stackDir: string; component: string; opts: Partial<SmrClientOptions> }
  | {
      kind: 'direct';
      stack: string;
      clientId: string;
      keyFile: string;
      replicas: SmrClientOptions['replicas'];
      f: number;
      retransmitMs: number;
    };

export type LoadRequest =
  | { type: 'client'; how: ClientHow }
  | { type: 'run'; clients: number; seconds: number; size: number }
  | { type: 'close' };

async function makeClient(how: ClientHow): Promise<SmrClient> {
  if (how.kind === 'outputs') return clientFromOutputs(how.stackDir, how.component, how.opts);
  return new SmrClient({
    stack: how.stack,
    clientId: how.clientId,
    privateKey: await readPrivateKey(path.resolve(how.keyFile)),
    replicas: how.replicas,
    f: how.f,
    retransmitMs: how.retransmitMs,
  });
}

let client: SmrClient | undefined;
let sessions: SmrSession[] = [];

function reply(msg: unknown): void {
  process.send?.(msg);
}

process.on('message', (m: LoadRequest) => {
  void (async () => {
    try {
      if (m.type === 'client') {
        client = await makeClient(m.how);
        // Every server connected before the first point: a point must not start with a replica still dialling.
        const connected = await client.connect(client.n);
        sessions = Array.from({ length: 200 }, () => client!.session());
        reply({ type: 'ready', connected });
      } else if (m.type === 'run') {
        const { result, cpuSeconds } = await measuredLoop(sessions, m.clients, m.seconds, m.size);
        reply({ type: 'result', result, cpuSeconds });
      } else if (m.type === 'close') {
        await client?.close();
        process.exit(0);
      }
    } catch (e) {
      reply({ type: 'error', message: String((e as Error).stack ?? e) });
      process.exit(1);
    }
  })();
});
process.on('disconnect', () => process.exit(0));

/**
 * The workflow engine as an SMR service (components/smr/services/service.ts): operations and replies are JSON,
 * the checkpoint is the machine's JSON state. Operations that only engines may send (a call's result, a takeover,
 * a timer tick) are refused from any other client identity; the engines' identities are their node ids.
 *
 * One node process runs one replica, so the replica's service is one per process (`workflowService()`): the SMR
 * replica loads it by name (services/load.ts) and the engine role (node.ts) reads the same instance to learn which
 * calls and timers are pending. Observers hear of every executed operation, to act on it at once.
 */
import { DEFERRED, type DeferredReply, type ExecContext, type Service } from '../smr/services/service.js';
import { WorkflowCode } from './codes.js';
import { WorkflowMachine } from './engine/machine.js';
import { ENGINE_OPS, READ_OPS, WorkflowOpSchema, type WorkflowReply } from './operations.js';

const enc = new TextEncoder();
const dec = new TextDecoder();
/** Why an engine refuses a well-formed request it cannot parse: most likely a client of another version. */
const VERSION_HINT = 'the client and the engines may run different tclouds versions; use the same release';
const rejected = (message: string): WorkflowReply => ({
  error: { code: WorkflowCode.rejected, message, hint: VERSION_HINT },
});

export class WorkflowService implements Service {
  readonly machine = new WorkflowMachine();
  /** Node ids of the engine replicas; their requests carry engine-only operations. */
  engines = new Set<string>();
  private readonly observers: (() => void)[] = [];
  /** Deferred start replies made ready by the operations executed since the last takeDeferred. */
  private ready: DeferredReply[] = [];
  /** The start just applied asked to wait for its execution (execute defers its reply). */
  private waitFor: { execution: string; until: number } | undefined;

  onExecuted(fn: () => void): void {
    this.observers.push(fn);
  }

  execute(op: Uint8Array, ctx: ExecContext): Uint8Array {
    const reply = this.apply(op, ctx);
    if (ctx.readOnly) return enc.encode(JSON.stringify(reply));
    for (const w of this.machine.releaseWaiters(ctx.timestamp)) {
      this.ready.push({ client: w.client, seq: w.seq, result: enc.encode(JSON.stringify(w.reply)) });
    }
    for (const fn of this.observers) fn();
    if (this.waitFor !== undefined) {
      const { execution, until } = this.waitFor;
      this.waitFor = undefined;
      if (this.machine.addWaiter(execution, ctx.client, ctx.seq, until)) return DEFERRED;
    }
    return enc.encode(JSON.stringify(reply));
  }

  takeDeferred(): DeferredReply[] {
    if (this.ready.length === 0) return [];
    const out = this.ready;
    this.ready = [];
    return out;
  }

  private apply(op: Uint8Array, ctx: ExecContext): WorkflowReply {
    let raw: unknown;
    try {
      raw = JSON.parse(dec.decode(op));
    } catch {
      return rejected('the operation is not JSON');
    }
    const parsed = WorkflowOpSchema.safeParse(raw);
    if (!parsed.success) {
      const i = parsed.error.issues[0]!;
      return rejected(`malformed operation at ${i.path.join('.') || '$'}: ${i.message}`);
    }
    const o = parsed.data;
    if (ENGINE_OPS.has(o.op) && !this.engines.has(ctx.client.split('/')[0]!)) {
      return rejected(`only engine replicas send "${o.op}"`);
    }
    if (ctx.readOnly && !READ_OPS.has(o.op)) {
      return rejected(`"${o.op}" changes the state and must be ordered`);
    }
    try {
      const reply = this.machine.apply(o, ctx.timestamp, ctx.client.split('/')[0]!);
      if (o.op === 'start' && o.waitMs && 'execution' in reply && reply.execution.status === 'RUNNING') {
        this.waitFor = { execution: reply.execution.execution, until: ctx.timestamp + o.waitMs };
      }
      return reply;
    } catch (e) {
      // A bug in the engine: the same on every replica (the engine is deterministic), so it is an agreed reply too.
      return rejected(`engine error: ${(e as Error).message}`);
    }
  }

  snapshot(): Uint8Array {
    return enc.encode(this.machine.snapshot());
  }

  restore(state: Uint8Array): void {
    this.ready = [];
    this.waitFor = undefined;
    this.machine.restore(dec.decode(state));
  }
}

let instance: WorkflowService | undefined;

/** The one workflow service of this process (see the module comment). */
export function workflowService(): WorkflowService {
  instance ??= new WorkflowService();
  return instance;
}

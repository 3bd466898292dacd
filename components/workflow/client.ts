/**
 * The workflow client: an SMR client of the engine group (from a deployment's outputs.json) that sends workflow
 * operations and turns error replies into TcErrors with their code and hint. Reads go the SMR's read-only way
 * (every engine must agree; otherwise they are ordered).
 */
import path from 'node:path';
import { ExitCode, TcError } from '../../kernel/errors.js';
import { readPrivateKey } from '../../runtime/keys.js';
import { readOutputsFile } from '../../runtime/outputs-file.js';
import { SmrClient, type SmrSession } from '../smr/client.js';
import { WorkflowCode } from './codes.js';
import type { HistoryEvent } from './engine/types.js';
import { MAX_START_WAIT_MS } from './limits.js';
import type { ExecutionSummary, WorkflowOp, WorkflowReply } from './operations.js';

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Polling of `--wait`: starts fast (an echo flow ends within the start) and backs off to this. */
const WAIT_POLL_MIN_MS = 2;
const WAIT_POLL_MAX_MS = 200;

export class WorkflowClient {
  private readonly session: SmrSession;
  constructor(readonly smr: SmrClient) {
    this.session = smr.session();
  }

  async close(): Promise<void> {
    await this.smr.close();
  }

  async send(op: WorkflowOp): Promise<WorkflowReply> {
    const readOnly = ['status', 'history', 'list', 'definitions'].includes(op.op);
    const r = await this.session.invoke(enc.encode(JSON.stringify(op)), { readOnly });
    const reply = JSON.parse(dec.decode(r.result)) as WorkflowReply;
    if ('error' in reply) {
      throw new TcError(reply.error.code, reply.error.message, {
        exit:
          reply.error.code === WorkflowCode.unknownExecution || reply.error.code === WorkflowCode.unknownDefinition
            ? ExitCode.notFound
            : ExitCode.invalid,
        ...(reply.error.hint ? { hint: reply.error.hint } : {}),
      });
    }
    return reply;
  }

  async deploy(name: string, definition: unknown): Promise<{ name: string; version: number; created: boolean }> {
    const r = await this.send({ op: 'deploy', name, definition: definition as never });
    return (r as Extract<WorkflowReply, { deployed: unknown }>).deployed;
  }

  async start(op: Omit<Extract<WorkflowOp, { op: 'start' }>, 'op'>): Promise<ExecutionSummary> {
    return ((await this.send({ op: 'start', ...op })) as { execution: ExecutionSummary }).execution;
  }

  /**
   * Starts an execution and returns it once it has ended, or after `timeoutMs` (TC479). The start itself waits
   * for the end (its reply is deferred by the engines, up to MAX_START_WAIT_MS), so a short execution costs one
   * request; a longer one is then polled.
   */
  async run(
    op: Omit<Extract<WorkflowOp, { op: 'start' }>, 'op' | 'waitMs'>,
    timeoutMs: number,
    poll?: { minMs: number; maxMs: number },
  ): Promise<ExecutionSummary> {
    const started = Date.now();
    const s = await this.start({ ...op, waitMs: Math.max(0, Math.min(timeoutMs, MAX_START_WAIT_MS)) });
    if (s.status !== 'RUNNING') return s;
    return this.wait(s.execution, Math.max(0, timeoutMs - (Date.now() - started)), s, poll);
  }

  async status(execution: string): Promise<ExecutionSummary> {
    return ((await this.send({ op: 'status', execution })) as { execution: ExecutionSummary }).execution;
  }

  async cancel(execution: string, cause = ''): Promise<ExecutionSummary> {
    return ((await this.send({ op: 'cancel', execution, cause })) as { execution: ExecutionSummary }).execution;
  }

  async list(status?: ExecutionSummary['status'], limit = 100): Promise<ExecutionSummary[]> {
    const r = await this.send({ op: 'list', limit, ...(status ? { status } : {}) });
    return (r as { executions: ExecutionSummary[] }).executions;
  }

  /** The whole history, page by page. */
  async history(execution: string): Promise<{ events: HistoryEvent[]; truncated: boolean }> {
    const events: HistoryEvent[] = [];
    let from: number | null = 0;
    let truncated = false;
    while (from !== null) {
      const r = (await this.send({ op: 'history', execution, from })) as {
        history: HistoryEvent[];
        truncated: boolean;
        next: number | null;
      };
      events.push(...r.history);
      truncated = r.truncated;
      from = r.next;
    }
    return { events, truncated };
  }

  /** Polls until the execution has finished; TC479 when `timeoutMs` passes first. */
  async wait(
    execution: string,
    timeoutMs: number,
    first?: ExecutionSummary,
    poll: { minMs: number; maxMs: number } = { minMs: WAIT_POLL_MIN_MS, maxMs: WAIT_POLL_MAX_MS },
  ): Promise<ExecutionSummary> {
    const deadline = Date.now() + timeoutMs;
    let s = first ?? (await this.status(execution));
    let delay = poll.minMs;
    while (s.status === 'RUNNING') {
      if (Date.now() > deadline) {
        throw new TcError(WorkflowCode.waitTimeout, `execution ${execution} is still running after ${timeoutMs} ms`, {
          exit: ExitCode.unavailable,
          hint: `it goes on; follow it with \`tclouds workflow status ${execution}\``,
        });
      }
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(poll.maxMs, delay * 2);
      s = await this.status(execution);
    }
    return s;
  }
}

/** A client of a workflow component of a deployment (its outputs.json in `stackDir`). */
export async function workflowClientFromOutputs(
  stackDir: string,
  component: string,
  opts: { timeoutMs?: number } = {},
): Promise<WorkflowClient> {
  const file = path.join(stackDir, 'outputs.json');
  // Damaged outputs are TC501 from here as from every other command (runtime/outputs-file.ts).
  const outputs = await readOutputsFile(file);
  if (outputs === null) {
    throw new TcError(WorkflowCode.noDeployment, `no deployment outputs at ${file}`, {
      exit: ExitCode.notFound,
      hint: 'deploy first: `tclouds deploy --target local`',
    });
  }
  const comp = outputs.components?.[component];
  if (comp?.kind !== 'workflow') {
    const known = Object.entries(outputs.components ?? {})
      .filter(([, c]) => c.kind === 'workflow')
      .map(([n]) => n);
    throw new TcError(WorkflowCode.noDeployment, `the deployment has no workflow component "${component}"`, {
      exit: ExitCode.notFound,
      hint:
        known.length > 0 ? `workflow components: ${known.join(', ')}` : 'add a `kind: workflow` component and deploy',
    });
  }
  const keyEntry = Object.entries(comp.clientKeys ?? {})[0];
  if (!keyEntry) {
    throw new TcError(WorkflowCode.noDeployment, `no client key for "${component}" is usable from this machine`, {
      exit: ExitCode.notFound,
      hint: 'client keys are written by `tclouds deploy` under .tclouds/<stack>/keys/',
    });
  }
  const [clientId, { keyFile }] = keyEntry;
  const replicas = comp.nodes
    .filter((nd) => nd.role === 'engine')
    .map((nd) => ({ id: nd.id, index: nd.index, host: nd.host, port: nd.ports.client!, publicKey: nd.publicKey }));
  const f = comp.client.faults === 'byzantine' ? Number(comp.client.f ?? 1) : 0;
  const smr = new SmrClient({
    stack: outputs.stack,
    clientId,
    privateKey: await readPrivateKey(path.resolve(stackDir, keyFile)),
    replicas,
    f,
    timeoutMs: opts.timeoutMs ?? 40_000,
  });
  await smr.connect(Math.max(1, replicas.length - Number(comp.client.f ?? 0)), Math.min(opts.timeoutMs ?? 5000, 5000));
  return new WorkflowClient(smr);
}

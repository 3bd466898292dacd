/**
 * Status without a terminal: one report, or one report per interval until interrupted (`status --watch`). The
 * command renders what this yields; the live Ink dashboard builds its reports with the same snapshot.
 */
import type { KeepProbability } from '../placement/keep-probability.js';
import { type Deployment, StatusPoller } from '../stacks/deployment.js';
import { buildStatus, type StatusReport } from './status-model.js';

export interface StatusOptions {
  deployment: Deployment;
  /** Per-node probe timeout. */
  timeoutMs: number;
  /** How many next faults the placement panel predicts. */
  nextFaults: number;
  keepProbability: KeepProbability | null;
}

/** One poll of every node and bucket, as a report. */
export async function statusSnapshot(poller: StatusPoller, opts: StatusOptions): Promise<StatusReport> {
  return buildStatus({
    outputs: opts.deployment.outputs,
    placement: opts.deployment.placement,
    ...(await poller.poll()),
    now: new Date(),
    nextFaults: opts.nextFaults,
    keepProbability: opts.keepProbability,
  });
}

/** One report of the deployment now. */
export function statusOnce(opts: StatusOptions): Promise<StatusReport> {
  return statusSnapshot(new StatusPoller(opts.deployment, { timeoutMs: opts.timeoutMs }), opts);
}

/**
 * A report every `intervalMs` until `signal` aborts: a slow poll delays the next instead of piling up, and the
 * wait between polls ends as soon as the signal does.
 */
export async function* watchStatus(
  opts: StatusOptions & { intervalMs: number; signal: AbortSignal },
): AsyncGenerator<StatusReport> {
  const poller = new StatusPoller(opts.deployment, { timeoutMs: opts.timeoutMs });
  while (!opts.signal.aborted) {
    yield await statusSnapshot(poller, opts);
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, opts.intervalMs);
      function done() {
        clearTimeout(timer);
        opts.signal.removeEventListener('abort', done);
        resolve();
      }
      opts.signal.addEventListener('abort', done, { once: true });
    });
  }
}

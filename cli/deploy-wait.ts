/**
 * `deploy --wait healthy`: after the deploy, poll the deployment the way `tclouds status` does until every
 * component has its quorum, or the time is up. A pipeline then starts its tests only against a deployment that
 * can serve them, and a deployment that never gets there fails the job with exit 8 naming the components.
 */
import type { StatusReport } from '../dashboard/status-model.js';
import { statusOnce } from '../dashboard/status-watch.js';
import { ExitCode, TcError } from '../kernel/errors.js';
import { loadKeepProbability } from '../placement/keep-probability.js';
import { DeployCode } from '../stacks/codes.js';
import { loadDeployment } from '../stacks/deployment.js';

/** Between two polls of the nodes. */
const WAIT_POLL_MS = 1000;
/** Per-node probe timeout of one poll. */
const PROBE_TIMEOUT_MS = 2000;

export const WAIT_MODES = ['none', 'healthy'] as const;

/** Resolves with the first report where no component has lost its quorum; TC319 (exit 8) at the deadline. */
export async function waitForQuorums(
  file: string,
  timeoutMs: number,
  signal: AbortSignal,
  onPoll: (report: StatusReport) => void = () => {},
): Promise<StatusReport> {
  const deadline = Date.now() + timeoutMs;
  const keepProbability = await loadKeepProbability();
  for (;;) {
    const deployment = await loadDeployment(file);
    const report = await statusOnce({ deployment, timeoutMs: PROBE_TIMEOUT_MS, nextFaults: 1, keepProbability });
    onPoll(report);
    const lost = report.summary.quorumLost;
    if (lost.length === 0) return report;
    if (signal.aborted || Date.now() + WAIT_POLL_MS > deadline) {
      throw new TcError(
        DeployCode.notHealthy,
        `deployed, but not healthy after ${Math.round(timeoutMs / 1000)}s: ${lost.join(', ')} ${lost.length === 1 ? 'has' : 'have'} no quorum`,
        {
          exit: ExitCode.unavailable,
          hint: '`tclouds status` shows which nodes are down and why; the deployment is left as it is',
        },
      );
    }
    await new Promise((r) => setTimeout(r, WAIT_POLL_MS));
  }
}

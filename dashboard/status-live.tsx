/**
 * The live `tclouds status` session on a TTY: a poll loop feeding the Ink dashboard. Loaded lazily by the
 * status command (ink and react are heavy), and only when stdout is a terminal. The dashboard only observes: its
 * kill and pause keys call the actions the command passes in (chaos, on the local target), or nothing.
 */
import { render } from 'ink';
import { controlEndpointOf } from '../runtime/control-client.js';
import { httpGet, parseMetrics, StatusPoller } from '../stacks/deployment.js';
import { tailNodeLog } from './node-log.js';
import type { StatusReport } from './status-model.js';
import { type DashboardActions, type NodeDetails, StatusDashboard } from './status-view.js';
import { type StatusOptions, statusSnapshot } from './status-watch.js';

export interface LiveOptions extends StatusOptions {
  intervalMs: number;
  /** What the kill and pause keys do; null shows them as unavailable. */
  actions: DashboardActions | null;
}

export async function runLiveDashboard(opts: LiveOptions): Promise<void> {
  const dep = opts.deployment;
  const poller = new StatusPoller(dep, { timeoutMs: opts.timeoutMs });
  const snapshot = (): Promise<StatusReport> => statusSnapshot(poller, opts);
  const first = await snapshot();
  const listeners = new Set<(r: StatusReport) => void>();
  let stopped = false;
  // One poll at a time, at most one per interval: a slow round delays the next instead of piling up.
  const loop = (async () => {
    while (!stopped) {
      await new Promise((r) => setTimeout(r, opts.intervalMs));
      if (stopped) break;
      const r = await snapshot().catch(() => null);
      if (r && !stopped) for (const l of listeners) l(r);
    }
  })();
  const subscribe = (cb: (r: StatusReport) => void) => {
    listeners.add(cb);
    return () => {
      listeners.delete(cb);
    };
  };
  const byId = new Map(Object.values(dep.outputs.components).flatMap((c) => c.nodes.map((n) => [n.id, n] as const)));
  const loadDetails = async (id: string): Promise<NodeDetails> => {
    const node = byId.get(id);
    const [log, metrics] = await Promise.all([
      dep.outputs.target === 'local' ? tailNodeLog(dep.stackDir, id, 8) : Promise.resolve([]),
      node
        ? controlEndpointOf(node)
            .then((ep) => httpGet(ep, '/metrics', opts.timeoutMs))
            .then(
              (r) => (r.status === 200 ? parseMetrics(r.body) : undefined),
              () => undefined,
            )
        : Promise.resolve(undefined),
    ]);
    return metrics ? { log, metrics } : { log };
  };
  const actions = opts.actions;
  // Full-screen session in the alternate screen (like top): the terminal's scrollback stays clean, and on a
  // resize the screen is wiped before Ink redraws, so lines the terminal re-wrapped leave no debris.
  const out = process.stdout;
  const fullScreen = Boolean(out.isTTY);
  const onResize = () => out.write('\u001B[2J\u001B[H');
  if (fullScreen) {
    out.write('\u001B[?1049h\u001B[H');
    out.on('resize', onResize); // registered before Ink's own listener: wipe first, then Ink redraws
  }
  const app = render(
    <StatusDashboard report={first} subscribe={subscribe} loadDetails={loadDetails} actions={actions} />,
    { exitOnCtrlC: true, patchConsole: false, maxFps: 10 },
  );
  try {
    await app.waitUntilExit();
  } finally {
    stopped = true;
    if (fullScreen) {
      out.off('resize', onResize);
      out.write('\u001B[?1049l');
    }
    await loop;
  }
}

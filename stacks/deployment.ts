/**
 * Reading a deployment as it runs, for status, chaos and the clients: find and parse its outputs, probe every
 * node's GET /health and GET /metrics with short timeouts, tell a paused or held-down local node from a crashed one,
 * scan local buckets. Probing fails soft: a node that does not answer is a result (`refused`, `timeout`), never an
 * exception.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { ExitCode, isTcError, TcError } from '../kernel/errors.js';
import type { FaultModel } from '../placement/majority.js';
import { type ControlEndpoint, controlEndpointOf, controlRequest } from '../runtime/control-client.js';
import type { DeploymentOutputs, NodeOutput } from '../runtime/node-spec.js';
import { DEPLOYMENT_STATE_UNREADABLE, readOutputsFile } from '../runtime/outputs-file.js';
import type { NodeHealth } from '../runtime/role.js';

/** Error codes of reading a deployment (TC500-TC501). Stable: scripts match on them (README section `status`). */
export const DeploymentCode = {
  /** No deployment outputs were found for the stack (nothing deployed, or wrong directory/--file). */
  noDeployment: 'TC500',
  /**
   * A deployment record (outputs.json, the local state.json) exists but is damaged: one code and one exit code (3)
   * from every command; defined with the one reader in runtime/outputs-file.ts.
   */
  badOutputs: DEPLOYMENT_STATE_UNREADABLE,
} as const;

/** What one poll learned about one node. Exactly one of `health` and `error` is set. */
export interface NodeProbe {
  id: string;
  health?: NodeHealth;
  /** Parsed GET /metrics (sample name with labels -> value); absent when /metrics did not answer. */
  metrics?: Record<string, number>;
  /** Why /health did not answer: `refused`, `timeout`, or a short message. */
  error?: string;
  /** Local target: the process exists but is stopped (SIGSTOP, i.e. `chaos pause`). */
  paused?: boolean;
  /** Round-trip time of GET /health in ms. */
  latencyMs?: number;
}

/** What one poll learned about one bucket (local buckets are scanned; cloud buckets are not probed). */
export interface BucketProbe {
  cloud: string;
  name: string;
  /** true/false for probed buckets, null when not probed (cloud targets). */
  reachable: boolean | null;
  objects?: number;
  bytes?: number;
  /**
   * Names of the top-level entries (a storage component's data units), sorted, when there are at most
   * STATUS_LISTING_LIMIT: status compares them across clouds to find clouds that lack data units.
   */
  containers?: string[];
  error?: string;
}

/** Most top-level names of one bucket a status poll keeps (beyond it, the lists are not compared). */
export const STATUS_LISTING_LIMIT = 10_000;

/** A deployment as status and chaos see it: its outputs, where they live and its fault model. */
export interface Deployment {
  outputs: DeploymentOutputs;
  /** `.tclouds/<stack>` (local target: node directories, keys, state). */
  stackDir: string;
  placement: FaultModel;
}

const DEFAULT_MODEL: FaultModel = { threat: 'byzantine-vm', keep: 'pm-majority', removal: false };

export { parseOutputs } from '../runtime/outputs-file.js';

/**
 * Find and read a deployment: from a topology file (its `.tclouds/<name>/outputs.json`, and its placement
 * section), or from the first stack under `./.tclouds/` when no file is named and `tclouds.yaml` is absent.
 */
export async function loadDeployment(file: string | undefined, stack?: string): Promise<Deployment> {
  const { loadTopology, stackDir: stackDirOf } = await import('../topology/load.js');
  const topologyFile = path.resolve(file ?? 'tclouds.yaml');
  const st = await fs.stat(topologyFile).catch(() => null);
  const exists = st?.isFile() ?? false;
  let dir: string;
  let placement = DEFAULT_MODEL;
  if (exists) {
    const loaded = await loadTopology(topologyFile);
    dir = stack ? path.join(loaded.dir, '.tclouds', stack) : stackDirOf(loaded);
    placement = { ...loaded.topology.placement };
  } else if (file !== undefined) {
    const what = st === null ? 'not found' : st.isDirectory() ? 'is a directory, not a file' : 'is not a regular file';
    throw new TcError(DeploymentCode.noDeployment, `topology file ${file} ${what}`, {
      exit: ExitCode.notFound,
      hint: 'pass the tclouds.yaml of the deployment with --file',
    });
  } else {
    const base = path.resolve('.tclouds');
    const stacks = await fs.readdir(base).catch(() => [] as string[]);
    const candidates = [];
    for (const s of stacks) {
      if (await fs.stat(path.join(base, s, 'outputs.json')).catch(() => null)) candidates.push(s);
    }
    const chosen = stack ?? candidates[0];
    if (!chosen || (stack === undefined && candidates.length > 1)) {
      throw new TcError(
        DeploymentCode.noDeployment,
        candidates.length > 1 ? `several stacks under .tclouds: ${candidates.join(', ')}` : 'no deployment found here',
        {
          exit: ExitCode.notFound,
          hint:
            candidates.length > 1
              ? 'name the topology with --file'
              : 'run `tclouds deploy` first, or pass the topology with --file',
        },
      );
    }
    dir = path.join(base, chosen);
  }
  const outputsFile = path.join(dir, 'outputs.json');
  const outputs = await readOutputsFile(outputsFile);
  if (outputs === null) {
    throw new TcError(
      DeploymentCode.noDeployment,
      `no deployment outputs at ${path.relative(process.cwd(), outputsFile)}`,
      {
        exit: ExitCode.notFound,
        hint: 'run `tclouds deploy` first (status and chaos read the outputs a deployment leaves)',
      },
    );
  }
  return { outputs, stackDir: dir, placement };
}

/**
 * GET a text resource of a node's control port with a hard timeout (runtime/control-client.ts: plain HTTP on
 * loopback, TLS pinned to the node's certificate on the clouds); resolves with status and body or rejects.
 */
export function httpGet(
  ep: ControlEndpoint,
  urlPath: string,
  timeoutMs: number,
  maxBytes = 1 << 20,
): Promise<{ status: number; body: string }> {
  return controlRequest(ep, urlPath, { method: 'GET', timeoutMs, maxBytes });
}

/** Prometheus text format -> `name{labels}` -> value (comments and malformed lines are skipped). */
export function parseMetrics(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?)\s+(\S+)/.exec(line);
    if (!m) continue;
    const v = Number(m[2]);
    if (!Number.isNaN(v)) out[m[1]!] = v;
  }
  return out;
}

function errorLabel(e: unknown): string {
  if (isTcError(e)) return `${e.code} ${e.message}`; // not the pinned certificate (TC325), or none to pin (TC324)
  const code = (e as { code?: string }).code;
  if (code === 'ECONNREFUSED') return 'refused';
  if (code === 'ETIMEDOUT' || code === 'ECONNRESET') return code === 'ETIMEDOUT' ? 'timeout' : 'reset';
  return (e as Error).message || String(e);
}

/** Is a local process stopped (SIGSTOP)? Linux /proc only; false elsewhere or when it is gone. */
export async function isProcessStopped(pid: number, mustContain?: string): Promise<boolean> {
  const stat = await fs.readFile(`/proc/${pid}/stat`, 'utf8').catch(() => null);
  if (!stat) return false;
  if (mustContain) {
    // Guard against a recycled pid: the command line must name this node.
    const cmd = await fs.readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    if (!cmd.includes(mustContain)) return false;
  }
  const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  return state === 'T' || state === 't';
}

export interface PollOptions {
  timeoutMs?: number;
  /** Also fetch /metrics (the dashboard's details view; the static table does not need it). */
  metrics?: boolean;
}

/**
 * Probes nodes round after round; remembers each node's last pid so that a node that stops answering can be
 * told apart as paused (stopped process, local target) rather than dead.
 */
export class StatusPoller {
  private readonly lastPid = new Map<string, number>();
  /** Each node's control endpoint with its pinned certificate, read once per poller. */
  private readonly endpoints = new Map<string, Promise<ControlEndpoint>>();

  constructor(
    private readonly deployment: Deployment,
    private readonly opts: PollOptions = {},
  ) {}

  async probeNode(node: NodeOutput): Promise<NodeProbe> {
    const timeoutMs = this.opts.timeoutMs ?? 400;
    const started = performance.now();
    try {
      let ep = this.endpoints.get(node.id);
      if (!ep) {
        ep = controlEndpointOf(node);
        this.endpoints.set(node.id, ep);
        ep.catch(() => this.endpoints.delete(node.id)); // a pin that could not be read is read again next round
      }
      const endpoint = await ep;
      const res = await httpGet(endpoint, '/health', timeoutMs);
      const latencyMs = Math.round((performance.now() - started) * 10) / 10;
      if (res.status !== 200) return { id: node.id, error: `HTTP ${res.status}`, latencyMs };
      const health = JSON.parse(res.body) as NodeHealth;
      if (typeof health.pid === 'number') this.lastPid.set(node.id, health.pid);
      const probe: NodeProbe = { id: node.id, health, latencyMs };
      if (this.opts.metrics) {
        const m = await httpGet(endpoint, '/metrics', timeoutMs).catch(() => null);
        if (m && m.status === 200) probe.metrics = parseMetrics(m.body);
      }
      return probe;
    } catch (e) {
      const error = errorLabel(e);
      const pid = this.lastPid.get(node.id);
      const paused =
        this.deployment.outputs.target === 'local' && pid !== undefined ? await isProcessStopped(pid, node.id) : false;
      return paused ? { id: node.id, error, paused } : { id: node.id, error };
    }
  }

  /** One round: every node in parallel, plus local buckets. */
  async poll(): Promise<{ probes: Record<string, NodeProbe>; buckets: BucketProbe[] }> {
    const nodes = Object.values(this.deployment.outputs.components).flatMap((c) => c.nodes);
    const [probes, buckets] = await Promise.all([
      Promise.all(nodes.map((n) => this.probeNode(n))),
      Promise.all(
        Object.values(this.deployment.outputs.components).flatMap((c) => c.buckets.map((b) => probeBucket(b))),
      ),
    ]);
    if (this.deployment.outputs.target === 'local' && probes.some((p) => p.error !== undefined && !p.paused)) {
      await this.explainLocal(probes);
    }
    return { probes: Object.fromEntries(probes.map((p) => [p.id, p])), buckets };
  }

  /**
   * Local target: tell a paused node (SIGSTOP) and a node chaos holds down apart from a crashed one, from
   * the local realizer's records (stacks/local/control.ts), also on the first round of a fresh `status`.
   */
  private async explainLocal(probes: NodeProbe[]): Promise<void> {
    const view = await import('../stacks/local/control.js')
      .then((m) => m.readLocalState(this.deployment.stackDir))
      .catch(() => null);
    if (!view) return;
    for (const p of probes) {
      if (p.error === undefined || p.paused) continue;
      const v = view.nodes.find((n) => n.id === p.id);
      if (!v) continue;
      if (v.paused || (v.pid !== null && (await isProcessStopped(v.pid)))) p.paused = true;
      else if (v.held) p.error = 'held down (chaos kill)';
    }
  }
}

/** Scan a local bucket directory: object files and bytes (bounded walk). Cloud buckets are not probed. */
export async function probeBucket(bucket: {
  cloud: string;
  name: string;
  provider: string;
  path?: string;
}): Promise<BucketProbe> {
  if (bucket.provider !== 'local' || !bucket.path) return { cloud: bucket.cloud, name: bucket.name, reachable: null };
  // Objects: top-level entries (a DepSky data unit is one directory of metadata and value files);
  // bytes: every file below, i.e. what the cloud stores for this bucket.
  let objects = 0;
  let bytes = 0;
  let budget = 20_000;
  const walk = async (dir: string, top: boolean): Promise<void> => {
    const entries = await fs.readdir(dir, { withFileTypes: true });
    for (const e of entries) {
      if (--budget < 0) return;
      if (e.name.startsWith('.')) continue; // temp files of atomic writes
      if (top) objects++;
      const p = path.join(dir, e.name);
      if (e.isDirectory()) await walk(p, false);
      else if (e.isFile()) bytes += (await fs.stat(p).catch(() => ({ size: 0 }))).size;
    }
  };
  try {
    const top = (await fs.readdir(bucket.path)).filter((n) => !n.startsWith('.'));
    await walk(bucket.path, true);
    const containers = top.length <= STATUS_LISTING_LIMIT ? { containers: top.sort() } : {};
    return { cloud: bucket.cloud, name: bucket.name, reachable: true, objects, bytes, ...containers };
  } catch (e) {
    return { cloud: bucket.cloud, name: bucket.name, reachable: false, error: errorLabel(e) };
  }
}

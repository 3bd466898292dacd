/**
 * Fault injection on the local target: kill, pause, resume, partition and heal nodes, one node or a whole
 * fault domain (every VM on one PM, as in the placement paper: `--host D --cloud C`).
 *
 * - kill: SIGKILL, and the node is *held* down (the supervisor does not restart it) until resume.
 * - pause: SIGSTOP (the process keeps its sockets, answers nothing: a slow or frozen node). resume: SIGCONT.
 * - partition: each target node is told, through its node host's admin endpoint
 *   (`POST /admin/partition {"block":[peer ids]}` with the node's admin token: `adminPost`), to
 *   refuse traffic from every node of its component outside the target group, and those nodes are told to
 *   refuse the targets: a symmetric cut on loopback, without root or firewall rules. heal: `POST /admin/heal`.
 * Every action is recorded in the chaos journal; resume/heal undo it, and destroy removes the whole stack.
 */
import { ExitCode, isTcError, TcError } from '../kernel/errors.js';
import { adminTokenFor, controlEndpointOf, controlRequest } from '../runtime/control-client.js';
import type { NodeOutput } from '../runtime/node-spec.js';
import { type Deployment, httpGet } from '../stacks/deployment.js';
import { ChaosCode } from './codes.js';
import { addUnique, readJournal, writeJournal } from './journal.js';
import { loadLocalControl } from './local-control.js';

/** One admin request to a node (partition, heal, fault switch). */
const ADMIN_TIMEOUT_MS = 2000;
/** One liveness probe of a node chaos may restart. */
const PROBE_TIMEOUT_MS = 1000;

export interface TargetSelector {
  node?: string[];
  /** Fault domain (PM) index inside `cloud`. */
  host?: number;
  cloud?: string;
  /** Restrict to one component. */
  component?: string;
}

export type NodeAction = 'kill' | 'pause' | 'resume' | 'partition' | 'heal' | 'byzantine';

export interface ActionResult {
  node: string;
  action: NodeAction | 'restart';
  ok: boolean;
  message: string;
}

export function allNodes(dep: Deployment): NodeOutput[] {
  return Object.values(dep.outputs.components).flatMap((c) => c.nodes);
}

export function hasSelector(sel: TargetSelector): boolean {
  return (sel.node?.length ?? 0) > 0 || sel.host !== undefined || sel.cloud !== undefined;
}

/** The nodes a selector names; a clear error for unknown names and bad combinations. */
export function resolveTargets(dep: Deployment, sel: TargetSelector): NodeOutput[] {
  const nodes = allNodes(dep).filter(
    (n) => sel.component === undefined || dep.outputs.components[sel.component]?.nodes.includes(n),
  );
  if (sel.component !== undefined && !dep.outputs.components[sel.component]) {
    throw new TcError(ChaosCode.unknownTarget, `no component "${sel.component}" in stack ${dep.outputs.stack}`, {
      exit: ExitCode.notFound,
      hint: `components: ${Object.keys(dep.outputs.components).join(', ')}`,
    });
  }
  const named = sel.node ?? [];
  if (named.length > 0 && (sel.host !== undefined || sel.cloud !== undefined)) {
    throw new TcError(
      ChaosCode.badArgs,
      'name nodes with --node, or a fault domain with --host and --cloud, not both',
      {
        exit: ExitCode.usage,
      },
    );
  }
  if (named.length > 0) {
    return named.map((id) => {
      const n = nodes.find((x) => x.id === id);
      if (!n) {
        throw new TcError(ChaosCode.unknownTarget, `no node "${id}" in stack ${dep.outputs.stack}`, {
          exit: ExitCode.notFound,
          hint: `nodes: ${nodes.map((x) => x.id).join(', ') || '(none)'}`,
        });
      }
      return n;
    });
  }
  if (sel.host !== undefined || sel.cloud !== undefined) {
    if (sel.host === undefined || sel.cloud === undefined) {
      throw new TcError(ChaosCode.badArgs, 'a fault domain needs both --host (PM index) and --cloud', {
        exit: ExitCode.usage,
        hint: 'e.g. --host 0 --cloud local-1 acts on every node on PM 0 of cloud local-1',
      });
    }
    const inDomain = nodes.filter((n) => n.cloud === sel.cloud && n.domain === sel.host);
    if (inDomain.length === 0) {
      const domains = [...new Set(nodes.map((n) => `--cloud ${n.cloud} --host ${n.domain}`))].sort();
      throw new TcError(ChaosCode.unknownTarget, `no node runs on PM ${sel.host} of cloud "${sel.cloud}"`, {
        exit: ExitCode.notFound,
        hint: `fault domains with nodes: ${domains.join('; ')}`,
      });
    }
    return inDomain;
  }
  throw new TcError(ChaosCode.badArgs, 'name the target: --node ID, or --host D --cloud C for a whole fault domain', {
    exit: ExitCode.usage,
  });
}

export function requireLocal(dep: Deployment): void {
  if (dep.outputs.target !== 'local') {
    throw new TcError(
      ChaosCode.notLocal,
      `chaos works on the local target only (stack ${dep.outputs.stack} is on ${dep.outputs.target})`,
      {
        exit: ExitCode.usage,
        hint: 'deploy locally with `tclouds deploy --target local` to rehearse faults',
      },
    );
  }
}

/**
 * POST a JSON body to one node's control port with that node's own admin token (cloud nodes have one each and
 * refuse any other; local nodes share the stack's), through the one control client: pinned TLS when the node has
 * a certificate. The one way chaos calls a node's admin API. A refusal rejects with `HTTP <status>: <body>`; a
 * missing token is TC328, a certificate that is not the pinned one TC324/TC325.
 */
export async function adminPost(
  dep: Deployment,
  node: NodeOutput,
  urlPath: string,
  body: unknown,
  timeoutMs = ADMIN_TIMEOUT_MS,
): Promise<void> {
  const [ep, token] = await Promise.all([controlEndpointOf(node), adminTokenFor(dep.stackDir, node.id)]);
  const res = await controlRequest(ep, urlPath, { method: 'POST', token, body, timeoutMs });
  if (res.status < 200 || res.status >= 300) throw new Error(`HTTP ${res.status}: ${res.body.slice(0, 200)}`);
}

export async function settle<T>(items: T[], fn: (t: T) => Promise<ActionResult>): Promise<ActionResult[]> {
  return Promise.all(items.map(fn));
}

export const failed = (node: string, action: ActionResult['action'], e: unknown): ActionResult => ({
  node,
  action,
  ok: false,
  // A TcError (no token for the node, a certificate that is not the pinned one) keeps its code for scripts.
  message: isTcError(e) ? `${e.code} ${e.message}` : ((e as Error).message ?? String(e)),
});

/** Kill (held down) or pause the targets. */
export async function killOrPause(
  dep: Deployment,
  action: 'kill' | 'pause',
  targets: NodeOutput[],
): Promise<ActionResult[]> {
  requireLocal(dep);
  const control = await loadLocalControl(dep.stackDir);
  const results = await settle(targets, async (n) => {
    try {
      if (action === 'kill') await control.killNode(dep.stackDir, n.id, { hold: true });
      else await control.pauseNode(dep.stackDir, n.id);
      return { node: n.id, action, ok: true, message: action === 'kill' ? 'killed (held down)' : 'paused (SIGSTOP)' };
    } catch (e) {
      return failed(n.id, action, e);
    }
  });
  const j = await readJournal(dep.stackDir);
  const done = results.filter((r) => r.ok).map((r) => r.node);
  if (action === 'kill') {
    j.killed = addUnique(j.killed, done);
    j.paused = j.paused.filter((id) => !done.includes(id));
  } else j.paused = addUnique(j.paused, done);
  await writeJournal(dep.stackDir, j);
  return results;
}

/**
 * Undo kill and pause: SIGCONT for paused nodes, restart for killed ones. Without targets: every node the
 * journal lists. A named node in neither list gets SIGCONT, and a restart if it does not answer /health.
 */
export async function resume(dep: Deployment, targets: NodeOutput[] | null): Promise<ActionResult[]> {
  requireLocal(dep);
  const control = await loadLocalControl(dep.stackDir);
  const j = await readJournal(dep.stackDir);
  const ids = targets ? targets.map((t) => t.id) : [...new Set([...j.killed, ...j.paused])];
  const byId = new Map(allNodes(dep).map((n) => [n.id, n]));
  const results = await settle(ids, async (id) => {
    try {
      if (j.killed.includes(id)) {
        await control.restartNode(dep.stackDir, id);
        return { node: id, action: 'restart' as const, ok: true, message: 'restarted' };
      }
      await control.resumeNode(dep.stackDir, id);
      // Not in the journal (e.g. paused from the dashboard of an older run): restart it only if it is dead.
      const node = byId.get(id);
      if (!j.paused.includes(id) && node) {
        const alive = await controlEndpointOf(node)
          .then((ep) => httpGet(ep, '/health', PROBE_TIMEOUT_MS))
          .then(
            () => true,
            () => false,
          );
        if (!alive) {
          await control.restartNode(dep.stackDir, id);
          return { node: id, action: 'restart' as const, ok: true, message: 'restarted' };
        }
      }
      return { node: id, action: 'resume' as const, ok: true, message: 'resumed (SIGCONT)' };
    } catch (e) {
      return failed(id, 'resume', e);
    }
  });
  const done = results.filter((r) => r.ok).map((r) => r.node);
  j.killed = j.killed.filter((id) => !done.includes(id));
  j.paused = j.paused.filter((id) => !done.includes(id));
  await writeJournal(dep.stackDir, j);
  return results;
}

/** Cut the targets off from the rest of their components (both directions). */
export async function partition(dep: Deployment, targets: NodeOutput[]): Promise<ActionResult[]> {
  requireLocal(dep);
  const j = await readJournal(dep.stackDir);
  const targetIds = new Set(targets.map((t) => t.id));
  const blocks = new Map<string, string[]>();
  for (const comp of Object.values(dep.outputs.components)) {
    const inside = comp.nodes.filter((n) => targetIds.has(n.id)).map((n) => n.id);
    if (inside.length === 0) continue;
    const outside = comp.nodes.filter((n) => !targetIds.has(n.id)).map((n) => n.id);
    for (const id of inside) blocks.set(id, addUnique(j.partitions[id] ?? [], outside));
    for (const id of outside) blocks.set(id, addUnique(j.partitions[id] ?? [], inside));
  }
  const byId = new Map(allNodes(dep).map((n) => [n.id, n]));
  const results = await settle([...blocks.entries()], async ([id, block]) => {
    try {
      if (block.length > 0) await adminPost(dep, byId.get(id)!, '/admin/partition', { block });
      return { node: id, action: 'partition' as const, ok: true, message: `refuses ${block.join(', ')}` };
    } catch (e) {
      return failed(id, 'partition', e);
    }
  });
  for (const r of results) if (r.ok) j.partitions[r.node] = blocks.get(r.node)!;
  await writeJournal(dep.stackDir, j);
  return results;
}

/**
 * Heal partitions, undoing what `partition` did with the same selector: the targets stop refusing anyone, and every
 * other node stops refusing the targets (a partition is symmetric, so is its undo). Without targets: every node.
 * The node API adds blocks or clears them all, so a node that keeps other blocks gets them back after its heal.
 */
export async function heal(dep: Deployment, targets: NodeOutput[] | null): Promise<ActionResult[]> {
  requireLocal(dep);
  const j = await readJournal(dep.stackDir);
  const healed = new Set((targets ?? allNodes(dep)).map((n) => n.id));
  // What every affected node keeps refusing afterwards: nothing for a target; the others minus the targets.
  const keep = new Map<string, string[]>();
  for (const id of healed) keep.set(id, []);
  for (const [id, blocked] of Object.entries(j.partitions)) {
    if (healed.has(id)) continue;
    const left = blocked.filter((b) => !healed.has(b));
    if (left.length !== blocked.length) keep.set(id, left);
  }
  const byId = new Map(allNodes(dep).map((n) => [n.id, n]));
  const results = await settle([...keep.entries()], async ([id, left]) => {
    const n = byId.get(id);
    if (!n) return failed(id, 'heal', new Error('not in this deployment'));
    try {
      await adminPost(dep, n, '/admin/heal', {});
      if (left.length > 0) await adminPost(dep, n, '/admin/partition', { block: left });
      const message = left.length > 0 ? `healed; still refuses ${left.join(', ')}` : 'healed';
      return { node: id, action: 'heal' as const, ok: true, message };
    } catch (e) {
      // A node that is not running has no partition to heal: it starts with none.
      if ((e as NodeJS.ErrnoException).code === 'ECONNREFUSED') {
        return { node: id, action: 'heal' as const, ok: true, message: 'not running (starts without partitions)' };
      }
      const r = failed(id, 'heal', e);
      if (r.message === 'timeout') r.message = 'timeout (paused? run `tclouds chaos resume` first)';
      return r;
    }
  });
  const after = await readJournal(dep.stackDir);
  for (const r of results) {
    if (!r.ok) continue;
    const left = keep.get(r.node) ?? [];
    if (left.length > 0 && !r.message.startsWith('not running')) after.partitions[r.node] = left;
    else delete after.partitions[r.node];
  }
  await writeJournal(dep.stackDir, after);
  return results;
}

/**
 * Byzantine faults on demand (`tclouds chaos byzantine`): a node of a kind with misbehaviour modes (kinds registry,
 * `KindModule.chaos.faultModes`; SMR: silent, wrong-replies, equivocate, censor) is switched into one through its
 * node host (`POST /admin/fault {"mode"}` with the node's admin token). The replica keeps running and answering
 * /health (which reports the mode as `fault`), so unlike a kill this exercises the protocol against a node that
 * lies, not one that is gone. Every switch is recorded in the chaos journal; `chaos heal` sets the nodes back to
 * `none`. A node the supervisor restarted comes back correct, so a journal entry may be stale: healing a node
 * that is down or already correct succeeds.
 *
 * `checkService` is the proof that matters: an ordered write and an ordered read through the real SMR client,
 * which accepts a result only once f+1 replicas agree on it, so with f or fewer misbehaving replicas it must
 * still read back what it wrote.
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { KINDS, kindOf } from '../components/kinds.js';
import { ExitCode, TcError } from '../kernel/errors.js';
import type { NodeOutput } from '../runtime/node-spec.js';
import type { Deployment } from '../stacks/deployment.js';
import { type ActionResult, adminPost, allNodes, failed, requireLocal, settle } from './actions.js';
import { ChaosCode } from './codes.js';
import { readJournal, writeJournal } from './journal.js';

/** The component a node belongs to, and the misbehaviour modes its kind has. */
export function faultModesOf(dep: Deployment, nodeId: string): { component: string; modes: readonly string[] } {
  for (const [name, c] of Object.entries(dep.outputs.components)) {
    if (c.nodes.some((n) => n.id === nodeId)) return { component: name, modes: kindOf(c.kind)?.chaos.faultModes ?? [] };
  }
  return { component: '', modes: [] };
}

/** Every misbehaviour mode some kind of this build knows (for flag help and errors). */
export function knownFaultModes(): string[] {
  return [...new Set(Object.values(KINDS).flatMap((k) => k.chaos.faultModes))];
}

/** Refuses targets whose kind has no misbehaviour modes, or not this one, before anything is switched. */
export function checkByzantineTargets(dep: Deployment, targets: readonly NodeOutput[], mode: string): void {
  const capable = allNodes(dep).filter((n) => faultModesOf(dep, n.id).modes.length > 0);
  for (const t of targets) {
    const { component, modes } = faultModesOf(dep, t.id);
    const kind = dep.outputs.components[component]?.kind ?? '?';
    if (modes.length === 0) {
      throw new TcError(
        ChaosCode.badArgs,
        `node ${t.id} (${kind} component "${component}") has no misbehaviour modes`,
        {
          exit: ExitCode.usage,
          hint:
            capable.length > 0
              ? `nodes that can turn Byzantine: ${capable.map((n) => n.id).join(', ')}; kill, pause or partition ${t.id} instead`
              : `no component of stack ${dep.outputs.stack} has misbehaviour modes; kill, pause or partition nodes instead`,
        },
      );
    }
    if (!modes.includes(mode)) {
      throw new TcError(ChaosCode.badArgs, `node ${t.id} (${kind}) has no misbehaviour mode "${mode}"`, {
        exit: ExitCode.usage,
        hint: `modes of ${kind}: ${modes.join(', ')}`,
      });
    }
  }
}

const refused = (e: unknown) => (e as NodeJS.ErrnoException).code === 'ECONNREFUSED';

/** Switch the targets into `mode` (checked by checkByzantineTargets) and record it in the journal. */
export async function setMisbehaviour(dep: Deployment, targets: NodeOutput[], mode: string): Promise<ActionResult[]> {
  requireLocal(dep);
  checkByzantineTargets(dep, targets, mode);
  const results = await settle(targets, async (n) => {
    try {
      await adminPost(dep, n, '/admin/fault', { mode });
      return { node: n.id, action: 'byzantine' as const, ok: true, message: `misbehaves: ${mode}` };
    } catch (e) {
      const r = failed(n.id, 'byzantine', e);
      if (refused(e)) r.message = 'not running (resume it first)';
      if (r.message.includes('fault injection is disabled')) {
        r.message =
          'its fault switch is off (spec config faultInjection); redeploy with `tclouds deploy --target local`';
      }
      return r;
    }
  });
  const j = await readJournal(dep.stackDir);
  for (const r of results) if (r.ok) j.byzantine[r.node] = mode;
  await writeJournal(dep.stackDir, j);
  return results;
}

/**
 * Set nodes back to correct behaviour: the targets whose kind has modes, or (null) every such node of the stack,
 * so a damaged or stale journal cannot leave a liar behind. Nodes that are not running, or whose switch is off,
 * are correct already.
 */
export async function healMisbehaviour(dep: Deployment, targets: NodeOutput[] | null): Promise<ActionResult[]> {
  requireLocal(dep);
  const nodes = (targets ?? allNodes(dep)).filter((n) => faultModesOf(dep, n.id).modes.length > 0);
  if (nodes.length === 0) return [];
  const j = await readJournal(dep.stackDir);
  const results = await settle(nodes, async (n) => {
    const was = j.byzantine[n.id];
    try {
      await adminPost(dep, n, '/admin/fault', { mode: 'none' });
      return {
        node: n.id,
        action: 'heal' as const,
        ok: true,
        message: was ? `behaves correctly again (was ${was})` : 'behaves correctly',
      };
    } catch (e) {
      if (refused(e)) return { node: n.id, action: 'heal' as const, ok: true, message: 'not running (starts correct)' };
      if (String((e as Error).message).includes('fault injection is disabled')) {
        return { node: n.id, action: 'heal' as const, ok: true, message: 'behaves correctly (fault switch off)' };
      }
      const r = failed(n.id, 'heal', e);
      if (r.message === 'timeout') r.message = 'timeout (paused? run `tclouds chaos resume` first)';
      return r;
    }
  });
  const after = await readJournal(dep.stackDir);
  for (const r of results) if (r.ok) delete after.byzantine[r.node];
  await writeJournal(dep.stackDir, after);
  // Report the nodes that were misbehaving, or that failed; with a selector, every target.
  return targets ? results : results.filter((r) => !r.ok || j.byzantine[r.node] !== undefined);
}

/** What `checkService` found: whether an ordered write and read through the real client came back right. */
export interface ServiceCheck {
  component: string;
  ok: boolean;
  /** The key written and the value it must read back. */
  key: string;
  wrote: string;
  read: string | null;
  latencyMs: number;
  error: string | null;
}

/**
 * An ordered KV write and an ordered read of the same key through components/smr/client.ts (f+1 matching replies).
 * Components running a user service module are not checked (null): only the KV service has known answers.
 */
export async function checkService(
  dep: Deployment,
  component: string,
  timeoutMs = 30_000,
): Promise<ServiceCheck | null> {
  const comp = dep.outputs.components[component];
  if (comp?.kind !== 'smr' || (comp.client.service ?? 'kv') !== 'kv') return null;
  const key = 'tclouds-chaos-check';
  const wrote = randomBytes(6).toString('hex');
  const t0 = performance.now();
  const result = (ok: boolean, read: string | null, error: string | null): ServiceCheck => ({
    component,
    ok,
    key,
    wrote,
    read,
    latencyMs: Math.round(performance.now() - t0),
    error,
  });
  // Loaded here: `chaos heal` and `chaos run` share this module and need no client (a start pays for what it uses).
  const { clientFromOutputs } = await import('../components/smr/client.js');
  const { decodeKvResult, encodeKvOp } = await import('../components/smr/services/kv.js');
  let client: Awaited<ReturnType<typeof clientFromOutputs>> | undefined;
  try {
    client = await clientFromOutputs(dep.stackDir, component, { timeoutMs });
    await client.connect(client.n - client.f, Math.min(timeoutMs, 5000));
    const session = client.session();
    const put = decodeKvResult((await session.invoke(encodeKvOp({ op: 'put', key, value: wrote }))).result);
    if ('error' in put || !put.ok) return result(false, null, `the write was answered ${JSON.stringify(put)}`);
    const get = decodeKvResult((await session.invoke(encodeKvOp({ op: 'get', key }), { readOnly: false })).result);
    const read = 'error' in get ? null : get.value;
    return result(read === wrote, read, read === wrote ? null : `read ${JSON.stringify(get)}, expected "${wrote}"`);
  } catch (e) {
    return result(false, null, (e as Error).message ?? String(e));
  } finally {
    await client?.close().catch(() => {});
  }
}

/**
 * Which cloud nodes a deploy restarts. A node reads its spec from the secret store at every start, so `pulumi up`
 * updating a spec secret changes nothing on the VM until the node restarts; the deploy then restarts exactly the
 * nodes whose spec or other secrets (key, admin token, writer key, bucket credentials, the software record: a new
 * build or runtime) changed, through rollout.ts.
 * What "changed" means is kept per target in `<stackDir>/pulumi/<target>.spec-digests.json`: the SHA-256 of what
 * each node was last (re)started with, its spec and secrets in a fixed order (the program outputs the new ones as
 * `specDigests`; each value hashed holds a random key or token, so the digest reveals none of them).
 *
 * `rolloutDecision` is pure: the shell (index.ts) reads the file, runs the restarts and writes what it returns.
 */
import { createHash } from 'node:crypto';
import type { Plan } from '../../components/plan-types.js';
import { changedNodes } from './rollout.js';

export type SpecDigests = Record<string, string>;

/** The digest a node's start is kept under: SHA-256 of the exact text of its secrets, spec first. */
export function specDigest(specText: string): string {
  return createHash('sha256').update(specText).digest('hex');
}

export interface RolloutDecision {
  /** Nodes that run an older spec than their secret now holds, in id order. */
  changed: string[];
  /** Whether the deploy can ask them to restart: their control ports are open to `clients.cidrs`. */
  reachable: boolean;
  /**
   * What to record when the restarts are not run (control ports closed): the new digest of every node except the
   * changed ones, which keep the old one so that a later deploy (with `clients.cidrs`) still restarts them.
   */
  recordWithoutRollout: SpecDigests;
}

/**
 * Compares the digests a deploy's nodes last started with (`before`, empty at the first deploy: every VM is new and
 * boots with its spec) with those `pulumi up` wrote (`after`). A node new in `after` starts with its spec: nothing
 * to restart.
 */
export function rolloutDecision(plan: Plan, before: SpecDigests, after: SpecDigests): RolloutDecision {
  const changed = changedNodes(before, after);
  const pending = new Set(changed);
  const recordWithoutRollout: SpecDigests = {};
  for (const [id, digest] of Object.entries(after)) recordWithoutRollout[id] = pending.has(id) ? before[id]! : digest;
  return { changed, reachable: plan.clients.cidrs.length > 0, recordWithoutRollout };
}

/**
 * What deploy says when nodes have a new spec or software it cannot restart them into (no client networks
 * declared).
 */
export function unreachableNote(changed: readonly string[]): string {
  const one = changed.length === 1;
  return (
    `${changed.length} node${one ? '' : 's'} (${changed.join(', ')}) got a new spec or software and ${one ? 'was' : 'were'} ` +
    'not restarted: their control ports are closed, since the topology declares no `clients.cidrs`. Each uses it ' +
    "at its next restart; to roll them now, declare `clients.cidrs` with this machine's address and deploy " +
    'again (a later deploy restarts them, at most f per component at a time)'
  );
}

/**
 * `log verify` as a pure function: from the segment copies read out of storage (one per core replica and segment),
 * the replicas' public keys and their forward-integrity seeds, rebuild the log and say what is wrong and where.
 *
 * A segment's content is accepted when at least f+1 replicas vouch for exactly that content: each with a valid
 * Ed25519 signature of its tree head and a valid forward-integrity MAC (secret A_{k+1} from its seed). f+1 cannot
 * all be compromised, and a replica compromised after the fact holds no secret of an earlier segment. The
 * accepted content must then also check on its own: sequence numbers continue the log, entries are canonical, the
 * Merkle root recomputed from every entry so far equals the head's, and the chain links the head to the previous
 * one. Every copy that differs from the accepted content, or whose authenticators fail, is reported with the first
 * entry where it differs: a copy written by a compromised replica is evidence, and verify fails on it. Pure.
 */
import { type KeyObject, verify as verifySignature } from 'node:crypto';
import { checkpointProblem, makeCheckpoint, type VerifyCheckpoint } from './checkpoint.js';
import { decodeEntry, type Entry } from './entry.js';
import { chainNext, genesisChain, macMatches, secretAt } from './forward-integrity.js';
import { Frontier } from './frontier.js';
import { MerkleTree } from './merkle.js';
import { headChainInput, headSignedBytes, type SegmentCopy, type TreeHead } from './segment.js';

export interface VerifyInput {
  /** `<stack>/<component>`: what tree heads are signed for. */
  log: string;
  n: number;
  f: number;
  /** Ed25519 public key of each core replica (index order). */
  keys: readonly KeyObject[];
  /** A_0 of each replica, or the reason it could not be read. */
  seeds: readonly (Uint8Array | string)[];
  /** Per segment number: what each replica's data unit held (a copy, or why it could not be read). */
  copies: ReadonlyMap<number, ReadonlyMap<number, SegmentCopy | string>>;
  /** A tree head saved earlier (`--since`): the log must still hold it as a prefix. */
  since?: { size: number; root: string } | undefined;
  /**
   * Parse every entry into `entries` (default true: query, tail and the console read them). `log verify` needs
   * none: it then checks each entry's canonical sequence prefix (`{"seq":N,`) instead of parsing it, a third of
   * the per-entry cost. What an entry says is bound by the Merkle root f+1 replicas signed either way.
   */
  decode?: boolean;
}

export interface VerifyProblem {
  segment?: number;
  replica?: number;
  /** Sequence number of the first entry concerned. */
  entry?: number;
  severity: 'error' | 'warning';
  message: string;
}

export interface VerifyReport {
  ok: boolean;
  size: number;
  segments: number;
  head: TreeHead | null;
  problems: VerifyProblem[];
  entries: Entry[];
  /** Every leaf, for proofs and consistency checks. */
  tree: MerkleTree;
  /** Where the next `--checkpoint` verification can start (the last verified head), if any segment verified. */
  checkpoint: VerifyCheckpoint | undefined;
}

interface Candidate {
  copy: SegmentCopy;
  vouchers: number[];
  /** Each voucher's signature of the head (what a checkpoint keeps). */
  sigs: { replica: number; sig: string }[];
}

export function verifyLog(input: VerifyInput): VerifyReport {
  const problems = seedProblems(input);
  const tree = new MerkleTree();
  const entries: Entry[] = [];
  const run = verifySegments(input, tree, { k: 0, chain: genesisChain(), head: null }, problems, entries);
  checkSince(input.since, tree, problems);
  return {
    ok: !problems.some((p) => p.severity === 'error'),
    size: tree.size,
    segments: run.k,
    head: run.head,
    problems,
    entries,
    tree,
    checkpoint: checkpointAfter(input, run, tree.size, () => tree.frontierHashes()),
  };
}

/**
 * Verification from a checkpoint (protocol/checkpoint.ts): only the segments after its head are checked, on top
 * of the tree edge and chain it holds; `input.copies` need hold only those. A checkpoint that does not check is an
 * error, never a silent full verification. No entries are parsed and there is no tree for proofs.
 */
export function verifyFrom(
  input: Omit<VerifyInput, 'since' | 'decode'>,
  cp: VerifyCheckpoint,
): Omit<VerifyReport, 'entries' | 'tree'> {
  const problems = seedProblems(input);
  const bad = checkpointProblem(cp, input);
  if (bad) {
    problems.push({ severity: 'error', message: `the checkpoint does not check: ${bad}` });
    return { ok: false, size: 0, segments: 0, head: null, problems, checkpoint: undefined };
  }
  const frontier = Frontier.from(cp.frontier);
  const start = { k: cp.head.segment + 1, chain: Buffer.from(cp.head.chain, 'hex'), head: cp.head };
  const run = verifySegments({ ...input, decode: false }, frontier, start, problems, undefined);
  return {
    ok: !problems.some((p) => p.severity === 'error'),
    size: frontier.size,
    segments: run.k,
    head: run.head,
    problems,
    checkpoint: run.accepted
      ? checkpointAfter(input, run, frontier.size, () => frontier.edge())
      : makeCheckpoint(input.log, cp.head, cp.signatures, { size: frontier.size, hashes: frontier.edge() }),
  };
}

function seedProblems(input: Pick<VerifyInput, 'seeds'>): VerifyProblem[] {
  const problems: VerifyProblem[] = [];
  input.seeds.forEach((s, i) => {
    if (typeof s === 'string')
      problems.push({
        replica: i,
        severity: 'warning',
        message: `forward-integrity seed of replica ${i} unreadable: ${s}`,
      });
  });
  return problems;
}

/** The tree a verification appends to: the whole tree (MerkleTree) or only its right edge (Frontier). */
interface GrowingTree {
  readonly size: number;
  appendText(entry: string): unknown;
  root(): Buffer;
}

interface SegmentsRun {
  /** The first segment not verified. */
  k: number;
  head: TreeHead | null;
  /** The content accepted for the last verified segment, with its vouchers. */
  accepted: Candidate | undefined;
}

/** Segments from `start.k` on, in order, until the last stored one or the first that does not check. */
function verifySegments(
  input: VerifyInput,
  tree: GrowingTree,
  start: { k: number; chain: Buffer; head: TreeHead | null },
  problems: VerifyProblem[],
  entries: Entry[] | undefined,
): SegmentsRun {
  let { chain, head } = start;
  let lastAccepted: Candidate | undefined;
  const numbers = [...input.copies.keys()].sort((a, b) => a - b);
  const last = numbers.length > 0 ? (numbers[numbers.length - 1] as number) : -1;
  let k = start.k;
  for (; k <= last; k++) {
    const copies = input.copies.get(k);
    if (!copies || copies.size === 0) {
      problems.push({
        segment: k,
        entry: tree.size,
        severity: 'error',
        message: `segment ${k} is missing from storage (entries from ${tree.size} on)`,
      });
      break;
    }
    const accepted = acceptSegment(input, k, copies, problems, tree.size);
    if (!accepted) break;
    const checked = checkContent(accepted.copy, k, tree, chain, input.decode === false ? undefined : entries);
    if (typeof checked === 'string') {
      problems.push({ segment: k, entry: accepted.copy.first, severity: 'error', message: checked });
      break;
    }
    chain = Buffer.from(accepted.copy.head.chain, 'hex');
    head = accepted.copy.head;
    lastAccepted = accepted;
    reportDissent(input, k, copies, accepted, problems);
  }
  if (k <= last)
    problems.push({
      segment: k,
      severity: 'error',
      message: `segments ${k}..${last} not verified: the log cannot be trusted past segment ${k - 1}`,
    });
  return { k, head, accepted: lastAccepted };
}

/** The checkpoint a run ends on: its last accepted head, the signatures of the replicas that vouched for it. */
function checkpointAfter(
  input: Pick<VerifyInput, 'log'>,
  run: SegmentsRun,
  size: number,
  edge: () => Buffer[],
): VerifyCheckpoint | undefined {
  if (!run.accepted || !run.head) return undefined;
  return makeCheckpoint(input.log, run.head, run.accepted.sigs, { size, hashes: edge() });
}

/**
 * Whether two copies say the same thing. Compared field by field rather than by a digest of each copy: copies
 * are almost always equal, and comparing equal strings costs far less than hashing them once per replica.
 */
function sameContent(a: SegmentCopy, b: SegmentCopy): boolean {
  if (a.segment !== b.segment || a.first !== b.first || a.entries.length !== b.entries.length) return false;
  const h = a.head;
  const g = b.head;
  if (h.size !== g.size || h.root !== g.root || h.time !== g.time || h.segment !== g.segment || h.chain !== g.chain) {
    return false;
  }
  for (let i = 0; i < a.entries.length; i++) if (a.entries[i] !== b.entries[i]) return false;
  return true;
}

/** The content f+1 replicas vouch for, or undefined (and an error) when none has that many. */
function acceptSegment(
  input: VerifyInput,
  k: number,
  copies: ReadonlyMap<number, SegmentCopy | string>,
  problems: VerifyProblem[],
  firstEntry: number,
): Candidate | undefined {
  const candidates: Candidate[] = [];
  for (const [replica, copy] of copies) {
    if (typeof copy === 'string') continue;
    const why = vouchFailure(input, k, replica, copy);
    if (why) continue;
    const c = candidates.find((x) => sameContent(x.copy, copy));
    if (c) {
      c.vouchers.push(replica);
      c.sigs.push({ replica, sig: copy.sig });
    } else candidates.push({ copy, vouchers: [replica], sigs: [{ replica, sig: copy.sig }] });
  }
  const strong = candidates.filter((c) => c.vouchers.length >= input.f + 1);
  if (strong.length === 1) return strong[0];
  const best = candidates.reduce((m, c) => Math.max(m, c.vouchers.length), 0);
  problems.push({
    segment: k,
    entry: firstEntry,
    severity: 'error',
    message:
      strong.length > 1
        ? `segment ${k}: two different contents each carry f+1 replicas' authenticators (more than f replicas compromised)`
        : `segment ${k}: no content carries valid authenticators of f+1=${input.f + 1} replicas (best: ${best}); entries from ${firstEntry} on cannot be trusted`,
  });
  for (const [replica, copy] of copies) {
    const why = typeof copy === 'string' ? `unreadable: ${copy}` : vouchFailure(input, k, replica, copy);
    if (why)
      problems.push({
        segment: k,
        replica,
        entry: firstEntry,
        severity: 'error',
        message: `segment ${k}, copy of replica ${replica}: ${why}`,
      });
  }
  return undefined;
}

/** Why a replica's copy does not vouch for its content, or undefined when its authenticators check. */
function vouchFailure(input: VerifyInput, k: number, replica: number, copy: SegmentCopy): string | undefined {
  if (copy.replica !== replica || copy.segment !== k || copy.head.segment !== k) {
    return `holds segment ${copy.segment} of replica ${copy.replica} (head of segment ${copy.head.segment}): moved or replayed`;
  }
  const key = input.keys[replica];
  if (!key) return `no public key for replica ${replica}`;
  const sig = Buffer.from(copy.sig, 'base64');
  if (!verifySignature(null, headSignedBytes(input.log, copy.head), key, sig))
    return 'tree head signature does not check (forged head)';
  const seed = input.seeds[replica];
  if (seed === undefined || typeof seed === 'string')
    return 'its forward-integrity seed is unreadable, so its MAC cannot be checked';
  const secret = secretFor(input, replica, seed, k + 1);
  if (!macMatches(secret, k, Buffer.from(copy.head.chain, 'hex'), Buffer.from(copy.mac, 'hex'))) {
    return "forward-integrity MAC does not check (written without the segment's secret: rewritten after the fact)";
  }
  return undefined;
}

/**
 * A_index of a replica, evolved on from the last one this verification computed (segments are checked in order,
 * so the whole log costs one hash per segment and replica, not one per segment squared).
 */
const evolved = new WeakMap<VerifyInput, Map<number, { index: number; secret: Buffer }>>();
function secretFor(input: VerifyInput, replica: number, seed: Uint8Array, index: number): Buffer {
  const cache = evolved.get(input) ?? new Map<number, { index: number; secret: Buffer }>();
  evolved.set(input, cache);
  const from = cache.get(replica);
  const secret = from && from.index <= index ? secretAt(from.secret, from.index, index) : secretAt(seed, 0, index);
  cache.set(replica, { index, secret });
  return secret;
}

/**
 * Checks the accepted content on its own and appends its entries to `tree` (and, parsed, to `out` when given); a
 * reason when it fails.
 */
function checkContent(
  c: SegmentCopy,
  k: number,
  tree: GrowingTree,
  chain: Buffer,
  out: Entry[] | undefined,
): string | undefined {
  if (c.first !== tree.size)
    return `segment ${k} starts at entry ${c.first}, but the log so far has ${tree.size} entries (entries missing or repeated)`;
  if (c.head.size !== c.first + c.entries.length)
    return `segment ${k}: its head says ${c.head.size} entries but it holds ${c.first}+${c.entries.length}`;
  for (let j = 0; j < c.entries.length; j++) {
    const text = c.entries[j] as string;
    const seq = c.first + j;
    if (out) {
      const e = decodeEntry(text);
      if (!e || e.seq !== seq) return `entry ${seq} of segment ${k} is malformed or out of order`;
      out.push(e);
    } else if (!hasSeqPrefix(text, seq)) return `entry ${seq} of segment ${k} is malformed or out of order`;
    tree.appendText(text);
  }
  if (tree.root().toString('hex') !== c.head.root)
    return `segment ${k}: the Merkle root of entries 0..${tree.size - 1} differs from its signed head`;
  const want = chainNext(chain, headChainInput(c.head)).toString('hex');
  if (want !== c.head.chain) return `segment ${k}: its head does not chain to the head of segment ${k - 1}`;
  return undefined;
}

/** Whether `text` starts as the canonical entry `seq` does (encodeEntry: `{"seq":<seq>,...`), without parsing it. */
function hasSeqPrefix(text: string, seq: number): boolean {
  const digits = String(seq);
  return (
    text.startsWith(SEQ_PREFIX) &&
    text.startsWith(digits, SEQ_PREFIX.length) &&
    text.charCodeAt(SEQ_PREFIX.length + digits.length) === COMMA &&
    text.charCodeAt(text.length - 1) === CLOSE_BRACE
  );
}
const SEQ_PREFIX = '{"seq":';
const COMMA = 44;
const CLOSE_BRACE = 125;

/** Every copy that is missing, unreadable, unauthenticated or different from the accepted content. */
function reportDissent(
  input: VerifyInput,
  k: number,
  copies: ReadonlyMap<number, SegmentCopy | string>,
  accepted: Candidate,
  problems: VerifyProblem[],
): void {
  for (let r = 0; r < input.n; r++) {
    const copy = copies.get(r);
    if (copy === undefined) {
      problems.push({
        segment: k,
        replica: r,
        severity: 'warning',
        message: `segment ${k}: replica ${r} stored no copy (it was down or catching up)`,
      });
      continue;
    }
    if (typeof copy === 'string') {
      problems.push({
        segment: k,
        replica: r,
        severity: 'error',
        message: `segment ${k}, copy of replica ${r} unreadable: ${copy}`,
      });
      continue;
    }
    if (accepted.vouchers.includes(r)) continue;
    const differs = firstDifference(accepted.copy, copy);
    const entry = differs ?? accepted.copy.first;
    const what = sameContent(copy, accepted.copy)
      ? 'same entries, but'
      : `differs from the agreed content at entry ${entry};`;
    const why = vouchFailure(input, k, r, copy) ?? 'not vouched';
    problems.push({
      segment: k,
      replica: r,
      entry,
      severity: 'error',
      message: `segment ${k}, copy of replica ${r}: ${what} ${why}`,
    });
  }
}

function firstDifference(a: SegmentCopy, b: SegmentCopy): number | undefined {
  const n = Math.max(a.entries.length, b.entries.length);
  for (let j = 0; j < n; j++) if (a.entries[j] !== b.entries[j]) return a.first + j;
  return a.first !== b.first ? Math.min(a.first, b.first) : undefined;
}

function checkSince(since: VerifyInput['since'], tree: MerkleTree, problems: VerifyProblem[]): void {
  if (!since) return;
  if (since.size > tree.size) {
    problems.push({
      entry: tree.size,
      severity: 'error',
      message: `the saved tree head has ${since.size} entries but the log now verifies only ${tree.size}: entries ${tree.size}..${since.size - 1} were removed (truncated or rolled back)`,
    });
    return;
  }
  if (tree.root(since.size).toString('hex') !== since.root) {
    problems.push({
      entry: 0,
      severity: 'error',
      message: `the log's first ${since.size} entries no longer have the saved root: history was rewritten`,
    });
  }
}

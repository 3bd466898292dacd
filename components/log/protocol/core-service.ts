/**
 * The Log Core as a deterministic SMR service (components/smr/services/service.ts): every replica executes the
 * same ordered appends and so assigns the same sequence numbers, times, tree and segments. A client accepts an
 * append once f+1 replicas replied identically with its sequence numbers, so no single replica can drop, reorder
 * or invent entries. Sealing a segment is part of the deterministic state too (the segment is full, the client
 * asked, or its oldest entry is SEAL_AFTER_MS old by the agreed clock); what each replica then does with it
 * (authenticate it with its own keys, store it) happens outside, through `onSeal`. Pure: time is ctx.timestamp.
 */
import type { ExecContext, Service } from '../../smr/services/service.js';
import { SEAL_AFTER_MS, SEGMENT_ENTRIES } from '../limits.js';
import { CoreOpSchema, type EntryInput, encodeStamped } from './entry.js';
import { chainNext, genesisChain } from './forward-integrity.js';
import { Frontier } from './frontier.js';
import { headChainInput, type SealedSegment, type TreeHead } from './segment.js';

export type CoreResult =
  | { ok: true; first: number; count: number; size: number }
  | { ok: true; sealed: number | null; size: number }
  | { ok: true; size: number; segments: number; open: number; head: TreeHead | null }
  | { error: string };

const enc = new TextEncoder();
/** Client keys of log consoles are `console-<component>` (plan.ts); only they may append on behalf of a token. */
export const CONSOLE_CLIENT_PREFIX = 'console-';
const dec = new TextDecoder();

export class LogCoreService implements Service {
  private frontier = new Frontier();
  private segments = 0;
  private open: string[] = [];
  private openSince = 0;
  private chain: Buffer = genesisChain();
  private head: TreeHead | null = null;

  constructor(
    private readonly onSeal: (s: SealedSegment) => void = () => {},
    private readonly segmentEntries = SEGMENT_ENTRIES,
    /** Producer client id -> the only cloud and node its entries may name (audited nodes, audit-plan.ts). */
    private readonly producers: Readonly<Record<string, { cloud: string; node: string }>> = {},
  ) {}

  get size(): number {
    return this.frontier.size;
  }
  get sealedSegments(): number {
    return this.segments;
  }

  execute(op: Uint8Array, ctx: ExecContext): Uint8Array {
    let parsed: unknown;
    try {
      parsed = JSON.parse(dec.decode(op));
    } catch {
      return result({ error: 'malformed log operation (not JSON)' });
    }
    const r = CoreOpSchema.safeParse(parsed);
    if (!r.success) {
      const i = r.error.issues[0];
      return result({ error: `malformed log operation: ${i?.path.join('.') || 'op'}: ${i?.message}` });
    }
    const o = r.data;
    if (o.op === 'head') {
      return result({ ok: true, size: this.size, segments: this.segments, open: this.open.length, head: this.head });
    }
    if (ctx.readOnly) return result({ error: 'read-only request cannot write' });
    if (this.open.length > 0 && ctx.timestamp - this.openSince >= SEAL_AFTER_MS) this.seal(ctx.timestamp);
    if (o.op === 'seal') {
      const sealed = this.open.length > 0 ? this.seal(ctx.timestamp) : null;
      return result({ ok: true, sealed, size: this.size });
    }
    return result(this.append(o.entries, ctx, o.onBehalf));
  }

  private append(entries: EntryInput[], ctx: ExecContext, onBehalf: string | undefined): CoreResult {
    const first = this.size;
    // The key the request was authenticated with (a session is `<client key id>/<session>`): the producer's account.
    const client = ctx.client.split('/')[0] as string;
    if (onBehalf !== undefined && !client.startsWith(CONSOLE_CLIENT_PREFIX)) {
      return { error: `client ${client} is not a console and cannot append on behalf of others` };
    }
    const account = onBehalf === undefined ? client : `${client}:${onBehalf}`;
    const origin = Object.hasOwn(this.producers, client) ? this.producers[client] : undefined;
    if (origin && entries.some((e) => e.cloud !== origin.cloud || e.node !== origin.node)) {
      return { error: `producer ${client} may only append entries of cloud ${origin.cloud}, node ${origin.node}` };
    }
    for (const e of entries) {
      const text = encodeStamped(e, this.size, ctx.timestamp, account);
      if (this.open.length === 0) this.openSince = ctx.timestamp;
      this.frontier.appendText(text);
      this.open.push(text);
      if (this.open.length >= this.segmentEntries) this.seal(ctx.timestamp);
    }
    return { ok: true, first, count: entries.length, size: this.size };
  }

  private seal(time: number): number {
    const segment = this.segments;
    const partial = { size: this.size, root: this.frontier.root().toString('hex'), time, segment };
    this.chain = chainNext(this.chain, headChainInput(partial));
    const head: TreeHead = { ...partial, chain: this.chain.toString('hex') };
    const entries = this.open;
    this.open = [];
    this.segments++;
    this.head = head;
    this.onSeal({ segment, first: head.size - entries.length, entries, head });
    return segment;
  }

  snapshot(): Uint8Array {
    return enc.encode(
      JSON.stringify({
        frontier: this.frontier.toJSON(),
        segments: this.segments,
        open: this.open,
        openSince: this.openSince,
        chain: this.chain.toString('hex'),
        head: this.head,
      }),
    );
  }

  restore(state: Uint8Array): void {
    const s = JSON.parse(dec.decode(state)) as {
      frontier: { size: number; hashes: string[] };
      segments: number;
      open: string[];
      openSince: number;
      chain: string;
      head: TreeHead | null;
    };
    this.frontier = Frontier.from(s.frontier);
    this.segments = s.segments;
    this.open = s.open;
    this.openSince = s.openSince;
    this.chain = Buffer.from(s.chain, 'hex');
    this.head = s.head;
  }
}

function result(r: CoreResult): Uint8Array {
  return enc.encode(JSON.stringify(r));
}

export function decodeCoreResult(bytes: Uint8Array): CoreResult {
  return JSON.parse(dec.decode(bytes)) as CoreResult;
}

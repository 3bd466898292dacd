/**
 * The replicated job tracker's state as an SMR service (`jobTracker: replicated`): the scheduling core (core.ts)
 * runs on every tracker replica, fed the same inputs in the same order by the SMR (components/smr), so every replica
 * computes the same schedule. No single tracker is trusted:
 *   - what a tracker shell saw from a worker or a client (a report, a loss, a submit, a cancel) is only an
 *     endorsement; the core takes it once f+1 distinct shells endorsed the identical input, so at least one correct
 *     shell saw it (a lying shell cannot invent a report, a vote or a job);
 *   - a worker counts as up while f+1 shells see it connected;
 *   - time is the SMR's: every input runs at the timestamp the instance's leader chose (the same on every replica),
 *     and any shell's tick advances it;
 *   - what the core decides (runs, aborts, ends) is carried out by every shell; workers act on an assignment only
 *     when f+1 trackers sent it identically, clients accept an answer only when f+1 trackers gave it.
 * Ended jobs' records are kept in the state (the last MAX_JOBS_KEPT), so `status` answers the same everywhere.
 */
import { z } from 'zod';
import type { ExecContext, Service } from '../smr/services/service.js';
import { type Action, type CoreSnapshot, SchedulerCore } from './core.js';
import { applyInput, type CoreInput, CoreInputSchema } from './core-input.js';
import { type JobMeta, type JobRecord, jobRecord, REPLICATED_TRACKER_TRUST } from './job-record.js';
import { MAX_JOBS_KEPT } from './limits.js';

/** What a shell may endorse: a core input without its time (the SMR's timestamp is used), and a job's identity. */
const Endorsable = z.object({
  input: CoreInputSchema,
  /**
   * For a submit: the job's name, the sha256 of its module (`module`: ordered with the job, so every shell and
   * worker knows which module bytes were submitted) and a digest of its module and chunks (shells endorse identical
   * content only).
   */
  job: z
    .object({
      name: z.string().max(200),
      replicated: z.boolean(),
      content: z.string().max(128),
      module: z.string().regex(/^[0-9a-f]{64}$/),
    })
    .optional(),
});

export const TrackerOpSchema = z.discriminatedUnion('t', [
  z.object({ t: z.literal('endorse'), ...Endorsable.shape }),
  z.object({ t: z.literal('view'), worker: z.string().min(1).max(128), up: z.boolean(), domain: z.string().max(300) }),
  z.object({ t: z.literal('tick') }),
]);
export type TrackerOp = z.infer<typeof TrackerOpSchema>;

interface ServiceState {
  core: CoreSnapshot;
  meta: JobMeta[];
  ended: JobRecord[];
  /** Per worker: the shells that see it connected, and its domain. */
  views: Array<{ worker: string; domain: string; up: string[] }>;
  /** Per job: input key -> the shells that endorsed it, or 'applied'. */
  endorsements: Array<{ job: string; keys: Array<[string, string[] | 'applied']> }>;
}

const enc = new TextEncoder();
const dec = new TextDecoder();
const OK = enc.encode('{"ok":true}');
const REFUSED = enc.encode('{"ok":false}');

export class TrackerService implements Service {
  core: SchedulerCore;
  readonly meta = new Map<string, JobMeta>();
  ended: JobRecord[] = [];
  private views = new Map<string, { domain: string; up: Set<string> }>();
  private endorsements = new Map<string, Map<string, Set<string> | 'applied'>>();

  /**
   * @param shells the client identities of the tracker shells (only they may send inputs)
   * @param onActions every replica's shell carries out what its own core decided
   */
  constructor(
    private readonly config: { slots: number; f: number; shells: ReadonlySet<string> },
    private readonly onActions: (actions: Action[]) => void = () => {},
  ) {
    this.core = new SchedulerCore({ slots: config.slots });
  }

  execute(op: Uint8Array, ctx: ExecContext): Uint8Array {
    if (ctx.readOnly || !this.config.shells.has(ctx.client.split('/')[0] ?? '')) return REFUSED;
    let parsed: TrackerOp;
    try {
      const r = TrackerOpSchema.safeParse(JSON.parse(dec.decode(op)));
      if (!r.success) return REFUSED;
      parsed = r.data;
    } catch {
      return REFUSED;
    }
    const shell = ctx.client.split('/')[0] as string;
    const now = ctx.timestamp;
    if (parsed.t === 'tick') this.apply({ t: 'tick', now });
    else if (parsed.t === 'view') this.view(shell, parsed.worker, parsed.up, parsed.domain, now);
    else this.endorse(shell, parsed, now);
    return OK;
  }

  /** A shell's view of one worker's connection: the core has it up while f+1 shells see it. */
  private view(shell: string, worker: string, up: boolean, domain: string, now: number): void {
    const v = this.views.get(worker) ?? { domain, up: new Set<string>() };
    if (up) {
      v.up.add(shell);
      v.domain = domain || v.domain;
    } else v.up.delete(shell);
    this.views.set(worker, v);
    const alive = this.core.aliveWorkers().includes(worker);
    if (!alive && v.up.size >= this.config.f + 1) this.apply({ t: 'up', worker, domain: v.domain, now });
    else if (alive && v.up.size < this.config.f + 1) this.apply({ t: 'down', worker, now });
  }

  private endorse(shell: string, op: Extract<TrackerOp, { t: 'endorse' }>, now: number): void {
    const input = op.input;
    if (input.t === 'tick' || input.t === 'forget' || input.t === 'up' || input.t === 'down') return;
    if (input.t === 'submit' && (!op.job || this.meta.has(input.job) || this.ended.some((r) => r.job === input.job)))
      return;
    const { now: _, ...timeless } = input;
    const key = JSON.stringify({ input: timeless, job: op.job ?? null });
    let perJob = this.endorsements.get(input.job);
    if (!perJob) {
      if (input.t !== 'submit' && !this.meta.has(input.job)) return;
      perJob = new Map();
      this.endorsements.set(input.job, perJob);
    }
    const seen = perJob.get(key) ?? new Set<string>();
    if (seen === 'applied') return;
    seen.add(shell);
    perJob.set(key, seen);
    if (seen.size < this.config.f + 1) return;
    perJob.set(key, 'applied');
    if (input.t === 'submit' && op.job) {
      this.meta.set(input.job, {
        id: input.job,
        name: op.job.name,
        reducers: input.reduces,
        replicated: op.job.replicated,
        f: input.f,
        moduleDigest: op.job.module,
      });
    }
    this.apply({ ...input, now } as CoreInput);
  }

  private apply(input: CoreInput): void {
    applyInput(this.core, input);
    const actions = this.core.drain();
    for (const a of actions) if (a.t === 'finished') this.recordEnd(a.job);
    if (actions.length > 0) this.onActions(actions);
  }

  /** An ended job: its record joins the state, the core and the endorsements forget it. */
  private recordEnd(job: string): void {
    const cj = this.core.jobs.get(job);
    const meta = this.meta.get(job);
    if (!cj || !meta) return;
    this.ended.push(jobRecord(meta, cj, 0, REPLICATED_TRACKER_TRUST));
    this.core.forget(job);
    this.meta.delete(job);
    this.endorsements.delete(job);
    while (this.ended.length > MAX_JOBS_KEPT) this.ended.shift();
  }

  snapshot(): Uint8Array {
    const state: ServiceState = {
      core: this.core.snapshot(),
      meta: [...this.meta.values()],
      ended: this.ended,
      views: [...this.views].map(([worker, v]) => ({ worker, domain: v.domain, up: [...v.up] })),
      endorsements: [...this.endorsements].map(([job, m]) => ({
        job,
        keys: [...m].map(([k, v]): [string, string[] | 'applied'] => [k, v === 'applied' ? v : [...v]]),
      })),
    };
    return enc.encode(JSON.stringify(state));
  }

  restore(bytes: Uint8Array): void {
    const s = JSON.parse(dec.decode(bytes)) as ServiceState;
    this.core = SchedulerCore.restore({ slots: this.config.slots }, s.core);
    this.meta.clear();
    for (const m of s.meta) this.meta.set(m.id, m);
    this.ended = s.ended;
    this.views = new Map(s.views.map((v) => [v.worker, { domain: v.domain, up: new Set(v.up) }]));
    this.endorsements = new Map(
      s.endorsements.map((e) => [e.job, new Map(e.keys.map(([k, v]) => [k, v === 'applied' ? v : new Set(v)]))]),
    );
  }
}

/**
 * The scheduling and voting core (components/mapreduce/core.ts) driven by a seeded simulation over many seeds: a pool
 * of workers, up to f of them Byzantine (lying with one colluding wrong vote, silent, or slow), sometimes a correct
 * worker crashing and coming back, random task durations. Checked on every seed: the job ends done with every
 * accepted vote the correct one, at most 2f+1 live replicas per task on distinct workers, reduces only after every
 * map was accepted, every liar that reported is named and no correct worker is; fault-free runs start exactly f+1
 * replicas per task and suspect nobody. The same seed gives the same action trace.
 */
import { describe, expect, it } from 'vitest';
import { type Action, SchedulerCore, taskName } from '../../components/mapreduce/core.js';

type Mode = 'correct' | 'wrong' | 'silent' | 'slow';

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface SimOptions {
  seed: number;
  faultFree?: boolean;
  /** Every correct replica of this map task reports the same job error. */
  errorAt?: number;
  /** Every replica of map-0 reports its own vote (a non-deterministic job module). */
  nondeterministic?: boolean;
  /** Tentative execution: reduces start on first map copies; a reduce that read a lie outputs a wrong vote. */
  tentative?: boolean;
  /** The job starts before its upload ends: each map's input arrives at a random time (`inputArrived`). */
  streamed?: boolean;
}

interface Event {
  at: number;
  seq: number;
  run: () => void;
}

function simulate(o: SimOptions) {
  const r = rng(o.seed);
  const f = 1 + Math.floor(r() * 2);
  const nWorkers = 2 * f + 1 + Math.floor(r() * 4);
  const workers = Array.from({ length: nWorkers }, (_, i) => ({ id: `w${i}`, domain: `c${i % 2}/${i}` }));
  const modes = new Map<string, Mode>(workers.map((w) => [w.id, 'correct']));
  const byz = o.faultFree ? 0 : Math.floor(r() * (f + 1));
  const kinds: Mode[] = ['wrong', 'silent', 'slow'];
  for (let i = 0; i < byz; i++)
    modes.set(workers[(i * 3 + o.seed) % nWorkers]?.id as string, kinds[Math.floor(r() * 3)] as Mode);
  const crashWorker =
    !o.faultFree && byz < f && r() < 0.5 ? workers.find((w) => modes.get(w.id) === 'correct')?.id : undefined;
  const core = new SchedulerCore({ slots: 1 + Math.floor(r() * 2) });
  const events: Event[] = [];
  let seq = 0;
  const at = (t: number, run: () => void) => events.push({ at: t, seq: seq++, run });
  const trace: string[] = [];
  const errors: string[] = [];
  const maps = 1 + Math.floor(r() * 12);
  const reduces = 1 + Math.floor(r() * 5);
  const down = new Set<string>();
  const arrived = new Set<number>(o.streamed ? [] : Array.from({ length: maps }, (_, i) => i));
  let now = 0;
  const check = (a: Action) => {
    const job = core.jobs.get('j');
    if (!job || a.t !== 'run') return;
    const t = (a.task === 'map' ? job.maps : job.reduces)[a.index];
    const live = t?.replicas.filter((x) => x.state === 'running' || x.state === 'done') ?? [];
    if (live.length > 2 * f + 1) errors.push(`${taskName(a.task, a.index)} has ${live.length} live replicas`);
    if (new Set(live.map((x) => x.worker)).size !== live.length)
      errors.push(`${taskName(a.task, a.index)}: two replicas on one worker`);
    if (a.task === 'reduce' && !o.tentative && job.maps.some((m) => m.accepted === null))
      errors.push('a reduce started before every map was accepted');
    if (a.task === 'reduce' && job.maps.some((m) => !m.replicas.some((x) => x.state === 'done')))
      errors.push('a reduce started before every map had a finished copy');
    if (down.has(a.worker)) errors.push(`a replica went to ${a.worker}, which is down`);
    if (a.task === 'map' && !arrived.has(a.index)) errors.push(`map-${a.index} started before its input arrived`);
  };
  const flush = () => {
    for (const a of core.drain()) {
      trace.push(JSON.stringify(a));
      check(a);
      if (a.t !== 'run') continue;
      const mode = modes.get(a.worker);
      if (mode === 'silent' || down.has(a.worker)) continue;
      const took = 10 + Math.floor(r() * 90) + (mode === 'slow' ? 20_000 : 0);
      let vote = `ok-${a.task}-${a.index}`;
      if (mode === 'wrong') vote = `lie-${a.task}-${a.index}`;
      if (o.errorAt === a.index && a.task === 'map' && mode === 'correct') vote = 'error:{"kind":"throw"}';
      if (o.nondeterministic && a.task === 'map' && a.index === 0) vote = `nd-${a.worker}`;
      // A correct reduce that read a lying map copy computes a wrong output, the same for every such reader.
      const basis = core.jobs.get('j')?.reduces[a.index]?.replicas[a.attempt]?.basis;
      if (a.task === 'reduce' && mode !== 'wrong' && basis?.some((b, i) => b.vote !== `ok-map-${i}`))
        vote = `misread-${a.index}`;
      const worker = a.worker;
      at(now + took, () => {
        if (!down.has(worker)) core.report('j', a.task, a.index, a.attempt, worker, vote, now);
      });
    }
  };
  for (const w of workers) core.workerUp(w, 0);
  core.submit('j', { f, maxReplicas: 2 * f + 1 }, { maps, reduces }, { timeoutMs: 60_000, stragglerMs: 2_000 }, 0, {
    tentative: o.tentative === true,
    ...(o.streamed ? { awaitingInput: Array.from({ length: maps }, (_, i) => i) } : {}),
  });
  flush();
  if (o.streamed) {
    for (let i = 0; i < maps; i++)
      at(Math.floor(r() * 3000), () => {
        arrived.add(i);
        core.inputArrived('j', i, now);
      });
  }
  if (crashWorker) {
    const t0 = 20 + Math.floor(r() * 200);
    at(t0, () => {
      down.add(crashWorker);
      core.workerDown(crashWorker, now);
    });
    at(t0 + 500 + Math.floor(r() * 3000), () => {
      down.delete(crashWorker);
      core.workerUp(workers.find((w) => w.id === crashWorker) as { id: string; domain: string }, now);
    });
  }
  const tick = () => {
    core.tick(now);
    if (now < 600_000) at(now + 50, tick);
  };
  at(50, tick);
  while (events.length > 0 && core.jobs.get('j')?.state === 'running') {
    events.sort((a, b) => a.at - b.at || a.seq - b.seq);
    const e = events.shift() as Event;
    now = e.at;
    e.run();
    flush();
  }
  return { core, job: core.jobs.get('j'), f, modes, trace, errors, maps, reduces };
}

describe('MapReduce scheduling and voting core, seeded simulation', () => {
  it('ends done with correct outputs, bounded replicas and the liars named, over 400 seeds', () => {
    for (let seed = 1; seed <= 400; seed++) {
      const { job, f, modes, errors } = simulate({ seed, streamed: seed % 3 === 0 });
      const ctx = `seed ${seed}`;
      expect(errors, ctx).toEqual([]);
      expect(job?.state, ctx).toBe('done');
      for (const t of [...(job?.maps ?? []), ...(job?.reduces ?? [])]) {
        expect(t.accepted, ctx).toBe(`ok-${t.kind}-${t.index}`);
        expect(t.agreeing.length, ctx).toBeGreaterThanOrEqual(f + 1);
        for (const x of t.replicas) {
          if (x.state === 'done' && modes.get(x.worker) === 'wrong') {
            expect(
              job?.suspects.some((s) => s.worker === x.worker && s.reason === 'mismatch'),
              ctx,
            ).toBe(true);
          }
        }
      }
      const named = job?.suspects.filter((s) => s.reason === 'mismatch').map((s) => s.worker) ?? [];
      for (const w of named) expect(modes.get(w), `${ctx}: ${w} named`).toBe('wrong');
    }
  });

  it('runs exactly f+1 replicas per task and suspects nobody when no worker is faulty', () => {
    for (let seed = 1; seed <= 400; seed++) {
      const { job, f, maps, reduces, errors } = simulate({ seed, faultFree: true, streamed: seed > 200 });
      expect(errors).toEqual([]);
      expect(job?.state).toBe('done');
      expect(job?.counters).toEqual({
        mapReplicas: maps * (f + 1),
        reduceReplicas: reduces * (f + 1),
        mismatches: 0,
        timeouts: 0,
        lost: 0,
        tentativeRestarts: 0,
      });
      expect(job?.suspects).toEqual([]);
    }
  });

  it('tentative execution: the same correct outputs over 400 seeds, restarting reduces that read a rejected copy', () => {
    let restarts = 0;
    for (let seed = 1; seed <= 400; seed++) {
      const { job, modes, errors } = simulate({ seed, tentative: true });
      const ctx = `seed ${seed}`;
      expect(errors, ctx).toEqual([]);
      expect(job?.state, ctx).toBe('done');
      for (const t of [...(job?.maps ?? []), ...(job?.reduces ?? [])])
        expect(t.accepted, ctx).toBe(`ok-${t.kind}-${t.index}`);
      const named = job?.suspects.filter((x) => x.reason === 'mismatch').map((x) => x.worker) ?? [];
      for (const w of named) expect(modes.get(w), `${ctx}: ${w} named`).toBe('wrong');
      restarts += job?.counters.tentativeRestarts ?? 0;
    }
    expect(restarts).toBeGreaterThan(0);
  });

  it('tentative execution, fault-free: exactly f+1 replicas per task, no restart', () => {
    for (let seed = 1; seed <= 200; seed++) {
      const { job, f, maps, reduces } = simulate({ seed, faultFree: true, tentative: true });
      expect(job?.state).toBe('done');
      expect(job?.counters).toEqual({
        mapReplicas: maps * (f + 1),
        reduceReplicas: reduces * (f + 1),
        mismatches: 0,
        timeouts: 0,
        lost: 0,
        tentativeRestarts: 0,
      });
    }
  });

  it('fails a job whose module throws at the same record on f+1 replicas, naming the task', () => {
    for (let seed = 1; seed <= 50; seed++) {
      const { job } = simulate({ seed, faultFree: true, errorAt: 0 });
      expect(job?.state).toBe('failed');
      expect(job?.failure).toMatchObject({ task: 'map-0', reason: 'error' });
    }
  });

  it('fails a non-deterministic job after 2f+1 disagreeing replicas, never running more', () => {
    for (let seed = 1; seed <= 50; seed++) {
      const { job, f } = simulate({ seed, faultFree: true, nondeterministic: true });
      expect(job?.state).toBe('failed');
      expect(job?.failure).toMatchObject({ task: 'map-0', reason: 'no-agreement' });
      expect(job?.maps[0]?.replicas.length).toBe(2 * f + 1);
    }
  });

  it('is deterministic: the same seed gives the same actions', () => {
    for (const seed of [3, 17, 99]) expect(simulate({ seed }).trace).toEqual(simulate({ seed }).trace);
  });
});

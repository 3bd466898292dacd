/**
 * The job tracker's journal on real files: the core's inputs written ahead and replayed give back the same core
 * (snapshot included), across compaction; a torn last line (a crash mid-append) ends the replay there and loses
 * only that input. Inputs appended in one turn go out together (group commit), each append's promise settling once
 * its line is on disk.
 */
import { appendFileSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { SchedulerCore } from '../../components/mapreduce/core.js';
import { applyInput, type CoreInput } from '../../components/mapreduce/core-input.js';
import { JOURNAL_COMPACT_INPUTS } from '../../components/mapreduce/limits.js';
import { TrackerJournal } from '../../components/mapreduce/tracker-journal.js';
import { nullLogger } from '../../runtime/logger.js';

const CONFIG = { slots: 1 };

/** A job on 4 workers driven to the middle of its reduces: every replica reports the same vote. */
function inputs(): CoreInput[] {
  const out: CoreInput[] = [];
  for (let i = 0; i < 4; i++) out.push({ t: 'up', worker: `w${i}`, domain: `c${i % 2}/${i}`, now: i });
  out.push({ t: 'submit', job: 'j1', f: 1, maps: 3, reduces: 2, timeoutMs: 1000, stragglerMs: 500, now: 10 });
  return out;
}

function drive(core: SchedulerCore, feed: (i: CoreInput) => void, steps: number): void {
  let now = 20;
  for (let s = 0; s < steps; s++) {
    const j = core.jobs.get('j1');
    const running = [...(j?.maps ?? []), ...(j?.reduces ?? [])].flatMap((t) =>
      t.replicas.filter((r) => r.state === 'running').map((r) => ({ t, r })),
    );
    const next = running[0];
    if (!next) break;
    now += 7;
    const vote = next.t.kind === 'map' ? `${'a'.repeat(64)},${'b'.repeat(64)}` : 'c'.repeat(64);
    const { t, r } = next;
    feed({ t: 'report', job: 'j1', kind: t.kind, index: t.index, attempt: r.attempt, worker: r.worker, vote, now });
  }
}

describe('the job tracker journal', () => {
  it('replays to the same core, before and after compaction', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'mr-journal-'));
    const j1 = new TrackerJournal(dir, nullLogger);
    const { core } = j1.open(CONFIG);
    const reference = new SchedulerCore(CONFIG);
    const feed = (i: CoreInput) => {
      applyInput(core, i);
      j1.append(i, core);
      applyInput(reference, i);
    };
    for (const i of inputs()) feed(i);
    drive(core, feed, 5);
    await j1.durable();
    await j1.close();
    const j2 = new TrackerJournal(dir, nullLogger);
    const back = j2.open(CONFIG);
    expect(back.replayed).toBeGreaterThan(5);
    expect(back.core.snapshot()).toEqual(reference.snapshot());
    // Opened again: everything is in the snapshot now, the log is empty, the core the same.
    drive(
      back.core,
      (i) => {
        applyInput(back.core, i);
        j2.append(i, back.core);
        applyInput(reference, i);
      },
      3,
    );
    await j2.durable();
    await j2.close();
    const j3 = new TrackerJournal(dir, nullLogger);
    const again = j3.open(CONFIG);
    expect(again.replayed).toBe(3);
    expect(again.core.snapshot()).toEqual(reference.snapshot());
    await j3.close();
  });

  it('appends made in one turn are all durable once each one settles, in their order', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'mr-journal-'));
    const j = new TrackerJournal(dir, nullLogger);
    const { core } = j.open(CONFIG);
    const reference = new SchedulerCore(CONFIG);
    const settled: number[] = [];
    const appends: Promise<void>[] = [];
    const feed = (i: CoreInput) => {
      applyInput(core, i);
      const n = appends.length;
      appends.push(j.append(i, core).then(() => void settled.push(n)));
      applyInput(reference, i);
    };
    for (const i of inputs()) feed(i);
    drive(core, feed, 20);
    await Promise.all(appends);
    expect(settled).toEqual(appends.map((_, n) => n));
    // Nothing queued or in flight: durable() settles at once, and every line is in the file already.
    await j.durable();
    const lines = readFileSync(path.join(dir, 'core.wal'), 'utf8').split('\n').filter(Boolean);
    expect(lines).toHaveLength(appends.length);
    await j.close();
    const back = new TrackerJournal(dir, nullLogger).open(CONFIG);
    expect(back.replayed).toBe(appends.length);
    expect(back.core.snapshot()).toEqual(reference.snapshot());
  });

  it('compacts while appending: the snapshot covers the lines queued behind the batch in flight', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'mr-journal-'));
    const j = new TrackerJournal(dir, nullLogger);
    const { core } = j.open(CONFIG);
    const appends: Promise<void>[] = [];
    for (let n = 0; n < JOURNAL_COMPACT_INPUTS + 50; n++) {
      const worker = `w${n % 5}`;
      const i: CoreInput = n % 2 === 0 ? { t: 'up', worker, domain: 'c0/0', now: n } : { t: 'down', worker, now: n };
      applyInput(core, i);
      appends.push(j.append(i, core));
      // Some turns end between appends, so batches go out while others queue.
      if (n % 997 === 0) await appends[n];
    }
    await Promise.all(appends);
    await j.close();
    expect(readFileSync(path.join(dir, 'core.wal'), 'utf8').split('\n').filter(Boolean).length).toBeLessThan(
      JOURNAL_COMPACT_INPUTS,
    );
    const back = new TrackerJournal(dir, nullLogger).open(CONFIG);
    expect(back.core.snapshot()).toEqual(core.snapshot());
  });

  it('a torn last line ends the replay: the inputs before it are kept', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'mr-journal-'));
    const j = new TrackerJournal(dir, nullLogger);
    const { core } = j.open(CONFIG);
    for (const i of inputs()) {
      applyInput(core, i);
      void j.append(i, core);
    }
    await j.durable();
    await j.close();
    appendFileSync(path.join(dir, 'core.wal'), '{"seq":99,"input":{"t":"tick","no');
    const back = new TrackerJournal(dir, nullLogger).open(CONFIG);
    expect(back.replayed).toBe(inputs().length);
    expect(back.core.snapshot()).toEqual(core.snapshot());
    expect(readFileSync(path.join(dir, 'core.wal'), 'utf8')).toBe('');
  });
});

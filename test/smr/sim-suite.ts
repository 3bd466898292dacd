/**
 * Shared body of the simulation suites (split in two files so vitest's two workers share the seeds).
 * SMR_SEEDS=N runs N seeds in total (default 3000), SMR_SEED_START=S shifts them, SMR_SEED=X replays one seed
 * and prints its drawn parameters and failures.
 */
import { expect, it } from 'vitest';
import { runSim, type SimResult } from './sim.js';

/** How a failed seed is reported: its first failures (a replica's exception among them), params and replay line. */
export function failureReport(r: SimResult, file: string): string {
  return `seed ${r.seed}: ${r.failures.slice(0, 3).join('; ')}\n  params ${r.params}\n  replay: SMR_SEED=${r.seed} npx vitest run ${file}`;
}

export function simulationSuite(part: 0 | 1, file: string): void {
  const single = process.env.SMR_SEED;
  if (single !== undefined) {
    it(`replays seed ${single}`, () => {
      const r = runSim(Number(single));
      process.stderr.write(
        `seed ${single} params ${r.params}\n decided ${r.decided} completed ${r.completed} ticks ${r.ticks}\n`,
      );
      expect(r.failures).toEqual([]);
    });
    return;
  }
  const total = Number(process.env.SMR_SEEDS ?? 3000);
  const start = Number(process.env.SMR_SEED_START ?? 1);
  const half = Math.ceil(total / 2);
  const from = start + part * half;
  const to = Math.min(start + total, from + half);
  it(`seeds ${from}..${to - 1}: agreement, integrity, linearizability, liveness after healing`, () => {
    const failed: string[] = [];
    let decided = 0;
    let completed = 0;
    for (let seed = from; seed < to; seed++) {
      const r = runSim(seed);
      decided += r.decided;
      completed += r.completed;
      if (!r.ok) {
        failed.push(failureReport(r, file));
        if (failed.length >= 5) break;
      }
    }
    expect(failed, failed.join('\n')).toEqual([]);
    // The runs did real work (not vacuous): instances were decided and client operations completed.
    expect(decided).toBeGreaterThan((to - from) * 3);
    expect(completed).toBeGreaterThan((to - from) * 5);
  }, 600_000);
}

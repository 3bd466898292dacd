/** Text renderings of MapReduce job records and votes for the `tclouds mapreduce` commands. */
import type { JobRecord } from '../components/mapreduce/job-record.js';
import type { ResultVote } from '../components/mapreduce/jobs.js';
import { style } from '../dashboard/style.js';

type Summary = Omit<JobRecord, 'taskDetail'>;

const stateText = (s: string) =>
  s === 'done' ? style.green(s) : s === 'running' ? style.yellow(s) : s === 'failed' ? style.red(s) : s;

/** One line of progress: tasks accepted, replicas started, mismatches, timeouts. */
export function progressLine(r: Summary): string {
  const t = r.tasks;
  const c = r.counters;
  return `${r.job} ${r.state}: map ${t.mapsAccepted}/${t.maps} · reduce ${t.reducesAccepted}/${t.reduces} · replicas ${c.mapReplicas + c.reduceReplicas} · mismatches ${c.mismatches} · timeouts ${c.timeouts}`;
}

export function recordLines(r: Summary): string[] {
  const lines = [
    `job ${r.job} (${r.name}): ${stateText(r.state)}`,
    `  tasks: map ${r.tasks.mapsAccepted}/${r.tasks.maps}, reduce ${r.tasks.reducesAccepted}/${r.tasks.reduces}; ${r.replicated ? `f=${r.f}, each task on ${r.f + 1}+ workers` : 'unreplicated (1 replica per task, no vote)'}`,
    `  replicas started: map ${r.counters.mapReplicas}, reduce ${r.counters.reduceReplicas}; mismatches ${r.counters.mismatches}, timeouts ${r.counters.timeouts}, lost ${r.counters.lost}`,
  ];
  if (r.disagreeing.length > 0) lines.push(`  disagreeing workers: ${r.disagreeing.join(', ')}`);
  const slow = [...new Set(r.suspects.filter((s) => s.reason === 'timeout').map((s) => s.worker))];
  if (slow.length > 0) lines.push(`  overdue workers: ${slow.join(', ')}`);
  if (r.failure) lines.push(`  ${style.red('failed')}: ${r.failure.message}`);
  lines.push(`  ${style.dim(r.trust)}`);
  return lines;
}

export function voteLines(v: ResultVote, wrote: string | null): string[] {
  const lines = v.parts.map((p) => {
    const agreed = p.replicas.filter((r) => r.agreed).map((r) => r.worker);
    const other = p.replicas.filter((r) => !r.agreed).map((r) => r.worker);
    const head = p.accepted
      ? style.green(`partition ${p.part}: ${agreed.length} replicas agree`)
      : style.red(`partition ${p.part}: no ${v.f + 1} replicas agree`);
    return `${head} (${agreed.join(', ')})${other.length > 0 ? `; disagreeing: ${other.join(', ')}` : ''}`;
  });
  if (wrote) lines.push(`wrote ${wrote}`);
  return lines;
}

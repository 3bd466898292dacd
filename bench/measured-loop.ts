/**
 * One closed-loop point over a set of SMR sessions, with the CPU time this process spent on it: shared by the
 * load-generator process (bench/smr-load.ts) and the single-process point of bench/smr.ts.
 */

import type { SmrSession } from '../components/smr/client.js';
import { closedLoop, type LoadResult } from '../components/smr/operations.js';

export async function measuredLoop(
  sessions: SmrSession[],
  clients: number,
  seconds: number,
  size: number,
): Promise<{ result: LoadResult; cpuSeconds: number }> {
  const u0 = process.cpuUsage();
  const result = await closedLoop((s, op) => sessions[s]!.invoke(op), clients, seconds, size);
  const u1 = process.cpuUsage(u0);
  return { result, cpuSeconds: (u1.user + u1.system) / 1e6 };
}

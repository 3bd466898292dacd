import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildStatus, type StatusReport } from '../../dashboard/status-model.js';
import { loadKeepProbability } from '../../placement/keep-probability.js';
import type { FaultModel } from '../../placement/majority.js';
import type { DeploymentOutputs } from '../../runtime/node-spec.js';
import type { BucketProbe, NodeProbe } from '../../stacks/deployment.js';

/** Recorded health data of a quickstart-like deployment (test/fixtures/status). */
export const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'status');

export function readFixture<T>(name: string): T {
  return JSON.parse(readFileSync(path.join(FIXTURES, name), 'utf8')) as T;
}

export const outputs = readFixture<DeploymentOutputs>('outputs.json');
export const model: FaultModel = { threat: 'byzantine-vm', keep: 'pm-majority', removal: false };

export type Round = 'healthy' | 'one-down' | 'leader-paused' | 'quorum-lost';

export function round(name: Round): { probes: Record<string, NodeProbe>; buckets: BucketProbe[] } {
  return readFixture(`round-${name}.json`);
}

/** The real advisor (placement/index.ts) when it is built, else null (the panel then says so). */
export const keepProbability = await loadKeepProbability();

export function report(name: Round): StatusReport {
  return buildStatus({
    outputs,
    placement: model,
    ...round(name),
    now: new Date('2026-11-22T02:00:00Z'),
    keepProbability,
  });
}

/** The healthy round with the given nodes reporting a misbehaviour mode (`fault` in their /health role fields). */
export function misbehavingReport(faults: Record<string, string>): StatusReport {
  const r = structuredClone(round('healthy'));
  for (const [id, mode] of Object.entries(faults)) {
    const health = r.probes[id]!.health!;
    health.role = { ...health.role, fault: mode };
  }
  return buildStatus({ outputs, placement: model, ...r, now: new Date('2026-11-22T02:00:00Z'), keepProbability });
}

/**
 * Whether a majority survives a set of lost machines: the rule the advisor's probabilities are about, shared by
 * the status dashboard (is the majority kept right now?) and chaos (did the drawn faults keep it?), so the live
 * verdict, the fault draw and the exact figures cannot disagree on what "kept" means.
 */
import type { Keep, Threat } from '../topology/schema.js';

/** A threat model: what a fault hits, which majority must survive, and whether attacks hit distinct targets. */
export interface FaultModel {
  threat: Threat;
  keep: Keep;
  removal: boolean;
}

/** PM index of every VM: VMs are numbered PM by PM, in layout order. */
export function vmOwners(layout: readonly number[]): number[] {
  const owners: number[] = [];
  layout.forEach((count, pm) => {
    for (let i = 0; i < count; i++) owners.push(pm);
  });
  return owners;
}

/** Does the majority survive when `lostPms` and `lostVms` are gone? (The rule shared with the advisor.) */
export function majorityKept(
  layout: readonly number[],
  lostPms: ReadonlySet<number>,
  lostVms: ReadonlySet<number>,
  keep: Keep,
): { kept: boolean; cleanPms: number; goodVms: number } {
  const owners = vmOwners(layout);
  let goodVms = 0;
  owners.forEach((pm, vm) => {
    if (!lostPms.has(pm) && !lostVms.has(vm)) goodVms++;
  });
  const cleanPms = layout.length - lostPms.size;
  const kept =
    keep === 'pm-majority'
      ? cleanPms >= Math.floor(layout.length / 2) + 1
      : goodVms >= Math.floor(owners.length / 2) + 1;
  return { kept, cleanPms, goodVms };
}

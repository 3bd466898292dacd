/**
 * Error codes of the plan compiler (TC300-TC301; deploying has TC302-TC349 in stacks/codes.ts). Stable: CI scripts
 * match on them. The README section `deploy` lists them with the deploy codes.
 */
export const PlanCode = {
  /** A component cannot be turned into a plan (internal inconsistency of a validated topology). */
  planFailed: 'TC300',
  /** Reserved: a cloud's `hosts` is smaller than the fault domains a layout needs (not raised: the advisor packs VMs). */
  notEnoughHosts: 'TC301',
} as const;

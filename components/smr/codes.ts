/**
 * Error codes of the SMR component: replicas, services and clients (TC420-TC449). Stable: scripts match on them.
 * Listed in README section `smr`.
 */
export const SmrCode = {
  /** SMR replica configuration is invalid (n < 3f+1, missing peers, unknown service). */
  config: 'TC420',
  /** The user service module cannot be loaded or lacks execute/snapshot/restore. */
  service: 'TC421',
  /** No deployment outputs (outputs.json) for the topology, or the component is missing/not SMR. */
  noDeployment: 'TC430',
  /** No client key usable from this machine for the component. */
  noClientKey: 'TC431',
  /** Not enough replicas answered identically before the timeout. */
  unavailable: 'TC432',
  /** Replies conflicted: n-f or more replies without f+1 identical ones. */
  conflict: 'TC433',
  /** Bad command arguments (e.g. unknown operation). */
  usage: 'TC434',
  /**
   * The client must sign (the component's `clientAuth: signature`, or --sign)
   * but no signing key for it is usable from this machine.
   */
  noSigningKey: 'TC435',
  /**
   * An ordered request got no quorum of identical replies in time. It may still be ordered and applied later (for
   * example once a partition heals): its outcome is unknown, not failed. Exit 8.
   */
  outcomeUnknown: 'TC436',
  /** The service refused the operation (e.g. a malformed operation): a failure, not a result. Exit 1. */
  rejected: 'TC437',
  /**
   * The replica's write-ahead log cannot be written, or would pass walMaxBytes and an early checkpoint could not
   * shrink it: the replica stops taking part (health `degraded`) rather than fill the disk or send unlogged votes.
   */
  walFailed: 'TC438',
} as const;

/**
 * Error codes of fault injection (TC502-TC599; TC500-TC501, reading a deployment, are stacks/deployment.ts's).
 * Stable: scripts match on them. The README section `status` lists the same table.
 */
export const ChaosCode = {
  /** A node, fault domain, component, bucket or object named on the command line does not exist. */
  unknownTarget: 'TC502',
  /** Chaos is only possible on the local target (it drives local processes and directories). */
  notLocal: 'TC503',
  /** A destructive action needs a confirmation: no TTY to ask on and no --yes. */
  needsConfirmation: 'TC504',
  /** The user declined the confirmation (or pressed Ctrl-C at it). */
  declined: 'TC505',
  /** Bad flag combination or value (e.g. both --node and --host, a fault count out of range). */
  badArgs: 'TC506',
  /** The local process control of the plan/deploy area is not available (stacks/local/control.ts). */
  noControl: 'TC507',
  /** Reserved: a missing admin token is TC328 (runtime/control-tls.ts), reported in each node's result. */
  adminFailed: 'TC508',
  /** The object copy to corrupt could not be found or written. */
  corruptFailed: 'TC509',
  /** A chaos action (kill/pause/resume/restart) failed. */
  actionFailed: 'TC510',
} as const;

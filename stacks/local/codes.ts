/**
 * Error codes of the plan/deploy area (TC300-TC349; the Pulumi realizer has TC350-TC399). Stable: CI scripts
 * match on them, so a code is never reused for another meaning. The README section `deploy` lists the same table.
 */
export const DeployCode = {
  /** A component cannot be turned into a plan (internal inconsistency of a validated topology). */
  planFailed: 'TC300',
  /** Reserved: a cloud's `hosts` is smaller than the fault domains a layout needs (not raised in this release: the advisor packs VMs). */
  notEnoughHosts: 'TC301',
  /** Unknown --target, or a target with nothing to realize. */
  badTarget: 'TC302',
  /** Local deploy of a component whose node software is not in this release (log, mapreduce, workflow...). */
  noNodeSoftware: 'TC303',
  /** A port a node needs on its loopback address is already in use, or the address cannot be bound. */
  portBusy: 'TC304',
  /** Another tclouds process holds the deployment lock. Exit 6. */
  locked: 'TC305',
  /** No deployment exists for this stack (destroy, outputs). Exit 4. */
  noDeployment: 'TC306',
  /** A confirmation is needed but there is no terminal and no --yes. Exit 2. */
  needsConfirmation: 'TC307',
  /** A node process did not become healthy (GET /health) in time, or exited at start. */
  nodeUnhealthy: 'TC308',
  /** Ctrl-C / SIGTERM: the operation was cancelled cleanly. Exit 130. */
  interrupted: 'TC309',
  /** state.json / outputs.json cannot be read or has an unknown version. */
  badState: 'TC310',
  /** The node host (`tclouds node run`) is not in this build. */
  noNodeHost: 'TC311',
  /** The stack has more clouds, fault domains or nodes than the 127.x address scheme can give addresses to. */
  tooManyNodes: 'TC312',
  /** The user answered no at the confirmation prompt. */
  declined: 'TC313',
  /** Chaos/control: the named node is not part of the local deployment. */
  unknownNode: 'TC314',
  /** Chaos/control: the node process could not be signalled or started. */
  controlFailed: 'TC315',
  /** The realizer for a cloud target is missing from this build. */
  noRealizer: 'TC316',
  /** A stack directory or bucket path cannot be created, or a loopback address is not usable on this OS. */
  localIo: 'TC317',
} as const;

export type DeployCodeValue = (typeof DeployCode)[keyof typeof DeployCode];

/** code -> one-line meaning, for the README table and `--json` consumers. */
export const DeployCodeMeaning: Record<DeployCodeValue, string> = {
  TC300: 'a component cannot be turned into a plan',
  TC301: 'reserved: fewer hosts than a layout needs',
  TC302: 'unknown target, or nothing to realize on that target',
  TC303: 'the local target has no node software for this component kind in this release',
  TC304: 'a port is in use on a loopback address the deployment needs',
  TC305: 'another tclouds process holds the deployment lock (exit 6)',
  TC306: 'no deployment exists for this stack (exit 4)',
  TC307: 'confirmation needed: no terminal and no --yes (exit 2)',
  TC308: 'a node did not become healthy',
  TC309: 'cancelled by Ctrl-C / SIGTERM (exit 130)',
  TC310: 'local state or outputs file unreadable or of an unknown version',
  TC311: 'the node host is not part of this build',
  TC312: 'too many clouds (16) or nodes in one address block (254) for the 127.x scheme',
  TC313: 'declined at the confirmation prompt',
  TC314: 'no such node in the local deployment',
  TC315: 'a node process could not be signalled or started',
  TC316: 'no realizer for this target in this build',
  TC317: 'a local directory or address cannot be used',
};

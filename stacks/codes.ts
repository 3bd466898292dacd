/**
 * Error codes of deploying, for every target (TC302-TC349; the plan compiler has TC300-TC301 in
 * components/plan-codes.ts, the Pulumi realizer TC350-TC399). Stable: CI scripts match on them, so a code is never
 * reused for another meaning. The README section `deploy` lists the same table.
 */
import { ControlPortCode } from '../runtime/control-tls.js';

export const DeployCode = {
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
  /**
   * A rolling update stopped: a restarted node did not become healthy or did not catch up with its group. The nodes
   * not yet restarted keep running their previous spec.
   */
  rolloutStopped: 'TC318',
  /** `deploy --wait healthy`: the deploy finished but a component had no quorum by the deadline. Exit 8. */
  notHealthy: 'TC319',
  /** `--backend` / TCLOUDS_PULUMI_BACKEND is not an s3://, azblob://, gs:// or file:// URL. Exit 2. */
  badBackend: 'TC320',
  /**
   * The Pulumi secrets passphrase cannot be read (PULUMI_CONFIG_PASSPHRASE_FILE) or the stack's passphrase file
   * cannot be written. Exit 4.
   */
  passphraseUnreadable: 'TC321',
  /** `tclouds doctor`: a check the chosen target needs failed (each failed line says what to do). Exit 7. */
  doctorFailed: 'TC322',
  /** A cloud rolling update cannot reach a node's control API, or the node refused the admin restart. Exit 1. */
  restartRefused: 'TC323',
  /** A node's pinned control certificate is missing from the stack directory or is not the one the outputs name. */
  controlPinMissing: ControlPortCode.pinMissing,
  /** A node's control port presented a certificate other than the pinned one, or spoke no TLS. */
  controlPinMismatch: ControlPortCode.pinMismatch,
  /** A node cannot load the control TLS key and certificate its spec names. */
  controlTlsMaterial: ControlPortCode.nodeMaterial,
  /** The admin token would cross the network in clear (plain HTTP to or on a non-loopback address). */
  controlPlainOnNetwork: ControlPortCode.plainOnNetwork,
  /** Neither a node's own admin token nor the stack's exists in the stack directory. */
  noAdminToken: ControlPortCode.noAdminToken,
  /**
   * `--target aws|azure|gcp` on a topology whose clouds span several providers: its cloud nodes are one deployment
   * (`--target clouds`), so that every node's spec names every peer's address. Exit 2.
   */
  spansProviders: 'TC335',
} as const;

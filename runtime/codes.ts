/**
 * Error codes of the node host, the transport and the SMR component (range TC400-TC499).
 * Listed in README section `smr`.
 */
export const NodeCode = {
  /** A key file or public key is not a valid X25519 key. */
  badKey: 'TC401',
  /** Only X25519 private keys can be written as node keys. */
  wrongKeyType: 'TC402',
  /** A key or token file cannot be read. */
  keyMissing: 'TC403',
  /** A key or token file is readable or writable by other users (like ssh, tclouds refuses to use it). */
  keyExposed: 'TC404',
  /** added (Ed25519 client signatures): a signing key file or signing public key is not a valid Ed25519 key. */
  badSigningKey: 'TC405',
  /** The node spec file cannot be read. */
  specMissing: 'TC410',
  /** The node spec is not valid JSON or does not match the NodeSpec contract. */
  specInvalid: 'TC411',
  /** The spec's publicKey does not match the key in keyFile. */
  keyMismatch: 'TC412',
  /** No role code for the spec's kind/role. */
  unknownRole: 'TC413',
  /** A port of the node is in use or cannot be bound. */
  bindFailed: 'TC414',
  /** The role failed to start. */
  roleFailed: 'TC415',
  /** SMR replica configuration is invalid (n < 3f+1, missing peers, unknown service). */
  smrConfig: 'TC420',
  /** The user service module cannot be loaded or lacks execute/snapshot/restore. */
  smrService: 'TC421',
  /** No deployment outputs (outputs.json) for the topology, or the component is missing/not SMR. */
  smrNoDeployment: 'TC430',
  /** No client key usable from this machine for the component. */
  smrNoClientKey: 'TC431',
  /** Not enough replicas answered identically before the timeout. */
  smrUnavailable: 'TC432',
  /** Replies conflicted: n-f or more replies without f+1 identical ones. */
  smrConflict: 'TC433',
  /** Bad command arguments (e.g. unknown operation). */
  smrUsage: 'TC434',
  /**
   * added (Ed25519 client signatures): the client must sign (the component's `clientAuth: signature`, or --sign)
   * but no signing key for it is usable from this machine.
   */
  smrNoSigningKey: 'TC435',
} as const;

/**
 * Error codes of the node host and the transport (TC400-TC419; the SMR component has TC420-TC449 in
 * components/smr/codes.ts). Listed in README section `smr`.
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
  /** Cloud boot: /etc/tclouds/boot.json cannot be read or does not match the boot contract. */
  bootFileInvalid: 'TC406',
  /** Cloud boot: the instance metadata service gave no identity (no role, managed identity or service account). */
  identityUnavailable: 'TC407',
  /** Cloud boot: the secret store refused a secret to the VM's identity (401/403). */
  secretDenied: 'TC408',
  /** Cloud boot: a secret could not be read (not found, store unreachable after retries, malformed answer). */
  secretFetchFailed: 'TC409',
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
  /** Cloud boot: the node software artifact could not be downloaded (denied, not found, unreachable). */
  artifactFetchFailed: 'TC416',
  /** Cloud boot: the downloaded artifact's SHA-256 is not the one in boot.json: nothing is installed. */
  artifactMismatch: 'TC417',
  /** Cloud boot: a fetched secret could not be written to its file. */
  secretWriteFailed: 'TC418',
} as const;

/**
 * Cloud boot, the node software installed at each start (runtime/cloud-boot/software.ts). Numbered in the range
 * given to cloud software delivery (TC366-TC379, beside the Pulumi realizer's codes); README section `pulumi`.
 */
export const SoftwareCode = {
  /** The node's `software` secret is not a software record (version 1: artifact or package, Node runtime). */
  recordInvalid: 'TC371',
  /** The Node runtime tarball's SHA-256 is not the pinned one: nothing of it is installed, the old runtime stays. */
  runtimeMismatch: 'TC372',
  /** The Node runtime could not be downloaded. */
  runtimeFetchFailed: 'TC373',
  /** Unpacking or installing the node software or the runtime failed: the previous install stays in use. */
  installFailed: 'TC374',
} as const;

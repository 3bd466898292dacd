/**
 * Error codes of the Pulumi realizer (TC350-TC399). Stable: CI scripts match on them, so a code is never reused
 * for another meaning. The README section `pulumi` lists the same table.
 */
export const PulumiCode = {
  /** The `pulumi` CLI is not installed (deploy/destroy/outputs need it; `plan` does not). Exit 7. */
  missingCli: 'TC350',
  /** A layout needs more fault domains than the chosen construct offers (suggests the next construct up). Exit 3. */
  tooManyDomains: 'TC351',
  /** The plan names a fault-domain construct this provider does not have. Exit 3. */
  unknownConstruct: 'TC352',
  /** A cloud of an AWS/Azure/GCP provider has no `region`. Exit 3. */
  missingRegion: 'TC353',
  /** The plan has nothing for this target (no cloud of this provider). Exit 3. */
  nothingForTarget: 'TC354',
  /** A layout the construct cannot reproduce (Azure availability sets spread evenly; the layout is uneven). Exit 3. */
  unevenLayout: 'TC355',
  /** Another update holds the Pulumi stack lock. Exit 6. */
  locked: 'TC356',
  /** Pulumi reported a failed update/destroy (the message carries Pulumi's diagnostics). Exit 1. */
  engineFailed: 'TC357',
  /** Ctrl-C / SIGTERM: the Pulumi operation was cancelled. Exit 130. */
  interrupted: 'TC358',
  /** No passphrase for the Pulumi secrets provider (TCLOUDS_PASSPHRASE). Exit 2. */
  missingPassphrase: 'TC359',
  /** A recorded engine stream (TCLOUDS_PULUMI_REPLAY) cannot be read. Exit 4. */
  badRecording: 'TC360',
  /** The plan needs more private addresses than the network scheme has (clouds per target or nodes per cloud). Exit 3. */
  addressSpace: 'TC361',
  /** destroy --keep-data without the record of what was deployed (which resources are data). Exit 4. */
  keepDataUnknown: 'TC362',
  /** Cloud boot: this build has no bundled first-boot fetcher (dist/boot/fetch-artifact.js). Exit 7. */
  bootFetcherMissing: 'TC363',
  /** Cloud boot: a boot value is unsafe for the boot script (not [A-Za-z0-9@._/:+=-], or a bad checksum). Exit 3. */
  bootValueInvalid: 'TC364',
  /** Cloud boot: the node software artifact could not be packed (no dist/, a missing dependency). Exit 7. */
  artifactPackFailed: 'TC365',
  /** `--node-package` is not an exact `name@version` (it is written into every VM's boot values). Exit 2. */
  badNodePackage: 'TC370',
  // TC371-TC374: the software installer on the VM (it runs below stacks/): `SoftwareCode` in runtime/codes.ts.
} as const;
export type PulumiCodeValue = (typeof PulumiCode)[keyof typeof PulumiCode];

/**
 * Plan-time checks of the cloud programs against the providers' documented limits and rules (TC380-TC399): each
 * fails before anything is created, with where it comes from and the next construct up (or what to change).
 */
export const LimitCode = {
  /** A firewall rule would have no source (its only sources are in another target, or no client CIDR). Exit 3. */
  ruleWithoutSource: 'TC380',
  /** A firewall rule would be open to the whole Internet without the topology declaring it. Exit 3. */
  openToWorld: 'TC381',
  /** AWS user data over 16 KB (measured on the rendered document). Exit 3. */
  userDataTooLarge: 'TC382',
  /** More VMs than a GCP spread placement policy takes. Exit 3. */
  spreadPolicyVms: 'TC383',
  /** A resource name over its provider's length limit, or against its naming rules. Exit 3. */
  nameTooLong: 'TC384',
  /** More fault domains than an Azure availability set has in this region (2 or 3). Exit 3. */
  regionFaultDomains: 'TC385',
  /** More VMs than one Azure availability set takes. Exit 3. */
  availabilitySetVms: 'TC386',
  /** destroy --delete-data without the record of what was deployed (which resources are data). Exit 4. */
  deleteDataUnknown: 'TC387',
  /** The stack's pinned images or name suffix file is unreadable. Exit 4. */
  badPins: 'TC388',
} as const;

/**
 * One cloud deployment over every provider of a topology (TC389-TC399): one program, one stack, every node's
 * address created before any VM so that every spec is complete in one pass.
 */
export const DeploymentCode = {
  /**
   * A component has nodes or buckets both on `provider: local` clouds and on aws/azure/gcp clouds: local nodes live
   * on this machine's loopback, which no cloud node can reach, nor they the cloud nodes. Exit 3.
   */
  localPeers: 'TC389',
  /** A node's spec would name a peer with no address (its cloud is in no deployment). Exit 3. */
  peerWithoutAddress: 'TC390',
  /** The record of the buckets a destroy kept (`<target>.kept.json`) is unreadable. Exit 4. */
  badKeptRecord: 'TC391',
} as const;

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
} as const;
export type PulumiCodeValue = (typeof PulumiCode)[keyof typeof PulumiCode];

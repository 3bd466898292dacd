/**
 * Error codes of the storage area (TC200-TC299). Stable: scripts and tests match on them.
 * The README section `storage` lists the same table.
 */
export const StorageCode = {
  /** n < 3f+1, unknown cloud, empty cloud list: the storage configuration cannot work. */
  badConfig: 'TC200',
  /** Fewer than n-f clouds answered (or answered validly): no quorum. */
  noQuorum: 'TC201',
  /** The data unit does not exist (no cloud holds signed metadata for it). */
  notFound: 'TC202',
  /** Clouds hold metadata for the data unit, but none is signed by our writer key. */
  wrongKey: 'TC203',
  /** Signed metadata was found, but not enough blocks/values matching its digests could be read. */
  integrity: 'TC204',
  /** Key file missing, unreadable, malformed or with unsafe permissions. */
  badKey: 'TC205',
  /** Another writer holds the lock of the data unit. */
  locked: 'TC206',
  /** A cloud driver call failed in a way that retries cannot fix (bad credentials, bad bucket). */
  driver: 'TC207',
  /** Bad name of a data unit or of a local file. */
  badName: 'TC208',
  /** The storage component, its topology or its clouds could not be resolved. */
  noComponent: 'TC209',
  /**
   * A request body larger than the gateway accepts. (Until metadata format 2 it also meant a DepSky-CA object over
   * 1 GiB; streamed CA has no such limit.)
   */
  tooLarge: 'TC210',
  /** Operation cancelled (Ctrl-C) or timed out. */
  aborted: 'TC211',
  /** Erasure-code or secret-share decoding failed (corrupt block with a valid digest cannot happen; bad parameters can). */
  decode: 'TC212',
  /** Storage gateway: request or response authentication failed (unknown client, bad MAC, replay). */
  gatewayAuth: 'TC213',
  /**
   * More than f clouds hold a metadata file of the data unit that is not metadata at all (damaged), and no valid
   * one: unlike TC203, no other key would read it. `storage scrub` shows every copy.
   */
  metadataUnreadable: 'TC214',
  /**
   * Storage gateway: the spec config's credential source of a cloud is not valid (unknown source, an instance
   * identity of another provider, a cloud not in the list, an Azure cloud without its storage account).
   */
  badCredentialSource: 'TC215',
  /** Storage gateway: the credentials file a cloud's source names is missing, unreadable or not a credentials file. */
  credentialsFile: 'TC216',
  /**
   * Storage gateway: the credentials file holds no usable credentials for the cloud (its target was not deployed
   * yet, or the record is not the provider's shape).
   */
  credentialsMissing: 'TC217',
  /** Storage gateway: the instance metadata service did not answer (down, refused, timed out). */
  metadataUnreachable: 'TC218',
  /**
   * Storage gateway: the instance metadata service answered without usable credentials (no role or identity
   * attached to the VM, an error status, a malformed answer).
   */
  metadataRefused: 'TC219',
  /** Streamed DepSky-CA: fewer than f+1 clouds hold a valid block of one segment (the message names it). */
  segmentLost: 'TC220',
  /** Streamed DepSky-CA: the input file or stream failed while it was being stored (nothing new became current). */
  sourceFailed: 'TC221',
  /** Storage gateway: Google's token service (STS) did not answer a federated token exchange. */
  federationUnreachable: 'TC222',
  /** Storage gateway: Google's STS refused the federated subject token or gave no access token. */
  federationRefused: 'TC223',
  /** Storage gateway: a `federated` source names no audience (no pool provider for this gateway's provider). */
  federationAudience: 'TC224',
  /** --via-gateway: the component has no deployed gateway (not mediator or appliance mode, or not deployed). */
  noGateway: 'TC250',
  /** The S3 access key list of the component is not valid (written by hand or by another tool). */
  badCredentialList: 'TC251',
  /** No gateway of the component answered (--via-gateway). */
  gatewayUnreachable: 'TC252',
} as const;
export type StorageCodeValue = (typeof StorageCode)[keyof typeof StorageCode];

/**
 * Error codes of the log component (TC450-TC469). Stable: scripts and tests match on them; a code is never reused
 * for another meaning.
 */
export const LogCode = {
  /** A log core, console or client configuration cannot work (bad n/f, missing keys or buckets). */
  config: 'TC450',
  /** An entry or a batch of entries is malformed or over a named limit. */
  badEntry: 'TC451',
  /** The log core refused an operation (the replicas agreed on the refusal). */
  rejected: 'TC452',
  /** `log verify` found entries, segments or tree heads that do not check. */
  verifyFailed: 'TC453',
  /** The deployment has no such log component, or it is not a log component. */
  noComponent: 'TC454',
  /** A proof was asked for entries or tree sizes the log does not have. */
  badProof: 'TC455',
  /** A query filter is malformed (time range, free text over its limit). */
  badQuery: 'TC456',
  /** Console: no token, a forged or expired token, or a token whose actor may not do this. */
  unauthorized: 'TC457',
  /** Console: the token is valid but the policy forbids the operation. */
  forbidden: 'TC458',
  /** A segment read from storage cannot be decoded at all. */
  badSegment: 'TC459',
  /** Storage could not be read or written (no quorum of clouds). */
  storage: 'TC460',
  /** A saved tree head (`--since`) is malformed or is not a prefix of the log now. */
  badHead: 'TC461',
  /** Console: no such route (HTTP 404). */
  noRoute: 'TC462',
  /** `auditLog` of a component names no log component of the stack (topology check and plan). */
  auditLog: 'TC463',
  /** `log verify --checkpoint FILE`: the file is not a verifier's checkpoint. */
  badCheckpoint: 'TC464',
} as const;
export type LogCodeValue = (typeof LogCode)[keyof typeof LogCode];

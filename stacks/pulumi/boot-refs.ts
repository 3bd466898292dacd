/**
 * What a cloud VM is told at boot, and nothing secret: the Node runtime its first boot installs to run the
 * installer, and which entries of the provider's secret store hold its spec, key, admin token, control TLS and
 * software record (which build to run: an artifact object of the stack and its SHA-256, or a published package,
 * and the pinned Node runtime). The VM reads those with its own identity (AWS instance role, Azure managed
 * identity, GCP service account) at every start, so user data never carries a secret, and neither a spec change
 * nor a new build changes user data (and so neither replaces the VM: deploy restarts the nodes in waves instead).
 *
 * The contract between the Pulumi programs (which create the objects, secrets and identities and fill these in)
 * and the boot script and node software on the VM (cloud-init.ts renders them; the node fetches what they name).
 * Pure types and checks: no Pulumi import.
 */
import type { CloudProvider } from './constructs.js';

/** The node software: the build that ran the deploy, packed with its locked production dependencies. */
export interface ArtifactRef {
  /**
   * The object, in the provider's own form: `s3://BUCKET/KEY` (AWS), `https://ACCOUNT.blob.core.windows.net/
   * CONTAINER/BLOB` (Azure), `gs://BUCKET/OBJECT` (GCP). Readable only by the stack's node identities.
   */
  locator: string;
  /** Lower-case hex SHA-256 of the artifact bytes; the VM refuses to install anything else. */
  sha256: string;
}

/** A published npm package instead of the artifact: only when the user asks for it (`--node-package`). */
export interface PublishedPackageRef {
  packageSpec: string;
}

/** The Node runtime a VM installs: an official tarball, pinned by version and checksum. */
export interface NodeRuntimeRef {
  version: string;
  url: string;
  sha256: string;
}

/** Where a fetched secret lands on the VM. */
export type NodeSecretKind =
  | 'spec'
  | 'node-key'
  | 'admin-token'
  /** The control port's TLS key and certificate (runtime/control-tls.ts), one file. */
  | 'control-tls'
  | 'writer-key'
  | 'bucket-credentials'
  | 'software';

export interface NodeSecretRef {
  kind: NodeSecretKind;
  /**
   * The secret store entry: an AWS Secrets Manager secret ARN, an Azure Key Vault secret id
   * (`https://VAULT.vault.azure.net/secrets/NAME`), or a GCP Secret Manager name (`projects/P/secrets/S`).
   * Always the latest version: a changed spec is picked up at the node's next start.
   */
  ref: string;
  /**
   * Absolute path on the VM the value is written to (0600, owned by the node's user): `SECRET_PATHS[kind]` of
   * cloud-init.ts, under the unit's RuntimeDirectory /run/tclouds (the spec's keyFile and adminTokenFile agree).
   */
  path: string;
}

export interface BootValues {
  nodeId: string;
  provider: CloudProvider;
  /** AWS region (Secrets Manager and S3 endpoints); unused elsewhere. */
  region?: string;
  /**
   * The runtime the first boot installs to run the installer: the pinned one of the build that created the VM.
   * What the node runs on afterwards is the runtime of its software record.
   */
  nodeRuntime: NodeRuntimeRef;
  secrets: NodeSecretRef[];
}

/** A node's `software` secret: what it runs (runtime/cloud-boot/software.ts reads it before every start). */
export type { SoftwareRecord } from '../../runtime/cloud-boot/software.js';

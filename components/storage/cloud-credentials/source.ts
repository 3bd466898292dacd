/**
 * How a storage gateway reaches one cloud's bucket: the one definition of the shapes a cloud deploy writes
 * (stacks/pulumi/node-boot.ts imports these types) and the gateway reads (config.ts, ./open.ts).
 *
 * - In the gateway's spec config, `credentials.<cloud>` is a `CredentialSource`: the VM's own provider identity
 *   (AWS instance role, Azure managed identity, GCP service account) for buckets of the gateway's own provider, or a
 *   credentials `file` for buckets of other providers. A cloud without an entry uses the SDK's environment.
 * - The `file` is the gateway's `bucket-credentials` secret: `BucketCredentialsFile`, per cloud the record the
 *   bucket's own deploy wrote (`keys/bucket-<cloud>-<bucket>.json` on the operator's machine).
 */
import { z } from 'zod';

export const CredentialSourceSchema = z.discriminatedUnion('source', [
  z.strictObject({ source: z.literal('aws-instance-role') }),
  z.strictObject({
    source: z.literal('azure-managed-identity'),
    /** The user-assigned identity's client id; needed only when the VM has more than one identity. */
    clientId: z.string().min(1).optional(),
  }),
  z.strictObject({ source: z.literal('gcp-service-account') }),
  /** Buckets of another target: the per-bucket credentials in the `bucket-credentials` secret, by cloud. */
  z.strictObject({ source: z.literal('file'), file: z.string().min(1) }),
  /**
   * GCP buckets from an AWS or Azure VM: the VM's own identity (`identity`) exchanged at Google's STS through the
   * stack's workload identity pool; no secret. The pool provider's audience is given here or, when the bucket's
   * deploy wrote it, in the `file`'s entry of the cloud (`credentials.audiences.<identity>`).
   */
  z.strictObject({
    source: z.literal('federated'),
    identity: z.enum(['aws', 'azure']),
    audience: z.string().min(1).optional(),
    file: z.string().min(1).optional(),
    /** Azure: the user-assigned identity's client id (when the VM has more than one). */
    clientId: z.string().min(1).optional(),
  }),
]);
export type CredentialSource = z.output<typeof CredentialSourceSchema>;
export type CredentialSourceName = CredentialSource['source'];

/** The provider whose instance identity a source names (a `file` works for every provider). */
export const IDENTITY_PROVIDER: Record<Exclude<CredentialSourceName, 'file' | 'federated'>, 'aws' | 'azure' | 'gcp'> = {
  'aws-instance-role': 'aws',
  'azure-managed-identity': 'azure',
  'gcp-service-account': 'gcp',
};

/** Secret parts of a bucket's record, per provider: what that provider's deploy issues for one bucket. */
export const AwsFileCredentialsSchema = z.object({
  accessKeyId: z.string().min(1),
  secretAccessKey: z.string().min(1),
  sessionToken: z.string().min(1).optional(),
});
export const AzureFileCredentialsSchema = z.union([
  /** A container SAS (what the Azure deploy issues), without the leading `?`. */
  z.object({ sasToken: z.string().min(1) }),
  /** A storage account key. */
  z.object({ accountKey: z.string().min(1) }),
]);
export const GcpFileCredentialsSchema = z.object({
  /** A service-account key file, base64 (as GCP's key resource returns it). */
  serviceAccountKeyJsonBase64: z.string().min(1),
});
/** What the GCP deploy writes for a bucket: per foreign provider, its workload identity pool provider's audience. */
export const GcpFederationRecordSchema = z.object({
  audiences: z.object({ aws: z.string().min(1).optional(), azure: z.string().min(1).optional() }),
});

/** One bucket's record, as its own deploy wrote it. `endpoint`: the S3 endpoint or the Azure account URL. */
export const BucketRecordSchema = z.object({
  provider: z.enum(['aws', 'azure', 'gcp']).optional(),
  cloud: z.string().optional(),
  bucket: z.string().optional(),
  region: z.string().optional(),
  endpoint: z.string().optional(),
  credentials: z.unknown(),
});
export type BucketRecord = z.output<typeof BucketRecordSchema>;

/** One cloud's entry of a gateway's `bucket-credentials` secret. */
export const BucketCredentialEntrySchema = z.object({
  provider: z.enum(['aws', 'azure', 'gcp']),
  bucket: z.string(),
  /** `identity`: the VM's own identity (no secret); `credentials`: the record the other target's deploy wrote. */
  source: z.enum(['identity', 'credentials', 'missing']),
  credentials: z.unknown().optional(),
});
export type BucketCredentialEntry = z.output<typeof BucketCredentialEntrySchema>;

export const BucketCredentialsFileSchema = z.object({
  version: z.literal(1),
  clouds: z.record(z.string(), BucketCredentialEntrySchema),
});
export type BucketCredentialsFile = z.output<typeof BucketCredentialsFileSchema>;

/** Where the gateway asks for its instance identity; unset: the provider's link-local address (./metadata.ts). */
export const MetadataEndpointsSchema = z.strictObject({
  aws: z.url().optional(),
  azure: z.url().optional(),
  gcp: z.url().optional(),
  /** Google's STS token endpoint (federated sources); unset: https://sts.googleapis.com/v1/token. */
  googleSts: z.url().optional(),
});
export type MetadataEndpoints = z.output<typeof MetadataEndpointsSchema>;

/**
 * Node configuration of storage gateways: written by plan.ts, completed by the realizer (`bucketPaths` on the local
 * target), parsed by node.ts.
 */
import { z } from 'zod';
import { ExitCode, TcError } from '../../kernel/errors.js';
import { parseNodeConfig } from '../node-config.js';
import { CredentialSourceSchema, IDENTITY_PROVIDER, MetadataEndpointsSchema } from './cloud-credentials/source.js';
import { StorageCode } from './codes.js';

const byCloud = <T extends z.ZodType>(value: T) => z.record(z.string(), value);

/** Azure storage account names: 3-24 lowercase letters and digits. */
const AZURE_ACCOUNT = /^[a-z0-9]{3,24}$/;

const GatewayConfigFields = z.object({
  protocol: z.enum(['depsky-a', 'depsky-ca']).default('depsky-ca'),
  f: z.int().min(0),
  n: z.int().min(1).optional(),
  clouds: z.array(z.string().min(1)).min(1),
  /** Bucket name per cloud. */
  buckets: byCloud(z.string().min(1)),
  /** Provider per cloud: how a gateway on a cloud VM reaches each bucket. */
  providers: byCloud(z.enum(['aws', 'azure', 'gcp', 'local'])).optional(),
  regions: byCloud(z.string()).optional(),
  /** Local target: the directory of each cloud's bucket (written by the local realizer). */
  bucketPaths: byCloud(z.string().min(1)).optional(),
  /** Writer key; default `storage-<component>-writer.key` next to the node key. */
  writerKeyFile: z.string().min(1).optional(),
  /** Largest request body accepted. */
  maxBodyBytes: z
    .int()
    .min(1)
    .default(1 << 30),
  /**
   * Cloud deploys: how the gateway reaches each cloud's bucket (its VM's identity, or a credentials file from the
   * secret store). A cloud without an entry uses the SDK's environment credentials.
   */
  credentials: byCloud(CredentialSourceSchema).optional(),
  /** Azure clouds: the storage account holding the container (the account URL is built from it). */
  accounts: byCloud(z.string().regex(AZURE_ACCOUNT, 'an Azure storage account name (3-24 a-z, 0-9)')).optional(),
  /** Per cloud, the service endpoint instead of the provider's: S3 endpoint, Azure account URL, GCS API. */
  endpoints: byCloud(z.url()).optional(),
  /** Per cloud, a CA file (PEM) to trust for its endpoint besides the system's (emulators, private CAs; Azure). */
  tlsCaFiles: byCloud(z.string().min(1)).optional(),
  /** Where the instance metadata services are (default: the providers' link-local addresses). */
  metadataEndpoints: MetadataEndpointsSchema.optional(),
});

/** A credential source must name a cloud of the gateway, and an instance identity only that cloud's provider's. */
function checkCredentials(cfg: z.output<typeof GatewayConfigFields>, ctx: z.core.$RefinementCtx): void {
  for (const [cloud, src] of Object.entries(cfg.credentials ?? {})) {
    const path = ['credentials', cloud];
    if (!cfg.clouds.includes(cloud)) {
      ctx.addIssue({ code: 'custom', path, message: `cloud ${cloud} is not one of the gateway's clouds` });
      continue;
    }
    const provider = cfg.providers?.[cloud];
    if (src.source === 'federated') {
      // Federation reaches GCP buckets only (Google's STS exchanges another provider's identity).
      if (provider !== 'gcp') {
        ctx.addIssue({
          code: 'custom',
          path,
          message: `federated reaches GCP buckets, but cloud ${cloud} is ${provider}`,
        });
      }
      continue;
    }
    if (src.source !== 'file' && provider !== IDENTITY_PROVIDER[src.source]) {
      ctx.addIssue({
        code: 'custom',
        path,
        message: `${src.source} is an identity of ${IDENTITY_PROVIDER[src.source]}, but cloud ${cloud} is ${provider ?? 'of no provider'}`,
      });
    }
    const azureNeedsAccount = provider === 'azure' && src.source !== 'file';
    if (azureNeedsAccount && !cfg.accounts?.[cloud] && !cfg.endpoints?.[cloud]) {
      ctx.addIssue({
        code: 'custom',
        path: ['accounts', cloud],
        message: `Azure cloud ${cloud} has no storage account`,
      });
    }
  }
}

export const StorageGatewayConfigSchema = GatewayConfigFields.superRefine(checkCredentials);
export type StorageGatewayConfig = z.output<typeof StorageGatewayConfigSchema>;
export type StorageGatewayConfigInput = z.input<typeof StorageGatewayConfigSchema>;

export const STORAGE_CONFIGS = { gateway: StorageGatewayConfigSchema } as const;

/** Fields whose problems are credential problems (TC215), not a badly written spec in general (TC200). */
const CREDENTIAL_FIELDS = new Set(['credentials', 'accounts', 'metadataEndpoints']);

/**
 * The gateway's config from a node spec. A bad credential source is TC215 naming the field; any other problem
 * TC200 (parseNodeConfig).
 */
export function parseStorageGatewayConfig(raw: unknown): StorageGatewayConfig {
  const parsed = StorageGatewayConfigSchema.safeParse(raw);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  if (!CREDENTIAL_FIELDS.has(String(issue.path[0]))) {
    return parseNodeConfig(StorageGatewayConfigSchema, raw, { code: StorageCode.badConfig, what: 'storage gateway' });
  }
  const where = `config.${issue.path.join('.')}`;
  throw new TcError(StorageCode.badCredentialSource, `storage gateway: ${where}: ${issue.message}`, {
    exit: ExitCode.invalid,
    hint: 'sources: aws-instance-role, azure-managed-identity (with `accounts`), gcp-service-account (each for a cloud of that provider), or { source: file, file: PATH }; a cloud deploy writes them',
    location: { path: where },
  });
}

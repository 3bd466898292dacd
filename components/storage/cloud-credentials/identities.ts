/**
 * The VM's own identity, per provider, as an expiring credential fetched from its instance metadata service:
 * - AWS: IMDSv2 (a session token from `PUT /latest/api/token`, then the role's temporary keys);
 * - Azure: a managed-identity access token for `https://storage.azure.com/` from Azure IMDS;
 * - GCP: the VM service account's access token from the GCE metadata server.
 * Each returns a `RefreshingCredential`: the drivers ask it per request, it fetches again before expiry.
 */
import { type CredentialSubject, metadataJson, metadataRefused, metadataRequest } from './metadata.js';
import { type Expiring, RefreshingCredential } from './token-cache.js';

/** IMDSv2 session tokens: the longest lifetime EC2 allows (6 h); one is asked for per credential fetch. */
const IMDS_TOKEN_TTL_SECONDS = 21_600;
/** Azure IMDS API version of the managed-identity token endpoint. */
const AZURE_IMDS_API_VERSION = '2018-02-01';
/** The resource (audience) of Azure Storage tokens. */
export const AZURE_STORAGE_RESOURCE = 'https://storage.azure.com/';

export interface AwsKeys {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v.length > 0 ? v : undefined;
}

/** A time the service gave, or TC219. */
function timeOf(provider: 'aws' | 'azure' | 'gcp', who: CredentialSubject, ms: number): number {
  if (!Number.isFinite(ms)) throw metadataRefused(provider, who, 'the metadata service gave no valid expiry time');
  return ms;
}

/** `now`: the clock deciding when to fetch again (tests move it); the expiry times come from the service. */
type Clock = () => number;

export function awsInstanceRole(endpoint: string, who: CredentialSubject, now?: Clock): RefreshingCredential<AwsKeys> {
  return new RefreshingCredential(async (): Promise<Expiring<AwsKeys>> => {
    const session = await metadataRequest('aws', who, `${endpoint}/latest/api/token`, {
      method: 'PUT',
      headers: { 'x-aws-ec2-metadata-token-ttl-seconds': String(IMDS_TOKEN_TTL_SECONDS) },
    });
    const headers = { 'x-aws-ec2-metadata-token': session.trim() };
    const base = `${endpoint}/latest/meta-data/iam/security-credentials/`;
    const role = (await metadataRequest('aws', who, base, { headers })).split('\n')[0]?.trim();
    if (!role) throw metadataRefused('aws', who, 'the instance has no role (no instance profile attached)');
    const c = metadataJson(
      'aws',
      who,
      await metadataRequest('aws', who, `${base}${encodeURIComponent(role)}`, { headers }),
    );
    const accessKeyId = str(c.AccessKeyId);
    const secretAccessKey = str(c.SecretAccessKey);
    const sessionToken = str(c.Token);
    if (c.Code !== 'Success' || !accessKeyId || !secretAccessKey || !sessionToken) {
      throw metadataRefused('aws', who, `the credentials of role ${role} are not usable (Code ${String(c.Code)})`);
    }
    return {
      value: { accessKeyId, secretAccessKey, sessionToken },
      expiresAt: timeOf('aws', who, Date.parse(String(c.Expiration))),
    };
  }, now);
}

export function azureManagedIdentity(
  endpoint: string,
  who: CredentialSubject,
  clientId?: string,
  now?: Clock,
): RefreshingCredential<string> {
  return new RefreshingCredential(async (): Promise<Expiring<string>> => {
    const q = new URLSearchParams({ 'api-version': AZURE_IMDS_API_VERSION, resource: AZURE_STORAGE_RESOURCE });
    if (clientId) q.set('client_id', clientId);
    const url = `${endpoint}/metadata/identity/oauth2/token?${q.toString()}`;
    const body = metadataJson(
      'azure',
      who,
      await metadataRequest('azure', who, url, { headers: { Metadata: 'true' } }),
    );
    const token = str(body.access_token);
    if (!token) throw metadataRefused('azure', who, 'the token answer has no access_token');
    return { value: token, expiresAt: timeOf('azure', who, Number(body.expires_on) * 1000) };
  }, now);
}

export function gcpServiceAccount(endpoint: string, who: CredentialSubject, now?: Clock): RefreshingCredential<string> {
  return new RefreshingCredential(async (): Promise<Expiring<string>> => {
    const url = `${endpoint}/computeMetadata/v1/instance/service-accounts/default/token`;
    const fetchedAt = (now ?? Date.now)();
    const body = metadataJson(
      'gcp',
      who,
      await metadataRequest('gcp', who, url, { headers: { 'Metadata-Flavor': 'Google' } }),
    );
    const token = str(body.access_token);
    if (!token) throw metadataRefused('gcp', who, 'the token answer has no access_token');
    return { value: token, expiresAt: timeOf('gcp', who, fetchedAt + Number(body.expires_in) * 1000) };
  }, now);
}

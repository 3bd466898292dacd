/**
 * The VM's own identity, from the instance metadata service of its provider: AWS instance role credentials
 * (IMDSv2: a session token first, then the role's temporary keys), an Azure managed-identity token, a GCP
 * service-account token. Nothing is stored: each start asks again (the credentials rotate).
 */
import { TcError } from '../../kernel/errors.js';
import { NodeCode } from '../codes.js';
import { type BootFile, endpoint } from './boot-file.js';
import { describe, fetchWithRetry } from './fetch.js';
import type { AwsCredentials } from './sigv4.js';

const LINK_LOCAL_IMDS = 'http://169.254.169.254';
const GCP_METADATA = 'http://metadata.google.internal';
/** IMDSv2 session token lifetime (seconds): long enough for the whole boot. */
export const IMDS_TOKEN_TTL_S = 21_600;
const AZURE_IMDS_API = '2018-02-01';

function unavailable(provider: string, what: string, why: string, hint: string): TcError {
  return new TcError(
    NodeCode.identityUnavailable,
    `${provider}: cannot get ${what} from the instance metadata service (${why})`,
    { hint },
  );
}

export async function awsRoleCredentials(boot: BootFile): Promise<AwsCredentials> {
  const base = endpoint(boot, 'awsImds', LINK_LOCAL_IMDS);
  const hint =
    'the instance needs an instance profile (IAM role) and IMDSv2 enabled (http-tokens required, hop limit 1 is fine)';
  const t = await fetchWithRetry(`${base}/latest/api/token`, () => ({
    method: 'PUT',
    headers: { 'x-aws-ec2-metadata-token-ttl-seconds': String(IMDS_TOKEN_TTL_S) },
  }));
  if (!t.response?.ok) throw unavailable('aws', 'an IMDSv2 token', describe(t), hint);
  const token = await t.response.text();
  const get = (path: string) =>
    fetchWithRetry(`${base}${path}`, () => ({ headers: { 'x-aws-ec2-metadata-token': token } }));
  const roles = await get('/latest/meta-data/iam/security-credentials/');
  if (!roles.response?.ok) throw unavailable('aws', 'the instance role', describe(roles), hint);
  const role = (await roles.response.text()).split('\n')[0]?.trim();
  if (!role) throw unavailable('aws', 'the instance role', 'no role attached', hint);
  const c = await get(`/latest/meta-data/iam/security-credentials/${encodeURIComponent(role)}`);
  if (!c.response?.ok) throw unavailable('aws', `the credentials of role ${role}`, describe(c), hint);
  const j = (await c.response.json().catch(() => ({}))) as Record<string, string>;
  if (!j.AccessKeyId || !j.SecretAccessKey)
    throw unavailable('aws', `the credentials of role ${role}`, 'malformed answer', hint);
  return { accessKeyId: j.AccessKeyId, secretAccessKey: j.SecretAccessKey, sessionToken: j.Token };
}

/** An Azure managed-identity access token for `resource` (https://vault.azure.net, https://storage.azure.com/). */
export async function azureToken(boot: BootFile, resource: string): Promise<string> {
  const base = endpoint(boot, 'azureImds', LINK_LOCAL_IMDS);
  const url = `${base}/metadata/identity/oauth2/token?api-version=${AZURE_IMDS_API}&resource=${encodeURIComponent(resource)}`;
  const a = await fetchWithRetry(url, () => ({ headers: { Metadata: 'true' } }));
  const hint =
    "the VM needs a managed identity (system- or user-assigned) with access to the stack's Key Vault and storage account";
  if (!a.response?.ok) throw unavailable('azure', `a managed-identity token for ${resource}`, describe(a), hint);
  const j = (await a.response.json().catch(() => ({}))) as { access_token?: string };
  if (!j.access_token) throw unavailable('azure', `a managed-identity token for ${resource}`, 'malformed answer', hint);
  return j.access_token;
}

export async function gcpToken(boot: BootFile): Promise<string> {
  const base = endpoint(boot, 'gcpMetadata', GCP_METADATA);
  const url = `${base}/computeMetadata/v1/instance/service-accounts/default/token`;
  const a = await fetchWithRetry(url, () => ({ headers: { 'Metadata-Flavor': 'Google' } }));
  const hint = 'the VM needs a service account with the cloud-platform scope';
  if (!a.response?.ok) throw unavailable('gcp', 'a service-account token', describe(a), hint);
  const j = (await a.response.json().catch(() => ({}))) as { access_token?: string };
  if (!j.access_token) throw unavailable('gcp', 'a service-account token', 'malformed answer', hint);
  return j.access_token;
}

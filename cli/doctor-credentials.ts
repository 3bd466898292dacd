/**
 * Where each cloud SDK would find credentials on this machine, found the way the SDKs look (environment first, then
 * the CLIs' files), WITHOUT contacting any cloud: no token is refreshed, no metadata endpoint is asked. A line says
 * where something was found, never what: no key, token or secret value leaves this module.
 *
 * - AWS: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, web identity (AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN),
 *   container credentials, then the profile (AWS_PROFILE, default `default`) in the shared credentials and config
 *   files (static keys, credential_process, role_arn, SSO with a cached token under ~/.aws/sso/cache); region from
 *   AWS_REGION / AWS_DEFAULT_REGION / the profile, or every aws cloud of the topology.
 * - Azure: a service principal in AZURE_* or ARM_* variables (secret, certificate, federated token, or managed
 *   identity with ARM_USE_MSI), else the `az login` cache in AZURE_CONFIG_DIR or ~/.azure; subscription from
 *   ARM_SUBSCRIPTION_ID / AZURE_SUBSCRIPTION_ID or the az default subscription.
 * - GCP: GOOGLE_CREDENTIALS / GOOGLE_APPLICATION_CREDENTIALS, else gcloud's application default credentials file;
 *   project from GOOGLE_PROJECT / GOOGLE_CLOUD_PROJECT / GCLOUD_PROJECT / CLOUDSDK_CORE_PROJECT or gcloud's active
 *   configuration.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

export type CheckStatus = 'ok' | 'warn' | 'fail' | 'skip';

/** One line of `tclouds doctor`. */
export interface Check {
  /** Stable id: `node`, `pulumi`, `aws.credentials`, `aws.region`, `ports`, `disk`, `state-backend`... */
  id: string;
  status: CheckStatus;
  /** Whether the chosen target needs this check to pass (a failed needed check makes doctor exit 1). */
  needed: boolean;
  /** What was found (where, never a secret value). */
  message: string;
  /** What to do when it is not ok. */
  fix?: string;
}

/** Where to look: the environment and the home directory (tests give a crafted one). */
export interface CredentialSources {
  env: NodeJS.ProcessEnv;
  home: string;
  /** Regions or projects the topology sets per cloud of this provider (empty when no topology was loaded). */
  fromTopology?: readonly string[];
  now?: number;
}

type Found = Omit<Check, 'needed'>;

const set = (env: NodeJS.ProcessEnv, name: string) => env[name] !== undefined && env[name] !== '';

function readText(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/** INI sections (`[name]`) with their `key = value` lines, as the AWS and gcloud files write them. */
export function parseIni(text: string): Map<string, Map<string, string>> {
  const sections = new Map<string, Map<string, string>>();
  let current: Map<string, string> | undefined;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header) {
      current = new Map();
      sections.set(header[1]!.trim(), current);
      continue;
    }
    const kv = /^([^=]+?)\s*=\s*(.*)$/.exec(line);
    if (kv && current) current.set(kv[1]!.trim().toLowerCase(), kv[2]!.trim());
  }
  return sections;
}

// ---------------------------------------------------------------- AWS

export function awsCredentials(src: CredentialSources): Found {
  const { env, home } = src;
  const fix =
    'set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run `aws configure` (or `aws sso login --profile NAME` and set AWS_PROFILE); on an EC2 instance with a role this check cannot see it (it asks no metadata endpoint)';
  if (set(env, 'AWS_ACCESS_KEY_ID') && set(env, 'AWS_SECRET_ACCESS_KEY'))
    return {
      id: 'aws.credentials',
      status: 'ok',
      message: 'in the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)',
    };
  if (set(env, 'AWS_ACCESS_KEY_ID') !== set(env, 'AWS_SECRET_ACCESS_KEY'))
    return {
      id: 'aws.credentials',
      status: 'fail',
      message: `only ${set(env, 'AWS_ACCESS_KEY_ID') ? 'AWS_ACCESS_KEY_ID' : 'AWS_SECRET_ACCESS_KEY'} is set`,
      fix: 'set both AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or neither',
    };
  if (set(env, 'AWS_WEB_IDENTITY_TOKEN_FILE') && set(env, 'AWS_ROLE_ARN'))
    return {
      id: 'aws.credentials',
      status: 'ok',
      message: 'web identity (AWS_WEB_IDENTITY_TOKEN_FILE, AWS_ROLE_ARN)',
    };
  if (set(env, 'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI') || set(env, 'AWS_CONTAINER_CREDENTIALS_FULL_URI'))
    return { id: 'aws.credentials', status: 'ok', message: 'container credentials (AWS_CONTAINER_CREDENTIALS_*)' };
  const profile = env.AWS_PROFILE || env.AWS_DEFAULT_PROFILE || 'default';
  const credFile = env.AWS_SHARED_CREDENTIALS_FILE || join(home, '.aws', 'credentials');
  const configFile = env.AWS_CONFIG_FILE || join(home, '.aws', 'config');
  const creds = parseIni(readText(credFile) ?? '').get(profile);
  if (creds?.has('aws_access_key_id') && creds.has('aws_secret_access_key'))
    return { id: 'aws.credentials', status: 'ok', message: `profile "${profile}" in ${credFile}` };
  const config = awsProfile(readText(configFile) ?? '', profile);
  if (config) {
    const where = `profile "${profile}" in ${configFile}`;
    if (config.has('aws_access_key_id')) return { id: 'aws.credentials', status: 'ok', message: where };
    if (config.has('credential_process'))
      return { id: 'aws.credentials', status: 'ok', message: `${where} (credential_process)` };
    if (config.has('role_arn')) return { id: 'aws.credentials', status: 'ok', message: `${where} (role_arn)` };
    if (config.has('sso_session') || config.has('sso_start_url')) return awsSso(src, where, profile);
  }
  const looked = env.AWS_PROFILE ? `profile "${profile}" not found in ${credFile} or ${configFile}` : 'none found';
  return { id: 'aws.credentials', status: 'fail', message: looked, fix };
}

/** A profile of the AWS config file: `[default]` or `[profile NAME]`. */
function awsProfile(text: string, profile: string): Map<string, string> | undefined {
  const sections = parseIni(text);
  return profile === 'default'
    ? (sections.get('default') ?? sections.get('profile default'))
    : sections.get(`profile ${profile}`);
}

function awsSso(src: CredentialSources, where: string, profile: string): Found {
  const dir = join(src.home, '.aws', 'sso', 'cache');
  const now = src.now ?? Date.now();
  let valid = false;
  let expired = false;
  for (const name of safeReaddir(dir)) {
    if (!name.endsWith('.json')) continue;
    try {
      const t = JSON.parse(readText(join(dir, name)) ?? '{}') as { accessToken?: unknown; expiresAt?: unknown };
      if (typeof t.accessToken !== 'string') continue;
      const at = Date.parse(String(t.expiresAt));
      if (Number.isFinite(at) && at > now) valid = true;
      else expired = true;
    } catch {
      // not a token file
    }
  }
  if (valid) return { id: 'aws.credentials', status: 'ok', message: `${where} (SSO, a cached login in ${dir})` };
  return {
    id: 'aws.credentials',
    status: 'fail',
    message: `${where} uses SSO, but ${expired ? `the cached login in ${dir} has expired` : `there is no cached login in ${dir}`}`,
    fix: `run \`aws sso login --profile ${profile}\``,
  };
}

export function awsRegion(src: CredentialSources): Found {
  const { env, home } = src;
  if ((src.fromTopology ?? []).length > 0)
    return {
      id: 'aws.region',
      status: 'ok',
      message: `from the topology (${[...new Set(src.fromTopology)].join(', ')})`,
    };
  for (const name of ['AWS_REGION', 'AWS_DEFAULT_REGION'])
    if (set(env, name)) return { id: 'aws.region', status: 'ok', message: `${env[name]} (${name})` };
  const profile = env.AWS_PROFILE || env.AWS_DEFAULT_PROFILE || 'default';
  const configFile = env.AWS_CONFIG_FILE || join(home, '.aws', 'config');
  const region = awsProfile(readText(configFile) ?? '', profile)?.get('region');
  if (region) return { id: 'aws.region', status: 'ok', message: `${region} (profile "${profile}" in ${configFile})` };
  return {
    id: 'aws.region',
    status: 'warn',
    message: 'no region set',
    fix: 'give every aws cloud of the topology a `region` (deploy refuses one without, TC353), or set AWS_REGION',
  };
}

// ---------------------------------------------------------------- Azure

export function azureCredentials(src: CredentialSources): Found {
  const { env } = src;
  for (const p of ['AZURE', 'ARM'] as const) {
    if (!set(env, `${p}_CLIENT_ID`)) continue;
    const how = [`${p}_CLIENT_SECRET`, `${p}_CLIENT_CERTIFICATE_PATH`, `${p}_FEDERATED_TOKEN_FILE`, `${p}_OIDC_TOKEN`]
      .filter((n) => set(env, n))
      .concat(set(env, 'ARM_USE_MSI') && env.ARM_USE_MSI !== 'false' ? ['ARM_USE_MSI'] : []);
    if (how.length > 0 && (set(env, `${p}_TENANT_ID`) || how.includes('ARM_USE_MSI')))
      return {
        id: 'azure.credentials',
        status: 'ok',
        message: `service principal in the environment (${p}_CLIENT_ID, ${p}_TENANT_ID, ${how.join(', ')})`,
      };
    return {
      id: 'azure.credentials',
      status: 'fail',
      message: `${p}_CLIENT_ID is set but not its tenant and secret, certificate or federated token`,
      fix: `set ${p}_TENANT_ID and ${p}_CLIENT_SECRET (or ${p}_CLIENT_CERTIFICATE_PATH / ${p}_FEDERATED_TOKEN_FILE)`,
    };
  }
  const dir = env.AZURE_CONFIG_DIR || join(src.home, '.azure');
  const cache = ['msal_token_cache.json', 'msal_token_cache.bin', 'accessTokens.json'].find((f) =>
    nonEmptyFile(join(dir, f)),
  );
  if (cache) return { id: 'azure.credentials', status: 'ok', message: `az login cache in ${join(dir, cache)}` };
  return {
    id: 'azure.credentials',
    status: 'fail',
    message: `no service principal in the environment and no az login cache in ${dir}`,
    fix: 'run `az login` (and `az account set --subscription ID`), or set ARM_CLIENT_ID, ARM_CLIENT_SECRET and ARM_TENANT_ID for a service principal',
  };
}

export function azureSubscription(src: CredentialSources): Found {
  const { env } = src;
  for (const name of ['ARM_SUBSCRIPTION_ID', 'AZURE_SUBSCRIPTION_ID'])
    if (set(env, name)) return { id: 'azure.subscription', status: 'ok', message: `from ${name}` };
  const dir = env.AZURE_CONFIG_DIR || join(src.home, '.azure');
  const file = join(dir, 'azureProfile.json');
  try {
    // az writes this file with a byte-order mark.
    const profile = JSON.parse((readText(file) ?? '').replace(/^\uFEFF/, '')) as {
      subscriptions?: { isDefault?: boolean; name?: string }[];
    };
    const def = profile.subscriptions?.find((s) => s.isDefault);
    if (def) return { id: 'azure.subscription', status: 'ok', message: `the az default subscription (${file})` };
  } catch {
    // no profile
  }
  return {
    id: 'azure.subscription',
    status: 'fail',
    message: 'no subscription chosen',
    fix: 'set ARM_SUBSCRIPTION_ID, or run `az account set --subscription ID` after `az login`',
  };
}

// ---------------------------------------------------------------- GCP

export function gcpCredentials(src: CredentialSources): Found {
  const { env } = src;
  if (set(env, 'GOOGLE_CREDENTIALS'))
    return { id: 'gcp.credentials', status: 'ok', message: 'in the environment (GOOGLE_CREDENTIALS)' };
  if (set(env, 'GOOGLE_APPLICATION_CREDENTIALS')) {
    const file = env.GOOGLE_APPLICATION_CREDENTIALS!;
    const type = credentialType(file);
    if (type === undefined)
      return {
        id: 'gcp.credentials',
        status: 'fail',
        message: `GOOGLE_APPLICATION_CREDENTIALS names ${file}, which cannot be read as a credentials file`,
        fix: 'point GOOGLE_APPLICATION_CREDENTIALS at a readable JSON credentials file, or unset it and run `gcloud auth application-default login`',
      };
    return { id: 'gcp.credentials', status: 'ok', message: `${type} in ${file} (GOOGLE_APPLICATION_CREDENTIALS)` };
  }
  const adc = join(gcloudDir(src), 'application_default_credentials.json');
  const type = credentialType(adc);
  if (type !== undefined)
    return { id: 'gcp.credentials', status: 'ok', message: `application default credentials (${type}) in ${adc}` };
  return {
    id: 'gcp.credentials',
    status: 'fail',
    message: `no GOOGLE_APPLICATION_CREDENTIALS and no application default credentials in ${adc}`,
    fix: 'run `gcloud auth application-default login`, or set GOOGLE_APPLICATION_CREDENTIALS to a credentials file (organisations that refuse service-account keys: use workload identity federation)',
  };
}

export function gcpProject(src: CredentialSources): Found {
  const { env } = src;
  if ((src.fromTopology ?? []).length > 0)
    return {
      id: 'gcp.project',
      status: 'ok',
      message: `from the topology (${[...new Set(src.fromTopology)].join(', ')})`,
    };
  for (const name of ['GOOGLE_PROJECT', 'GOOGLE_CLOUD_PROJECT', 'GCLOUD_PROJECT', 'CLOUDSDK_CORE_PROJECT'])
    if (set(env, name)) return { id: 'gcp.project', status: 'ok', message: `${env[name]} (${name})` };
  const dir = gcloudDir(src);
  const active = env.CLOUDSDK_ACTIVE_CONFIG_NAME || readText(join(dir, 'active_config'))?.trim() || 'default';
  const file = join(dir, 'configurations', `config_${active}`);
  const project = parseIni(readText(file) ?? '')
    .get('core')
    ?.get('project');
  // The Pulumi gcp provider reads the variables above, not gcloud's configuration: say which one to set.
  if (project)
    return {
      id: 'gcp.project',
      status: 'warn',
      message: `${project} in the gcloud configuration ${file}, which the Pulumi gcp provider does not read`,
      fix: `export GOOGLE_PROJECT=${project}`,
    };
  return {
    id: 'gcp.project',
    status: 'fail',
    message: 'no project set',
    fix: 'set GOOGLE_PROJECT (or run `gcloud config set project ID`)',
  };
}

function gcloudDir(src: CredentialSources): string {
  return src.env.CLOUDSDK_CONFIG || join(src.home, '.config', 'gcloud');
}

/** The `type` of a Google credentials file (service_account, authorized_user, external_account), or undefined. */
function credentialType(file: string): string | undefined {
  try {
    const j = JSON.parse(readText(file) ?? '') as { type?: unknown };
    return typeof j.type === 'string' ? j.type : 'credentials';
  } catch {
    return undefined;
  }
}

function nonEmptyFile(file: string): boolean {
  try {
    return statSync(file).size > 0;
  } catch {
    return false;
  }
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

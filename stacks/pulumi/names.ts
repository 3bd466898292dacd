/**
 * Names of the resources the cloud programs create, checked against each provider's naming rules before anything
 * exists. Pure (no Pulumi import, no I/O, no randomness: the suffix is made by the shell, `stack-pins.ts`).
 *
 * Two kinds of names:
 * - Globally unique ones (S3 buckets, GCS buckets, Azure storage accounts) are shared by every account in the
 *   world. The plan's bucket name `<stack>-<component>-<cloud>` alone collides between users who keep the
 *   default stack name, so these carry the stack's random suffix (made once, kept in the stack's state dir).
 * - Everything else is named by Pulumi from its logical name plus a random suffix (autonaming); the provider
 *   refuses names over its length limit at create time, half-way through a deploy. `checkNames` finds those
 *   before anything is created.
 */
import { createHash } from 'node:crypto';
import { ExitCode, TcError } from '../../kernel/errors.js';
import { LimitCode } from './codes.js';
import type { CloudProvider } from './constructs.js';
import type { RealizationModel } from './model.js';

/** Length of the stack's name suffix: 36^6 ≈ 2·10^9 values, lowercase letters and digits (valid everywhere). */
export const NAME_SUFFIX_LENGTH = 6;
export const NAME_SUFFIX_PATTERN = /^[a-z0-9]{6}$/;
/** Shown by `plan` before the first deploy has made the suffix. */
export const PENDING_SUFFIX = 'xxxxxx';

/**
 * S3: 3-63 characters, lowercase letters, digits, dots and hyphens, starting and ending with a letter or digit
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html).
 * GCS: 3-63 characters (without dots), lowercase letters, digits, dashes, underscores and dots, starting and
 * ending with a letter or digit, never starting with "goog" nor containing "google"
 * (https://cloud.google.com/storage/docs/buckets#naming).
 */
export const BUCKET_NAME_MAX = 63;
/** Azure storage accounts: 3-24 lowercase letters and digits, globally unique
 * (https://learn.microsoft.com/azure/azure-resource-manager/management/resource-name-rules#microsoftstorage). */
export const STORAGE_ACCOUNT_MAX = 24;
/** Azure blob containers: 3-63 lowercase letters, digits and single hyphens, starting with a letter or digit. */
export const CONTAINER_NAME_MAX = 63;

/** The cloud-side name of a planned bucket: the plan name, cut to fit, and the suffix (empty for stacks made before it). */
export function globalBucketName(planName: string, suffix: string): string {
  if (suffix === '') return planName;
  return `${fitName(planName, BUCKET_NAME_MAX - suffix.length - 1)}-${suffix}`;
}

/** Azure storage account of a bucket: `tc` + letters of the bucket + a digest, then the suffix; at most 24. */
export function storageAccountName(stack: string, cloud: string, bucket: string, suffix: string): string {
  const hashLen = suffix === '' ? 10 : 6;
  const hash = createHash('sha256').update(`${stack}/${cloud}/${bucket}`).digest('hex').slice(0, hashLen);
  const stemMax = STORAGE_ACCOUNT_MAX - 2 - hashLen - suffix.length;
  return `tc${bucket.replace(/[^a-z0-9]/g, '').slice(0, stemMax)}${hash}${suffix}`;
}

/** Container names refuse consecutive hyphens; a plan name is otherwise already valid (≤ 63, DNS-safe). */
export function containerName(planName: string): string {
  return planName.replace(/-{2,}/g, '-');
}

/** `s` cut to `max` characters, with a digest of the whole when cut, never ending in a hyphen. */
function fitName(s: string, max: number): string {
  if (s.length <= max) return s;
  const digest = createHash('sha256').update(s).digest('hex').slice(0, 8);
  return `${s.slice(0, max - digest.length - 1).replace(/-+$/, '')}-${digest}`;
}

/**
 * Pulumi autonaming appends `-` and 7 random hex characters to a logical name (the bridged AWS and GCP providers;
 * azure-native appends 8 characters): the physical name is at most the logical name plus 8.
 */
export const AUTONAME_EXTRA = 8;

/** A resource name and the longest the provider accepts for it. */
export interface NamedResource {
  what: string;
  name: string;
  max: number;
  /** Where in the topology the name comes from. */
  path: string;
}

/**
 * Per provider, the autonamed resources whose limits a long component, role or cloud name can break. Limits:
 * AWS IAM roles and users 64 (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html);
 * Azure (https://learn.microsoft.com/azure/azure-resource-manager/management/resource-name-rules) Linux VMs 64,
 * NSGs, NICs, public IPs, availability sets and dedicated host groups 80, dedicated hosts 64, VNets 64;
 * GCP resource names 63 (https://cloud.google.com/compute/docs/naming-resources).
 */
export function createdNames(model: RealizationModel): NamedResource[] {
  const out: NamedResource[] = [];
  const auto = (what: string, logical: string, max: number, path: string) =>
    out.push({ what, name: `${logical}-${'x'.repeat(AUTONAME_EXTRA - 1)}`, max, path });
  for (const cloud of model.clouds) {
    const cloudPath = `clouds.${cloud.name}`;
    if (model.provider === 'azure') auto('Azure virtual network', `${cloud.name}-vnet`, 64, cloudPath);
    if (model.provider === 'gcp') {
      auto('GCP network', `${cloud.name}-net`, 63, cloudPath);
      auto('GCP subnetwork', `${cloud.name}-subnet`, 63, cloudPath);
    }
    for (const g of cloud.groups) {
      const path = `components.${g.component}`;
      groupNames(model.provider, cloud.name, g, auto, path);
    }
    for (const b of cloud.buckets) {
      if (model.provider === 'aws') auto('AWS IAM user (bucket writer)', `${b.name}-writer`, 64, cloudPath);
    }
  }
  return out;
}

function groupNames(
  provider: CloudProvider,
  cloud: string,
  g: RealizationModel['clouds'][number]['groups'][number],
  auto: (what: string, logical: string, max: number, path: string) => void,
  path: string,
): void {
  const roles = [...new Set(g.nodes.map((n) => n.node.role))];
  const longestId = g.nodes.map((n) => n.node.id).sort((a, b) => b.length - a.length)[0] ?? '';
  if (provider === 'aws') {
    auto('AWS IAM role (node identity)', `${g.component}-nodes`, 64, path);
    return;
  }
  if (provider === 'azure') {
    auto('Azure Linux VM', longestId, 64, path);
    auto('Azure public IP', `${longestId}-ip`, 80, path);
    auto('Azure network interface', `${longestId}-nic`, 80, path);
    for (const role of roles) auto('Azure network security group', `${g.component}-${role}-${cloud}-nsg`, 80, path);
    if (g.construct.kind === 'azure:availability-set')
      auto('Azure availability set', `${g.component}-${cloud}-avset`, 80, path);
    if (g.construct.kind === 'azure:dedicated-host') {
      auto('Azure dedicated host group', `${g.component}-${cloud}-hosts`, 80, path);
      auto('Azure dedicated host', `${g.component}-${cloud}-host-${g.construct.domains.length}`, 64, path);
    }
    return;
  }
  auto('GCP instance', longestId, 63, path);
  auto('GCP address', `${longestId}-ip`, 63, path);
  for (const role of roles) auto('GCP firewall rule', `${g.component}-${role}-${cloud}-65535-v6`, 63, path);
  if (g.construct.kind === 'gcp:resource-policy')
    auto('GCP resource policy', `${g.component}-${cloud}-spread`, 63, path);
  if (g.construct.kind === 'gcp:sole-tenant-node')
    auto('GCP node group', `${g.component}-${cloud}-node-${g.construct.domains.length}`, 63, path);
}

/** Every created name within its provider's limit, and the global bucket names valid: else TC384 before anything exists. */
export function checkNames(model: RealizationModel, suffix: string): void {
  for (const r of createdNames(model)) {
    if (r.name.length > r.max) {
      throw new TcError(
        LimitCode.nameTooLong,
        `${r.what} "${r.name.replace(/x+$/, '…')}" would be ${r.name.length} characters; ${model.provider} allows ${r.max}`,
        {
          exit: ExitCode.invalid,
          hint: 'shorten the component, role or cloud name (the name is built from them, plus a random suffix)',
          location: { path: r.path },
        },
      );
    }
  }
  for (const cloud of model.clouds) {
    for (const b of cloud.buckets) {
      const name = globalBucketName(b.name, suffix);
      if (model.provider === 'gcp' && (name.startsWith('goog') || name.includes('google'))) {
        throw new TcError(LimitCode.nameTooLong, `GCS bucket name "${name}" starts with "goog" or contains "google"`, {
          exit: ExitCode.invalid,
          hint: 'GCS refuses such names: rename the stack, component or cloud',
          location: { path: `clouds.${cloud.name}` },
        });
      }
    }
  }
}

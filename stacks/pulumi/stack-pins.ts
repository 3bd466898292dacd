/**
 * What a stack keeps between deploys so that nothing changes unless the user asks (the shell around names.ts and
 * the image pins of the provider programs):
 *
 * - `<stackDir>/pulumi/names.json`: `{"suffix":"k3x9q2"}`, the random suffix of every globally unique name
 *   (buckets, storage accounts, the artifact store, Key Vaults), made once at the first deploy of any target and
 *   shared by all, so every target knows the others' names. Not secret. A destroy that deletes the data of the
 *   last deployed target forgets it.
 *   A stack deployed before suffixes existed (a `<target>.plan.json` but no names.json) keeps suffix "" so its
 *   buckets keep their names.
 * - `<stackDir>/pulumi/<target>.images.json`: `{"eu-west-1":"ami-..."}`, the VM image each region resolved to
 *   at the first deploy. Later deploys reuse it, so a new Ubuntu image never replaces VMs; `deploy
 *   --refresh-images` resolves again (and replaces the VMs whose image changed).
 */
import { randomInt } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeJsonAtomic } from '../../kernel/atomic-file.js';
import { ExitCode, TcError } from '../../kernel/errors.js';
import { LimitCode } from './codes.js';
import { NAME_SUFFIX_LENGTH, NAME_SUFFIX_PATTERN, PENDING_SUFFIX } from './names.js';

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';
const IMAGE_ID = /^[A-Za-z0-9._:/-]{1,256}$/;

function namesFile(stackDir: string): string {
  return join(stackDir, 'pulumi', 'names.json');
}

export function imagesFile(stackDir: string, target: string): string {
  return join(stackDir, 'pulumi', `${target}.images.json`);
}

function readJsonFile(file: string): unknown {
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    throw new TcError(LimitCode.badPins, `${file} is not valid JSON`, {
      exit: ExitCode.notFound,
      hint: 'restore it from a backup; deleting it renames the buckets (names.json) or re-resolves VM images (images)',
      location: { file },
    });
  }
}

/** The stack's suffix, if made (or "" for a stack deployed before suffixes). */
export function readNameSuffix(stackDir: string): string | undefined {
  const file = namesFile(stackDir);
  const v = readJsonFile(file) as { suffix?: unknown } | undefined;
  if (v === undefined) return anyTargetDeployed(stackDir) ? '' : undefined;
  if (typeof v.suffix !== 'string' || (v.suffix !== '' && !NAME_SUFFIX_PATTERN.test(v.suffix))) {
    throw new TcError(LimitCode.badPins, `${file} holds no valid name suffix`, {
      exit: ExitCode.notFound,
      hint: `expected {"suffix":"<${NAME_SUFFIX_LENGTH} lowercase letters or digits>"}`,
      location: { file },
    });
  }
  return v.suffix;
}

/** Some target of the stack is deployed (without names.json: deployed before suffixes, its buckets have none). */
function anyTargetDeployed(stackDir: string): boolean {
  const dir = join(stackDir, 'pulumi');
  return existsSync(dir) && readdirSync(dir).some((f) => f.endsWith('.plan.json'));
}

/** What `plan` shows: the suffix if made, else a placeholder of the same length. */
export function previewNameSuffix(stackDir: string): string {
  return readNameSuffix(stackDir) ?? PENDING_SUFFIX;
}

/** The stack's suffix, made (random) and kept at the first deploy. */
export async function ensureNameSuffix(stackDir: string): Promise<string> {
  const known = readNameSuffix(stackDir);
  if (known !== undefined) {
    if (!existsSync(namesFile(stackDir)))
      await writeJsonAtomic(namesFile(stackDir), { suffix: known }, { mkdir: true });
    return known;
  }
  let suffix = '';
  for (let i = 0; i < NAME_SUFFIX_LENGTH; i++) suffix += ALPHABET[randomInt(ALPHABET.length)];
  await writeJsonAtomic(namesFile(stackDir), { suffix }, { mkdir: true });
  return suffix;
}

/**
 * After a destroy that deleted the data: when no target of the stack is deployed any more, the next deploy draws a
 * new suffix (Azure keeps a deleted Key Vault's name reserved while it is soft-deleted). Data kept by a destroy
 * keeps its names, so the suffix is kept with it.
 */
export async function forgetNameSuffix(stackDir: string): Promise<void> {
  if (anyTargetDeployed(stackDir)) return; // another target is still deployed: its resources carry the suffix
  await rm(namesFile(stackDir), { force: true });
}

/** Images pinned for a target, by region. */
export function readImagePins(stackDir: string, target: string): Record<string, string> {
  const file = imagesFile(stackDir, target);
  const v = readJsonFile(file);
  if (v === undefined) return {};
  const ok = !!v && typeof v === 'object' && Object.values(v).every((x) => typeof x === 'string' && IMAGE_ID.test(x));
  if (!ok) {
    throw new TcError(LimitCode.badPins, `${file} does not map regions to image ids`, {
      exit: ExitCode.notFound,
      hint: `delete it to resolve the images again at the next deploy (VMs whose image changed are replaced), or restore it`,
      location: { file },
    });
  }
  return v as Record<string, string>;
}

/** Record what the deploy resolved (pins already kept win: they are what the VMs run). */
export async function recordImagePins(stackDir: string, target: string, resolved: unknown): Promise<void> {
  if (!resolved || typeof resolved !== 'object') return;
  const pins = { ...readImagePins(stackDir, target) };
  let changed = false;
  for (const [region, id] of Object.entries(resolved as Record<string, unknown>)) {
    if (typeof id === 'string' && IMAGE_ID.test(id) && pins[region] === undefined) {
      pins[region] = id;
      changed = true;
    }
  }
  if (changed) await writeJsonAtomic(imagesFile(stackDir, target), pins, { mkdir: true });
}

export async function clearImagePins(stackDir: string, target: string): Promise<void> {
  await rm(imagesFile(stackDir, target), { force: true });
}

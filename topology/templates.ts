/**
 * `tclouds init`: a topology file from templates/<mode>.yaml for the chosen providers.
 *
 * Each template is a valid, commented topology over four local clouds. Rendering replaces three things
 * in its text (so every comment stays exactly as written): the `name:` line, the `clouds:` block and the
 * `&all [...]` list that every component reuses as `*all`. With fewer providers than the components need
 * clouds (storage and Byzantine SMR with f=1 need 4), several clouds of one provider are declared, in
 * distinct regions, round-robin over the providers in the order given.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ExitCode, type Problem, TcError } from '../kernel/errors.js';
import { validateTopologyText } from './load.js';
import { type Mode, NAME_PATTERN, PROVIDERS, type Provider } from './schema.js';
import { closest } from './suggest.js';

/** Clouds the templates' components span: 3f+1 with f=1. */
export const TEMPLATE_CLOUD_COUNT = 4;

/** Regions used for the n-th cloud of a provider: distinct regions fail independently. */
export const PROVIDER_REGIONS: Record<Exclude<Provider, 'local'>, readonly string[]> = {
  aws: ['eu-west-1', 'eu-central-1', 'us-east-1', 'us-west-2'],
  azure: ['westeurope', 'northeurope', 'eastus', 'westus2'],
  gcp: ['europe-west1', 'europe-west4', 'us-central1', 'us-east1'],
};

export interface InitCloud {
  name: string;
  provider: Provider;
  region?: string;
}

export interface RenderedTopology {
  text: string;
  mode: Mode;
  name: string;
  clouds: InitCloud[];
  /** Providers given but not used (native mode runs on one provider). */
  ignoredProviders: Provider[];
  /** Warnings `tclouds validate` will show for this file (appliance mode: TC021). */
  warnings: Problem[];
}

/** The package root (holds templates/), found from this module both as .ts source and as compiled dist/. */
export function packageRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    if (existsSync(path.join(dir, 'package.json')) && existsSync(path.join(dir, 'templates'))) return dir;
    dir = path.dirname(dir);
  }
  throw new TcError('TC000', 'cannot find the templates/ folder of the tclouds package', {
    exit: ExitCode.failure,
    hint: 'the installation is incomplete; reinstall tclouds',
  });
}

export function templatePath(mode: Mode): string {
  return path.join(packageRoot(), 'templates', `${mode}.yaml`);
}

/** Parse `--clouds aws,azure,gcp,local`: known providers, order kept, duplicates dropped. */
export function parseProviders(list: string): Provider[] {
  const out: Provider[] = [];
  const items = list
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter((s) => s !== '');
  if (items.length === 0) {
    throw new TcError('TC031', '--clouds lists no provider', {
      exit: ExitCode.usage,
      hint: `give a comma-separated list of ${PROVIDERS.join(', ')}, e.g. --clouds local`,
    });
  }
  for (const item of items) {
    if (!(PROVIDERS as readonly string[]).includes(item)) {
      const near = closest(item, PROVIDERS);
      throw new TcError('TC031', `--clouds: unknown provider "${item}"`, {
        exit: ExitCode.usage,
        hint: `${near ? `did you mean "${near}"? ` : ''}providers: ${PROVIDERS.join(', ')}`,
      });
    }
    if (!out.includes(item as Provider)) out.push(item as Provider);
  }
  return out;
}

export function checkStackName(name: string): string {
  if (!NAME_PATTERN.test(name)) {
    throw new TcError('TC031', `--name "${name}" is not a valid stack name`, {
      exit: ExitCode.usage,
      hint: 'start with a lowercase letter; use lowercase letters, digits and dashes, at most 40 characters',
    });
  }
  return name;
}

/** Four clouds over the given providers, round-robin; numbered per provider (aws-1, aws-2, local-1, ...). */
export function cloudsFor(providers: readonly Provider[], count = TEMPLATE_CLOUD_COUNT): InitCloud[] {
  const perProvider = new Map<Provider, number>();
  const out: InitCloud[] = [];
  for (let i = 0; i < count; i++) {
    const provider = providers[i % providers.length] as Provider;
    const n = (perProvider.get(provider) ?? 0) + 1;
    perProvider.set(provider, n);
    const cloud: InitCloud = { name: `${provider}-${n}`, provider };
    if (provider !== 'local') {
      const regions = PROVIDER_REGIONS[provider];
      cloud.region = regions[(n - 1) % regions.length] as string;
    }
    out.push(cloud);
  }
  return out;
}

function cloudLines(clouds: readonly InitCloud[]): string {
  const width = Math.max(...clouds.map((c) => c.name.length)) + 1;
  return clouds
    .map((c) => {
      const fields = [`provider: ${c.provider}`, ...(c.region ? [`region: ${c.region}`] : [])].join(', ');
      return `  ${`${c.name}:`.padEnd(width)} { ${fields} }\n`;
    })
    .join('');
}

/** Replace exactly one match of `re` in `text`, or fail loudly (a template that lost its anchor is a bug). */
function replaceOnce(text: string, re: RegExp, by: string, what: string, file: string): string {
  const matches = text.match(new RegExp(re.source, `${re.flags.replace('g', '')}g`));
  if (matches?.length !== 1) {
    throw new TcError('TC000', `template ${file} must contain exactly one ${what}`, {
      exit: ExitCode.failure,
      hint: 'this is a bug in the tclouds templates; please report it',
    });
  }
  return text.replace(re, () => by);
}

/** Render the template of `mode` for `providers` and stack `name`. The result is validated before return. */
export function renderTopology(opts: { mode: Mode; providers: readonly Provider[]; name: string }): RenderedTopology {
  const { mode, name } = opts;
  checkStackName(name);
  if (opts.providers.length === 0) throw new TcError('TC031', 'no provider given', { exit: ExitCode.usage });
  // Native mode is one provider running TClouds on its own hosts (TClouds D2.2.1, section 4.2, "Native TClouds
  // cloud services provider"): use the first one given.
  const providers = mode === 'native' ? opts.providers.slice(0, 1) : [...opts.providers];
  const ignoredProviders = opts.providers.filter((p) => !providers.includes(p));
  const clouds = cloudsFor(providers);
  const file = templatePath(mode);
  let text = readFileSync(file, 'utf8');
  text = replaceOnce(text, /^name: .*$/m, `name: ${name}`, '`name:` line', file);
  text = replaceOnce(text, /^clouds:\n(?: {2}.*\n)+/m, `clouds:\n${cloudLines(clouds)}`, '`clouds:` block', file);
  text = replaceOnce(
    text,
    /&all \[[^\]\n]*\]/,
    `&all [${clouds.map((c) => c.name).join(', ')}]`,
    '`&all [...]` list',
    file,
  );

  // Never write a file that `validate` would reject: that would be a bug here, not the user's mistake.
  const check = validateTopologyText(text, path.basename(file));
  if (check.errors.length > 0) {
    throw new TcError('TC000', `internal error: the ${mode} template rendered an invalid topology`, {
      exit: ExitCode.failure,
      hint: 'this is a bug in tclouds; please report it with the command line you used',
      problems: check.errors,
    });
  }
  return { text, mode, name, clouds, ignoredProviders, warnings: check.warnings };
}

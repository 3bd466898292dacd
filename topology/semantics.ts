/**
 * Semantic rules of a topology: the relations between fields that a schema cannot express. Each rule has
 * its own code (codes.ts). The rules run on whatever parts of the file passed the schema, so a typo in one
 * component does not hide a fault-tolerance error in another: all problems are reported at once.
 */
import path from 'node:path';
import type { Problem } from '../kernel/errors.js';
import { quorumGroupSize, replicaCount, restsOnReplicaGroup, spreadOverClouds } from './replicas.js';
import type { Cloud, Component, Mode } from './schema.js';
import { closest } from './suggest.js';
import { type DataPath, formatPath, isWritten, locate, type ParsedYaml } from './yaml-source.js';

/** The parts of a topology that passed the schema (all of it when the file is schema-valid). */
export interface CheckedParts {
  name?: string;
  /** Undefined when the mode itself is invalid: mode rules are then skipped. */
  mode?: Mode;
  /** Clouds that passed the schema. */
  clouds: Record<string, Cloud>;
  /** Every declared cloud name, valid or not (so a bad cloud does not also cause "unknown cloud" errors). */
  cloudNames: readonly string[];
  /** Components that passed the schema. */
  components: Record<string, Component>;
  /** Whether `components` was given as a mapping at all (else TC026 would be noise). */
  componentsDeclared: boolean;
}

export interface SemanticResult {
  errors: Problem[];
  warnings: Problem[];
}

const PROVIDER_NAMES = { aws: 'AWS', azure: 'Azure', gcp: 'GCP', local: 'local' } as const;

export function checkSemantics(t: CheckedParts, parsed: ParsedYaml, file: string): SemanticResult {
  const errors: Problem[] = [];
  const warnings: Problem[] = [];
  const report = (
    code: string,
    severity: 'error' | 'warning',
    message: string,
    hint: string | undefined,
    at: DataPath,
    which: 'key' | 'value' = 'value',
  ): void => {
    const p: Problem = {
      code,
      severity,
      message,
      ...(hint === undefined ? {} : { hint }),
      file,
      ...locate(parsed, at, which),
      path: formatPath(at),
    };
    (severity === 'error' ? errors : warnings).push(p);
  };

  checkClouds(t, report);
  const used = new Set<string>();
  for (const [name, c] of Object.entries(t.components)) checkComponent(name, c, t, parsed, report, used);
  checkAuditLogs(t, report);

  const rawCount = rawComponentCount(parsed);
  if (t.componentsDeclared && rawCount === 0) {
    report(
      'TC026',
      'warning',
      'the topology declares no components: there is nothing to deploy',
      'add a component, e.g. `vault: { kind: storage, f: 1, clouds: [a, b, c, d] }`',
      ['components'],
    );
  }
  // "Unused" is only meaningful when every component was understood (a broken one may use the cloud).
  if (rawCount > 0 && rawCount === Object.keys(t.components).length) {
    for (const cloud of t.cloudNames) {
      if (used.has(cloud)) continue;
      report(
        'TC025',
        'warning',
        `cloud "${cloud}" is declared but no component uses it`,
        "add it to a component's clouds or remove it",
        ['clouds', cloud],
        'key',
      );
    }
  }
  return { errors, warnings };
}

/** `auditLog:` names a `kind: log` component of the same topology (TC463). */
function checkAuditLogs(t: CheckedParts, report: Report): void {
  for (const [name, c] of Object.entries(t.components)) {
    if (c.kind === 'log' || c.auditLog === undefined) continue;
    const target = t.components[c.auditLog];
    if (target?.kind === 'log') continue;
    const logs = Object.entries(t.components)
      .filter(([, o]) => o.kind === 'log')
      .map(([n]) => n);
    report(
      'TC463',
      'error',
      target
        ? `component "${name}": auditLog "${c.auditLog}" is a ${target.kind} component, not a log`
        : `component "${name}": auditLog names no component "${c.auditLog}"`,
      logs.length > 0 ? `log components: ${logs.join(', ')}` : 'add a `kind: log` component, or remove auditLog',
      ['components', name, 'auditLog'],
    );
  }
}

type Report = (
  code: string,
  severity: 'error' | 'warning',
  message: string,
  hint: string | undefined,
  at: DataPath,
  which?: 'key' | 'value',
) => void;

function rawComponentCount(parsed: ParsedYaml): number {
  const comps = (parsed.data as { components?: unknown } | undefined)?.components;
  return comps !== null && typeof comps === 'object' && !Array.isArray(comps) ? Object.keys(comps).length : 0;
}

function checkClouds(t: CheckedParts, report: Report): void {
  const localDirs = new Map<string, string>();
  for (const [name, cloud] of Object.entries(t.clouds)) {
    if (cloud.provider !== 'local' && cloud.region === undefined) {
      report(
        'TC018',
        'error',
        `cloud "${name}" (${PROVIDER_NAMES[cloud.provider]}) needs a region`,
        `add region, e.g. ${exampleRegion(cloud.provider)}`,
        ['clouds', name],
        'key',
      );
    }
    if (cloud.provider !== 'local' && cloud.path !== undefined) {
      report(
        'TC019',
        'error',
        `cloud "${name}" is ${PROVIDER_NAMES[cloud.provider]}: \`path\` is only for local clouds`,
        'remove path; data of cloud providers lives in the buckets tclouds creates there',
        ['clouds', name, 'path'],
        'key',
      );
    }
    if (cloud.provider === 'local' && cloud.region !== undefined) {
      report(
        'TC024',
        'warning',
        `cloud "${name}" is local: its region is ignored`,
        'remove region, or use path to choose where its data lives',
        ['clouds', name, 'region'],
        'key',
      );
    }
    if (cloud.provider === 'local') {
      // Compared on a virtual root: the rule is about the file's own words, no I/O needed.
      const dir = cloud.path === undefined ? defaultLocalDir(t.name ?? '_', name) : path.posix.resolve('/', cloud.path);
      const other = localDirs.get(dir);
      if (other !== undefined) {
        report(
          'TC023',
          'error',
          `local clouds "${other}" and "${name}" share the directory ${cloud.path ?? dir}`,
          'each cloud must fail independently of the others; give each its own path',
          ['clouds', name, cloud.path === undefined ? 'provider' : 'path'],
        );
      } else {
        localDirs.set(dir, name);
      }
    }
  }

  if (t.mode === 'native') {
    const providers = new Map<string, string>();
    for (const [name, cloud] of Object.entries(t.clouds)) {
      if (!providers.has(cloud.provider)) providers.set(cloud.provider, name);
    }
    if (providers.size > 1) {
      const [[firstProvider, firstCloud]] = [...providers.entries()] as [[string, string]];
      for (const [name, cloud] of Object.entries(t.clouds)) {
        if (cloud.provider === firstProvider) continue;
        report(
          'TC027',
          'error',
          `native mode runs on the hosts of one provider, but cloud "${name}" is ${PROVIDER_NAMES[cloud.provider]} and "${firstCloud}" is ${PROVIDER_NAMES[firstProvider as Cloud['provider']]}`,
          'use clouds (regions) of one provider, or mode mediator / client-resident for a cloud-of-clouds across providers',
          ['clouds', name, 'provider'],
        );
      }
    }
  }
}

function exampleRegion(provider: Cloud['provider']): string {
  return provider === 'aws'
    ? 'region: eu-west-1'
    : provider === 'azure'
      ? 'region: westeurope'
      : 'region: europe-west1';
}

export function defaultLocalDir(stack: string, cloud: string): string {
  return path.posix.join('/', '.tclouds', stack, 'clouds', cloud);
}

function checkComponent(
  name: string,
  c: Component,
  t: CheckedParts,
  parsed: ParsedYaml,
  report: Report,
  used: Set<string>,
): void {
  const { clouds, referencesOk } = checkCloudReferences(name, c, t, report, used);
  if (c.kind === 'storage') checkStorage(name, c, clouds.size, t.mode, parsed, report);
  if (c.kind === 'smr') checkSmrReplicas(name, c, report);
  if (c.kind === 'mapreduce') checkMapReduce(name, c, clouds, referencesOk, report);
  if (restsOnReplicaGroup(c) && referencesOk && t.mode !== undefined) checkColocation(name, c, t.mode, report);
}

/**
 * Cloud references: declared, and each listed once (TC013, TC022). Marks each one used. Returns the distinct
 * clouds listed, and whether every reference was fine (rules that count clouds need that).
 */
function checkCloudReferences(
  name: string,
  c: Component,
  t: CheckedParts,
  report: Report,
  used: Set<string>,
): { clouds: Set<string>; referencesOk: boolean } {
  const base = ['components', name];
  const label = `${c.kind} "${name}"`;
  const seen = new Set<string>();
  let referencesOk = true;
  c.clouds.forEach((cloud, i) => {
    used.add(cloud);
    if (seen.has(cloud)) {
      referencesOk = false;
      report(
        'TC022',
        'error',
        `${label} lists cloud "${cloud}" twice`,
        'a cloud counts once towards fault tolerance; list each cloud once',
        [...base, 'clouds', i],
      );
    }
    seen.add(cloud);
    if (!t.cloudNames.includes(cloud)) {
      referencesOk = false;
      const near = closest(cloud, t.cloudNames);
      report(
        'TC013',
        'error',
        `${label} uses cloud "${cloud}", which is not declared in clouds`,
        near
          ? `did you mean "${near}"?`
          : t.cloudNames.length > 0
            ? `declared clouds: ${t.cloudNames.join(', ')}`
            : `declare it under clouds, e.g. ${cloud}: { provider: local }`,
        [...base, 'clouds', i],
      );
    }
  });
  return { clouds: seen, referencesOk };
}

/** Storage: n >= 3f+1 clouds (TC012); gateways written where the mode has none (TC020). */
function checkStorage(
  name: string,
  c: Extract<Component, { kind: 'storage' }>,
  n: number,
  mode: Mode | undefined,
  parsed: ParsedYaml,
  report: Report,
): void {
  const base = ['components', name];
  const need = 3 * c.f + 1;
  if (n < need) {
    report(
      'TC012',
      'error',
      `storage "${name}" tolerates f=${c.f} and needs ${need} clouds (n >= 3f+1), it lists ${n}`,
      n >= 4
        ? `lower f to ${Math.floor((n - 1) / 3)} or add ${need - n} more clouds`
        : `add ${need - n} more cloud${need - n === 1 ? '' : 's'} to clouds`,
      [...base, 'clouds'],
      'key',
    );
  }
  // Gateways are mediator machines (TIS in front of the clouds). In client-resident mode the client library
  // talks to the clouds itself; in native mode the provider's own storage is the service. The field keeps
  // its default (the schema applies defaults regardless of mode) but no gateway node is planned.
  if ((mode === 'client-resident' || mode === 'native') && isWritten(parsed, [...base, 'gateways'])) {
    report(
      'TC020',
      'warning',
      `storage "${name}": gateways is ignored in ${mode} mode (clients talk to the clouds directly, there are no gateway nodes)`,
      'remove gateways, or use mode mediator or appliance to run gateway (TIS) nodes in front of the clouds',
      [...base, 'gateways'],
      'key',
    );
  }
}

/** SMR: an explicit replica count of at least 3f+1 (Byzantine, TC014) or 2f+1 (crash, TC015). */
function checkSmrReplicas(name: string, c: Extract<Component, { kind: 'smr' }>, report: Report): void {
  if (c.replicas === undefined) return;
  const need = quorumGroupSize(c.faults, c.f);
  if (c.replicas < need) {
    const byz = c.faults === 'byzantine';
    report(
      byz ? 'TC014' : 'TC015',
      'error',
      `smr "${name}" tolerates f=${c.f} ${c.faults} faults and needs ${need} replicas (n >= ${byz ? '3f+1' : '2f+1'}), it has ${c.replicas}`,
      `set replicas to at least ${need}, or remove replicas to use the default`,
      ['components', name, 'replicas'],
    );
  }
}

/** MapReduce: f+1 workers per task (TC028), spread over at least f+1 clouds (TC017). */
function checkMapReduce(
  name: string,
  c: Extract<Component, { kind: 'mapreduce' }>,
  clouds: Set<string>,
  referencesOk: boolean,
  report: Report,
): void {
  const base = ['components', name];
  const label = `mapreduce "${name}"`;
  const n = clouds.size;
  if (c.workers < c.f + 1) {
    report(
      'TC028',
      'error',
      `${label} runs each task on f+1=${c.f + 1} workers but has ${c.workers}`,
      `set workers to at least ${c.f + 1}`,
      [...base, 'workers'],
    );
  } else if (referencesOk) {
    const span = Object.keys(spreadOverClouds(c.workers, [...clouds])).length;
    if (span < c.f + 1) {
      report(
        'TC017',
        'error',
        `${label} must span at least f+1=${c.f + 1} clouds so the replicas of a task run in distinct clouds; its ${c.workers} workers span ${span}`,
        n < c.f + 1
          ? `add ${c.f + 1 - n} more cloud${c.f + 1 - n === 1 ? '' : 's'} to clouds`
          : `use at least ${c.f + 1} workers`,
        [...base, 'clouds'],
        'key',
      );
    }
  }
}

function checkColocation(name: string, c: Exclude<Component, { kind: 'mapreduce' }>, mode: Mode, report: Report): void {
  const base = ['components', name];
  const label = `${c.kind} "${name}"`;
  const count = replicaCount(c);
  const spread = spreadOverClouds(count, c.clouds);
  const [worstCloud, worst] = Object.entries(spread).reduce<[string, number]>(
    (best, e) => (e[1] > best[1] ? e : best),
    ['', 0],
  );
  const overloaded = worst > c.f;
  const minClouds = Math.ceil(count / c.f);

  if (mode === 'appliance') {
    // Appliance: the TIS replicas are VMs of one box by design (TClouds D2.2.1, section 4.3.3: a TIS "made of a
    // single hardware box, containing several TIS replicas implemented as virtual machines"). The rule that no
    // single failure domain holds more than f replicas cannot hold there, so it is stated as a warning instead.
    if (c.kind === 'storage') {
      report(
        'TC021',
        'warning',
        `appliance mode: the ${c.gateways} gateways of ${label} run on one appliance box; if the box fails, the data stays safe in the clouds but is unreachable until the box is back`,
        'use mode mediator to run the gateways on separate machines',
        [...base],
        'key',
      );
      return;
    }
    report(
      'TC021',
      'warning',
      `appliance mode: all ${count} replicas of ${label} run as VMs of one appliance box; a failure of the whole box (power, disk, host) stops all of them at once, more than the f=${c.f} the protocol tolerates${overloaded && c.colocate !== 'allowed' ? ` (cloud "${worstCloud}" also holds ${worst} of them)` : ''}`,
      'accept this for a compact single-site setup, or use mode mediator to spread the replicas over machines',
      [...base],
      'key',
    );
    return;
  }

  if (overloaded && c.colocate !== 'allowed') {
    report(
      'TC016',
      'error',
      `${label} puts ${worst} of its ${count} replicas on cloud "${worstCloud}" but tolerates only f=${c.f}; one outage of "${worstCloud}" breaks the fault assumption`,
      `list at least ${minClouds} clouds, or set colocate: allowed to accept the risk`,
      [...base, 'clouds'],
      'key',
    );
  }
}

/**
 * `tclouds doctor`: what this machine has for a deploy to a target, one check per line, nothing contacted beyond
 * this machine. Node's version against package.json `engines`; the `pulumi` CLI and its version (cloud targets);
 * credentials, region / project / subscription per provider (doctor-credentials.ts); for the local target the
 * loopback addresses and ports the topology's plan would use; free disk where the stack lives; for cloud targets
 * the Pulumi state backend and secrets passphrase a deploy would use.
 *
 * A check is `needed` when the chosen target cannot deploy without it; without `--target` the local target is
 * checked and the three providers are listed for information (never needed).
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, readFileSync, statfsSync } from 'node:fs';
import path from 'node:path';
import type { Plan } from '../components/plan-types.js';
import { isTcError } from '../kernel/errors.js';
import { DeployCode } from '../stacks/codes.js';
import { assignAddresses, checkPortFree } from '../stacks/local/addresses.js';
import { packageRoot } from '../stacks/local/paths.js';
import { readState } from '../stacks/local/state.js';
import { resolveBackend, resolveSecrets } from '../stacks/pulumi/backend.js';
import { findPulumiCli } from '../stacks/pulumi/engine.js';
import {
  awsCredentials,
  awsRegion,
  azureCredentials,
  azureSubscription,
  type Check,
  type CheckStatus,
  type CredentialSources,
  gcpCredentials,
  gcpProject,
} from './doctor-credentials.js';

export type { Check, CheckStatus } from './doctor-credentials.js';

export const DOCTOR_TARGETS = ['local', 'aws', 'azure', 'gcp'] as const;
export type DoctorTarget = (typeof DOCTOR_TARGETS)[number];
type CloudTarget = Exclude<DoctorTarget, 'local'>;

/** `pulumi version` must answer within this. */
const PULUMI_VERSION_TIMEOUT_MS = 10_000;
/** Oldest Pulumi CLI major the Automation API of this build works with. */
const PULUMI_MIN_MAJOR = 3;
/** Below this much free space where the stack lives: fail (node data, logs and state would not fit). */
export const DISK_FAIL_BYTES = 100 * 1024 * 1024;
/** Below this: warn. */
export const DISK_WARN_BYTES = 1024 * 1024 * 1024;
/** Ports probed at once (each probe is a bind and close on loopback). */
const PORT_PROBE_BATCH = 64;
/** Busy ports named in a line; the rest are counted. */
const PORTS_SHOWN = 8;

export interface DoctorInput {
  /** The target asked for; undefined: local, with every provider listed for information. */
  target: DoctorTarget | undefined;
  env: NodeJS.ProcessEnv;
  home: string;
  /** The loaded topology's plan and stack directory, or why there is none. */
  topology: { plan: Plan; stackDir: string; file: string } | { note: string; stackDir: string };
  /** `--backend`. */
  backend?: string;
}

export interface DoctorReport {
  target: DoctorTarget;
  /** False when a check the target needs failed (exit 1). */
  ok: boolean;
  checks: Check[];
  counts: Record<CheckStatus, number>;
}

export async function runDoctor(input: DoctorInput): Promise<DoctorReport> {
  const target = input.target ?? 'local';
  const needs = (t: DoctorTarget | 'all') => t === 'all' || t === target;
  const checks: Check[] = [];
  const add = (c: Omit<Check, 'needed'>, neededBy: DoctorTarget | 'all') => {
    const needed = needs(neededBy);
    // A provider listed for information only: a failure there is a warning, not a reason to exit 1.
    checks.push({ ...c, status: !needed && c.status === 'fail' ? 'warn' : c.status, needed });
  };
  add(nodeCheck(), 'all');
  const clouds: CloudTarget[] =
    input.target === undefined ? ['aws', 'azure', 'gcp'] : input.target === 'local' ? [] : [input.target];
  if (clouds.length > 0) add(pulumiCheck(input.env), target === 'local' ? 'aws' : target);
  const plan = 'plan' in input.topology ? input.topology.plan : undefined;
  for (const cloud of clouds) {
    const src: CredentialSources = { env: input.env, home: input.home, fromTopology: regionsOf(plan, cloud) };
    for (const c of providerChecks(cloud, src)) add(c, cloud);
  }
  if (target === 'local') for (const c of await localChecks(input)) add(c, 'local');
  add(diskCheck(input.topology.stackDir), 'all');
  if (target !== 'local') for (const c of stateChecks(input)) add(c, target);
  const counts: Record<CheckStatus, number> = { ok: 0, warn: 0, fail: 0, skip: 0 };
  for (const c of checks) counts[c.status]++;
  return { target, ok: !checks.some((c) => c.needed && c.status === 'fail'), checks, counts };
}

function providerChecks(cloud: CloudTarget, src: CredentialSources): Omit<Check, 'needed'>[] {
  if (cloud === 'aws') return [awsCredentials(src), awsRegion(src)];
  if (cloud === 'azure') return [azureCredentials(src), azureSubscription(src)];
  return [gcpCredentials(src), gcpProject(src)];
}

function regionsOf(plan: Plan | undefined, provider: CloudTarget): string[] {
  if (!plan || provider === 'gcp') return []; // a topology names regions, not GCP projects
  return Object.values(plan.clouds)
    .filter((c) => c.provider === provider && c.region)
    .map((c) => c.region!);
}

// ---------------------------------------------------------------- Node and Pulumi

/** Whether `version` satisfies a range of the forms package.json `engines` uses here: `||` of ^x.y.z, >=x.y.z. */
export function satisfiesEngines(version: string, range: string): boolean {
  const parse = (v: string) => (/(\d+)\.(\d+)\.(\d+)/.exec(v) ?? [0, 0, 0, 0]).slice(1, 4).map(Number);
  const cmp = (a: number[], b: number[]) => a[0]! - b[0]! || a[1]! - b[1]! || a[2]! - b[2]!;
  const v = parse(version);
  return range.split('||').some((clause) => {
    const c = clause.trim();
    if (c.startsWith('^')) return v[0] === parse(c)[0] && cmp(v, parse(c)) >= 0;
    if (c.startsWith('>=')) return cmp(v, parse(c)) >= 0;
    return cmp(v, parse(c)) === 0;
  });
}

function nodeCheck(): Omit<Check, 'needed'> {
  const engines = (
    JSON.parse(readFileSync(path.join(packageRoot(), 'package.json'), 'utf8')) as { engines?: { node?: string } }
  ).engines?.node;
  const version = process.versions.node;
  if (!engines) return { id: 'node', status: 'ok', message: `Node ${version}` };
  if (satisfiesEngines(version, engines))
    return { id: 'node', status: 'ok', message: `Node ${version} (supported: ${engines})` };
  return {
    id: 'node',
    status: 'fail',
    message: `Node ${version} is not supported (supported: ${engines})`,
    fix: 'install a supported Node LTS (e.g. with nvm: `nvm install 22`)',
  };
}

function pulumiCheck(env: NodeJS.ProcessEnv): Omit<Check, 'needed'> {
  const cli = findPulumiCli(env);
  const install =
    'install the Pulumi CLI (https://www.pulumi.com/docs/install/) and put it on PATH; no Pulumi account is needed';
  if (!cli)
    return {
      id: 'pulumi',
      status: 'fail',
      message: 'the `pulumi` CLI is not on PATH or in ~/.pulumi/bin',
      fix: install,
    };
  const r = spawnSync(cli, ['version'], {
    encoding: 'utf8',
    timeout: PULUMI_VERSION_TIMEOUT_MS,
    env: { ...env, PULUMI_SKIP_UPDATE_CHECK: '1' },
  });
  const m = /v?(\d+)\.(\d+)\.(\d+)/.exec(r.stdout ?? '');
  if (r.status !== 0 || !m)
    return {
      id: 'pulumi',
      status: 'fail',
      message: `${cli} does not answer \`pulumi version\`${r.error ? ` (${(r.error as Error).message})` : ''}`,
      fix: `reinstall it: ${install}`,
    };
  const version = `${m[1]}.${m[2]}.${m[3]}`;
  if (Number(m[1]) < PULUMI_MIN_MAJOR)
    return {
      id: 'pulumi',
      status: 'fail',
      message: `pulumi ${version} at ${cli} is too old (needs ${PULUMI_MIN_MAJOR}.x or later)`,
      fix: install,
    };
  return { id: 'pulumi', status: 'ok', message: `pulumi ${version} at ${cli}` };
}

// ---------------------------------------------------------------- local target

/** The loopback addresses and ports the plan's nodes would use: can each be bound now? */
async function localChecks(input: DoctorInput): Promise<Omit<Check, 'needed'>[]> {
  if (!('plan' in input.topology)) {
    const note = input.topology.note;
    return [
      { id: 'loopback', status: 'skip', message: note },
      { id: 'ports', status: 'skip', message: note },
    ];
  }
  const { plan, stackDir } = input.topology;
  const addresses = assignAddresses(plan);
  const state = await readState(stackDir).catch(() => null);
  const own = new Set<string>();
  for (const n of Object.values(state?.nodes ?? {}))
    for (const p of [...Object.values(n.ports), n.controlPort]) own.add(`${n.host}:${p}`);
  const probes: { host: string; port: number; node: string }[] = [];
  for (const c of Object.values(plan.components)) {
    for (const n of c.nodes) {
      const host = addresses.get(n.id)!;
      for (const port of [...Object.values(n.ports), n.controlPort])
        if (!own.has(`${host}:${port}`)) probes.push({ host, port, node: n.id });
    }
  }
  const busy: string[] = [];
  const noAlias = new Set<string>();
  for (let i = 0; i < probes.length; i += PORT_PROBE_BATCH) {
    await Promise.all(
      probes.slice(i, i + PORT_PROBE_BATCH).map(async (p) => {
        try {
          await checkPortFree(p.host, p.port, p.node, 0);
        } catch (e) {
          if (isTcError(e) && e.code === DeployCode.portBusy) busy.push(`${p.host}:${p.port} (${p.node})`);
          else noAlias.add(p.host);
        }
      }),
    );
  }
  const hosts = new Set(addresses.values());
  const deployed = own.size > 0 ? `; ${own.size} held by this stack's own deployment` : '';
  const loopback: Omit<Check, 'needed'> =
    noAlias.size === 0
      ? { id: 'loopback', status: 'ok', message: `${hosts.size} loopback address(es) usable (127.x)` }
      : {
          id: 'loopback',
          status: 'fail',
          message: `${noAlias.size} of ${hosts.size} loopback addresses cannot be bound: ${[...noAlias].slice(0, PORTS_SHOWN).join(', ')}`,
          fix: `add the aliases (macOS: \`sudo ifconfig lo0 alias ${[...noAlias][0]}\` for each)`,
        };
  const ports: Omit<Check, 'needed'> =
    busy.length === 0
      ? { id: 'ports', status: 'ok', message: `${probes.length} port(s) of stack ${plan.stack} free${deployed}` }
      : {
          id: 'ports',
          status: 'fail',
          message: `${busy.length} port(s) in use: ${busy.sort().slice(0, PORTS_SHOWN).join(', ')}${busy.length > PORTS_SHOWN ? ', ...' : ''}`,
          fix: `stop what listens there (\`ss -ltnp 'sport = :${busy[0]!.split(':')[1]!.split(' ')[0]}'\` shows it) or destroy the other stack`,
        };
  return [loopback, ports];
}

// ---------------------------------------------------------------- disk and state

/** The directory itself, or its nearest existing ancestor (a stack not yet deployed has no directory). */
function existingAncestor(dir: string): string {
  let d = path.resolve(dir);
  while (!existsSync(d) && path.dirname(d) !== d) d = path.dirname(d);
  return d;
}

function diskCheck(stackDir: string): Omit<Check, 'needed'> {
  const where = existingAncestor(stackDir);
  const s = statfsSync(where);
  const free = s.bavail * s.bsize;
  const text = `${(free / 1024 ** 3).toFixed(1)} GiB free at ${where}`;
  if (free < DISK_FAIL_BYTES)
    return { id: 'disk', status: 'fail', message: text, fix: 'free some space: node data and logs live there' };
  if (free < DISK_WARN_BYTES)
    return { id: 'disk', status: 'warn', message: text, fix: 'less than 1 GiB: node data and logs may fill it' };
  return { id: 'disk', status: 'ok', message: text };
}

function writable(dir: string): boolean {
  try {
    accessSync(dir, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/** The Pulumi state backend and secrets passphrase a cloud deploy would use (file backends only are looked at). */
function stateChecks(input: DoctorInput): Omit<Check, 'needed'>[] {
  const { stackDir } = input.topology;
  let backend: ReturnType<typeof resolveBackend>;
  try {
    backend = resolveBackend(stackDir, input.backend, input.env);
  } catch (e) {
    if (!isTcError(e)) throw e;
    return [{ id: 'state-backend', status: 'fail', message: e.message, fix: e.hint ?? '' }];
  }
  const checks: Omit<Check, 'needed'>[] = [];
  if (backend.kind !== 'file') {
    checks.push({
      id: 'state-backend',
      status: 'skip',
      message: `${backend.url}: not contacted (doctor asks no cloud); it must exist and the credentials above must reach it`,
    });
  } else {
    const dir = backend.dir!;
    const at = existingAncestor(dir);
    checks.push(
      writable(at)
        ? {
            id: 'state-backend',
            status: 'ok',
            message: at === dir ? `file backend ${dir} (writable)` : `file backend ${dir} (created at first deploy)`,
          }
        : {
            id: 'state-backend',
            status: 'fail',
            message: `file backend ${dir}: ${at} is not writable`,
            fix: 'make it writable, or choose another backend with --backend',
          },
    );
  }
  const secrets = resolveSecrets(stackDir, input.env);
  if (secrets.file === undefined) {
    checks.push({ id: 'secrets', status: 'ok', message: `passphrase from ${secrets.source}` });
  } else if (existsSync(secrets.file)) {
    let readable = true;
    try {
      accessSync(secrets.file, constants.R_OK);
    } catch {
      readable = false;
    }
    checks.push(
      readable
        ? { id: 'secrets', status: 'ok', message: `passphrase file ${secrets.file}` }
        : {
            id: 'secrets',
            status: 'fail',
            message: `passphrase file ${secrets.file} is not readable`,
            fix: 'fix its permissions (it must stay 0600 and owned by you)',
          },
    );
  } else if (secrets.source === 'stack-file') {
    checks.push({ id: 'secrets', status: 'ok', message: `passphrase generated at first deploy into ${secrets.file}` });
  } else {
    checks.push({
      id: 'secrets',
      status: 'fail',
      message: `PULUMI_CONFIG_PASSPHRASE_FILE names ${secrets.file}, which does not exist`,
      fix: 'point it at the file holding the stack passphrase, or unset it',
    });
  }
  return checks;
}

/** One text line per check, then its fix indented. */
export function doctorLines(report: DoctorReport): string[] {
  const width = Math.max(...report.checks.map((c) => c.id.length));
  const lines: string[] = [];
  for (const c of report.checks) {
    const tag = c.status.padEnd(4);
    lines.push(`${tag}  ${c.id.padEnd(width)}  ${c.message}${c.needed ? '' : ' (not needed for this target)'}`);
    if (c.fix && c.status !== 'ok') lines.push(`${' '.repeat(6 + width)}  -> ${c.fix}`);
  }
  return lines;
}

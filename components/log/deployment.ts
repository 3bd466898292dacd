/**
 * A deployed log component as the commands see it: its outputs, its buckets' drivers, the core replicas' public
 * keys, and an SMR client for the core.
 */
import path from 'node:path';
import { ExitCode, TcError } from '../../kernel/errors.js';
import { readPrivateKey, signingPublicKeyFromString } from '../../runtime/keys.js';
import type { ComponentOutput, DeploymentOutputs } from '../../runtime/node-spec.js';
import { readOutputsFile } from '../../runtime/outputs-file.js';
import { loadTopology, stackDir } from '../../topology/load.js';
import { SmrClient } from '../smr/client.js';
import { LocalDirectoryDriver } from '../storage/drivers/local.js';
import type { CloudDriver } from '../storage/drivers/types.js';
import { driverFor } from '../storage/resolve.js';
import { LogCode } from './codes.js';

export interface LogDeployment {
  stackDir: string;
  outputs: DeploymentOutputs;
  component: string;
  comp: ComponentOutput;
  /** What tree heads are signed for: `<stack>/<component>`. */
  log: string;
  n: number;
  f: number;
  /** Core replica node ids, index order. */
  cores: string[];
}

export interface Where {
  file: string;
  stackDir?: string | undefined;
}

export async function openDeployment(where: Where, component: string): Promise<LogDeployment> {
  const dir = where.stackDir ?? stackDir(await loadTopology(where.file));
  const file = path.join(dir, 'outputs.json');
  // Damaged outputs are TC501 from here as from every other command (runtime/outputs-file.ts).
  const outputs = await readOutputsFile(file);
  if (outputs === null) {
    throw new TcError(LogCode.noComponent, `no deployment outputs at ${file}`, {
      exit: ExitCode.notFound,
      hint: 'deploy first: `tclouds deploy --target local`',
    });
  }
  const comp = outputs.components?.[component];
  if (comp?.kind !== 'log') {
    const logs = Object.entries(outputs.components ?? {})
      .filter(([, c]) => c.kind === 'log')
      .map(([n]) => n);
    throw new TcError(
      LogCode.noComponent,
      comp
        ? `component "${component}" is a ${comp.kind} component, not log`
        : `the deployment has no component "${component}"`,
      {
        exit: comp ? ExitCode.invalid : ExitCode.notFound,
        hint: logs.length > 0 ? `log components: ${logs.join(', ')}` : 'add a `kind: log` component to the topology',
      },
    );
  }
  const cores = comp.nodes
    .filter((n) => n.role === 'core')
    .sort((a, b) => a.index - b.index)
    .map((n) => n.id);
  const f = Number(comp.client.f ?? 1);
  return { stackDir: dir, outputs, component, comp, log: `${outputs.stack}/${component}`, n: cores.length, f, cores };
}

/** Drivers of the component's buckets (a local deployment's directories, else the providers' buckets). */
export async function bucketDriversOf(d: LogDeployment): Promise<CloudDriver[]> {
  const clouds = (d.comp.client.clouds as string[] | undefined) ?? d.comp.buckets.map((b) => b.cloud);
  if (d.comp.buckets.every((b) => b.provider === 'local' && b.path)) {
    return clouds.map((cloud) => {
      const b = d.comp.buckets.find((x) => x.cloud === cloud);
      return new LocalDirectoryDriver(cloud, b?.path as string);
    });
  }
  const loaded = await loadTopology(d.outputs.topologyFile);
  return clouds.map((cloud) => driverFor(loaded, d.component, cloud, d.outputs).driver);
}

/** Ed25519 public keys of the core replicas, from the writer keys the deployment made. */
export function coreKeys(d: LogDeployment) {
  return d.cores.map((id) => {
    const k = d.comp.clientKeys[`writer-${id}`];
    if (!k?.publicKey) {
      throw new TcError(LogCode.config, `the deployment has no writer key for core replica ${id}`, {
        exit: ExitCode.invalid,
        hint: 'redeploy with this tclouds version (`tclouds deploy`)',
      });
    }
    return signingPublicKeyFromString(k.publicKey, `writer key of ${id}`);
  });
}

/** An SMR client for the core, as the component's first client key (or `clientId`). */
export async function coreClient(
  d: LogDeployment,
  o: { timeoutMs?: number; clientId?: string } = {},
): Promise<SmrClient> {
  const id = o.clientId ?? `client-${d.component}`;
  const key = d.comp.clientKeys[id];
  if (!key) {
    throw new TcError(LogCode.config, `no client key ${id} for "${d.component}" is usable from this machine`, {
      exit: ExitCode.notFound,
      hint: 'client keys are written by `tclouds deploy` under .tclouds/<stack>/keys/',
    });
  }
  const privateKey = await readPrivateKey(path.resolve(d.stackDir, key.keyFile));
  const replicas = d.comp.nodes
    .filter((n) => n.role === 'core')
    .map((n) => ({ id: n.id, index: n.index, host: n.host, port: n.ports.client as number, publicKey: n.publicKey }));
  return new SmrClient({
    stack: d.outputs.stack,
    clientId: id,
    privateKey,
    replicas,
    f: d.f,
    timeoutMs: o.timeoutMs ?? 40_000,
  });
}

/** The console's token signing key (planned as an Ed25519 key `storage-<component>-console-writer.key`). */
export function consoleTokenKeyFile(d: LogDeployment): string {
  return path.join(d.stackDir, 'keys', `storage-${d.component}-console-writer.key`);
}

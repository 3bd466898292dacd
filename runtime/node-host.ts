/**
 * The generic node host behind `tclouds node run --spec FILE`: loads and checks the spec and key, loads the
 * role `roles[spec.role]` from `components/<kind>/node.js`, serves the control HTTP server, writes JSON logs to
 * `<dataDir>/../node.log` and stderr, and stops cleanly when asked.
 */
import type http from 'node:http';
import path from 'node:path';
import { NodeCode } from './codes.js';
import { startControlServer } from './control-server.js';
import { ExitCode, isTcError, TcError } from './errors.js';
import { publicKeyOf, readAdminToken, readPrivateKey } from './keys.js';
import { fileSink, JsonLogger, type LogSink, stderrSink } from './logger.js';
import { MetricsRegistry } from './metrics.js';
import type { NodeSpec } from './node-spec.js';
import type { NodeHealth, RoleFactory, RoleInstance } from './role.js';
import { loadSpec } from './spec.js';

export interface RunningNode {
  spec: NodeSpec;
  stop(): Promise<void>;
}

export async function loadRole(kind: string, role: string): Promise<RoleFactory> {
  let mod: { roles?: Record<string, RoleFactory> };
  try {
    const specifier = `../components/${kind}/node.js`;
    mod = (await import(/* @vite-ignore */ specifier)) as { roles?: Record<string, RoleFactory> };
  } catch (e) {
    if (isTcError(e)) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ERR_MODULE_NOT_FOUND' && String((e as Error).message).includes(`components/${kind}/node`)) {
      throw new TcError(NodeCode.unknownRole, `this build has no node roles for component kind "${kind}"`, {
        exit: ExitCode.invalid,
        hint: "check the spec's kind, or install a tclouds release that implements it",
      });
    }
    throw new TcError(NodeCode.roleFailed, `cannot load the roles of kind "${kind}": ${(e as Error).message}`, {
      cause: e,
    });
  }
  const factory = mod.roles?.[role];
  if (typeof factory !== 'function') {
    const known = Object.keys(mod.roles ?? {}).join(', ') || 'none';
    throw new TcError(NodeCode.unknownRole, `component kind "${kind}" has no role "${role}" (roles: ${known})`, {
      exit: ExitCode.invalid,
      hint: 'the spec was probably written by a different tclouds version; redeploy',
    });
  }
  return factory;
}

export async function startNode(specFile: string, opts: { stderr?: boolean } = {}): Promise<RunningNode> {
  const spec = await loadSpec(specFile);
  const privateKey = await readPrivateKey(spec.keyFile);
  if (publicKeyOf(privateKey) !== spec.publicKey) {
    throw new TcError(NodeCode.keyMismatch, `the key in ${spec.keyFile} does not match the spec's publicKey`, {
      exit: ExitCode.invalid,
      hint: 'the key file was replaced after deployment; redeploy to rewrite specs and keys together',
      location: { file: specFile, path: 'publicKey' },
    });
  }
  const token = await readAdminToken(spec.adminTokenFile);
  const factory = await loadRole(spec.kind, spec.role);

  const logFile = fileSink(path.join(path.dirname(path.resolve(spec.dataDir)), 'node.log'));
  const sinks: LogSink[] = [logFile];
  if (opts.stderr !== false) sinks.push(stderrSink);
  const log = new JsonLogger(sinks, { node: spec.id });
  const metrics = new MetricsRegistry();
  const abort = new AbortController();
  const partitioned = new Set<string>();
  const started = Date.now();
  let status: NodeHealth['status'] = 'starting';
  let role: RoleInstance | undefined;

  metrics.gauge('tclouds_node_up', 'The node host is running', { role: spec.role }).set(1);
  log.info('node starting', { kind: spec.kind, role: spec.role, host: spec.host, ports: spec.ports, pid: process.pid });

  const health = (): NodeHealth => ({
    id: spec.id,
    component: spec.component,
    kind: spec.kind,
    roleName: spec.role,
    index: spec.index,
    cloud: spec.cloud,
    domain: spec.domain,
    status,
    uptimeSeconds: Math.round((Date.now() - started) / 1000),
    pid: process.pid,
    partitionedFrom: [...partitioned].sort(),
    role: role ? safeHealth(role) : {},
  });

  let control: http.Server;
  try {
    control = await startControlServer(
      spec.host,
      spec.controlPort,
      token,
      {
        health,
        metrics: () => metrics.render(),
        partition: (block) => {
          for (const b of block) partitioned.add(b);
        },
        heal: () => partitioned.clear(),
        admin: async (action, body) => (role?.admin ? role.admin(action, body) : undefined),
      },
      log,
    );
  } catch (e) {
    await logFile.close();
    throw new TcError(
      NodeCode.bindFailed,
      `cannot serve control on ${spec.host}:${spec.controlPort}: ${(e as Error).message}`,
      {
        exit: ExitCode.failure,
      },
    );
  }
  try {
    role = await factory({ spec, log, metrics, signal: abort.signal, privateKey, partitioned });
  } catch (e) {
    await new Promise<void>((r) => control.close(() => r()));
    log.error('role failed to start', { error: (e as Error).message });
    await logFile.close();
    if (isTcError(e)) throw e;
    throw new TcError(NodeCode.roleFailed, `role ${spec.role} failed to start: ${(e as Error).message}`, { cause: e });
  }
  status = 'ok';
  log.info('node ready', { controlPort: spec.controlPort });

  let stopping: Promise<void> | undefined;
  return {
    spec,
    stop: () => {
      stopping ??= (async () => {
        status = 'stopping';
        log.info('node stopping');
        abort.abort();
        try {
          await role?.stop();
        } catch (e) {
          log.error('role stop failed', { error: (e as Error).message });
        }
        control.closeAllConnections?.();
        await new Promise<void>((r) => control.close(() => r()));
        log.info('node stopped');
        await logFile.close();
      })();
      return stopping;
    },
  };
}

function safeHealth(role: RoleInstance): Record<string, unknown> {
  try {
    return role.health();
  } catch (e) {
    return { error: String((e as Error).message) };
  }
}

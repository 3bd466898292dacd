/**
 * The generic node host behind `tclouds node run --spec FILE`: loads and checks the spec and key, finds the role
 * `spec.role` among the roles of `spec.kind` (given by the caller: the kinds registry, components/kinds.ts, which
 * this folder must not import), serves the control HTTP server, writes JSON logs to `<dataDir>/../node.log` and
 * stderr, and stops cleanly when asked.
 *
 * A role that finds one of its invariants broken calls `ctx.fatal(error)`: the host logs one line and resolves
 * `RunningNode.failure`, and its runner abandons the node (no clean-stop save: the state in memory is not trusted)
 * and exits non-zero, so the supervisor restarts it from what is on disk.
 */
import type http from 'node:http';
import path from 'node:path';
import { ExitCode, isTcError, TcError } from '../kernel/errors.js';
import { type AuditTap, type AuditTapFactory, TappedLogger, TappedMetrics } from './audit.js';
import { NodeCode } from './codes.js';
import { startControlServer } from './control-server.js';
import { ControlPortCode, isLoopbackHost, loadNodeControlTls } from './control-tls.js';
import { publicKeyOf, readAdminToken, readPrivateKey } from './keys.js';
import { fileSink, JsonLogger, type LogSink, stderrSink } from './logger.js';
import { MetricsRegistry } from './metrics.js';
import type { NodeSpec } from './node-spec.js';
import type { Logger, NodeHealth, RoleContext, RoleFactory, RoleInstance } from './role.js';
import { loadNodeSpec } from './spec-file.js';

/** The roles of a component kind, or undefined when this build has no node software for it. */
export type RoleResolver = (kind: string) => Promise<Readonly<Record<string, RoleFactory>> | undefined>;

export interface NodeHostOptions {
  /** Where the roles of each kind come from (the kinds registry). */
  roles: RoleResolver;
  /** Also log to stderr (default true; in-process tests turn it off). */
  stderr?: boolean;
  /** Where the node's security and availability events go, when its spec names an audit log. */
  audit?: AuditTapFactory;
}

/**
 * Exit code of a node that stopped cleanly to be started again (POST /admin/restart): non-zero, so the local
 * supervisor and systemd's `Restart=on-failure` start it again, and distinct from a crash (1) in the logs.
 */
export const RESTART_EXIT_CODE = 75;

export interface RunningNode {
  spec: NodeSpec;
  /** Clean stop: the role saves what it keeps across restarts, sockets close, the log is flushed. */
  stop(): Promise<void>;
  /** Resolves with the error a role reported through `ctx.fatal`; never rejects. */
  failure: Promise<Error>;
  /** Resolves when POST /admin/restart was asked: the runner stops cleanly and exits RESTART_EXIT_CODE. */
  restartRequested: Promise<void>;
  /** After a failure: close sockets and the log without asking the role to save anything. */
  abandon(): Promise<void>;
}

async function loadRole(roles: RoleResolver, kind: string, role: string): Promise<RoleFactory> {
  let mod: Readonly<Record<string, RoleFactory>> | undefined;
  try {
    mod = await roles(kind);
  } catch (e) {
    if (isTcError(e)) throw e;
    throw new TcError(NodeCode.roleFailed, `cannot load the roles of kind "${kind}": ${(e as Error).message}`, {
      cause: e,
    });
  }
  if (!mod) {
    throw new TcError(NodeCode.unknownRole, `this build has no node roles for component kind "${kind}"`, {
      exit: ExitCode.invalid,
      hint: "check the spec's kind, or install a tclouds release that implements it",
    });
  }
  const factory = mod[role];
  if (typeof factory !== 'function') {
    const known = Object.keys(mod).join(', ') || 'none';
    throw new TcError(NodeCode.unknownRole, `component kind "${kind}" has no role "${role}" (roles: ${known})`, {
      exit: ExitCode.invalid,
      hint: 'the spec was probably written by a different tclouds version; redeploy',
    });
  }
  return factory;
}

/** Spec, key (checked against the spec), admin token and role factory: everything a node needs before it binds. */
async function prepare(specFile: string, roles: RoleResolver) {
  const spec = await loadNodeSpec(specFile);
  const privateKey = await readPrivateKey(spec.keyFile);
  if (publicKeyOf(privateKey) !== spec.publicKey) {
    throw new TcError(NodeCode.keyMismatch, `the key in ${spec.keyFile} does not match the spec's publicKey`, {
      exit: ExitCode.invalid,
      hint: 'the key file was replaced after deployment; redeploy to rewrite specs and keys together',
      location: { file: specFile, path: 'publicKey' },
    });
  }
  const token = await readAdminToken(spec.adminTokenFile);
  const tls = await controlTlsOf(spec, specFile);
  const factory = await loadRole(roles, spec.kind, spec.role);
  return { spec, privateKey, token, tls, factory };
}

/**
 * The control port's TLS key and certificate, when the spec names them; a spec that would serve the admin token in
 * clear beyond this machine (plain HTTP on a non-loopback address) is refused before anything binds.
 */
async function controlTlsOf(spec: NodeSpec, specFile: string): Promise<{ key: string; cert: string } | undefined> {
  if (spec.controlTls) return loadNodeControlTls(spec.controlTls, spec.id);
  if (isLoopbackHost(spec.host)) return undefined;
  throw new TcError(
    ControlPortCode.plainOnNetwork,
    `node ${spec.id}: the control port would serve plain HTTP on ${spec.host}, so its admin token would cross the network in clear`,
    {
      exit: ExitCode.invalid,
      hint: 'cloud specs name a control TLS file (controlTls); deploy again with this tclouds, or bind a 127.x address',
      location: { file: specFile, path: 'controlTls' },
    },
  );
}

/** What the control server shows of a running node; the host updates it as the node starts and stops. */
interface NodeState {
  spec: NodeSpec;
  status: NodeHealth['status'];
  role: RoleInstance | undefined;
  partitioned: Set<string>;
  started: number;
  /** Set by startNode: resolves RunningNode.restartRequested. */
  onRestart?: () => void;
}

function healthOf(n: NodeState): NodeHealth {
  const { spec } = n;
  const role = n.role ? safeHealth(n.role) : {};
  return {
    id: spec.id,
    component: spec.component,
    kind: spec.kind,
    roleName: spec.role,
    index: spec.index,
    cloud: spec.cloud,
    domain: spec.domain,
    // A role that stopped taking part reports `degraded` in its health (an SMR replica whose log failed).
    status: role.degraded && n.status === 'ok' ? 'degraded' : n.status,
    uptimeSeconds: Math.round((Date.now() - n.started) / 1000),
    pid: process.pid,
    partitionedFrom: [...n.partitioned].sort(),
    role,
  };
}

/** The control HTTP server (GET /health, GET /metrics, POST /admin/*) of a node; a port it cannot bind is TC414. */
async function serveControl(
  n: NodeState,
  token: string,
  tls: { key: string; cert: string } | undefined,
  metrics: MetricsRegistry,
  log: Logger,
): Promise<{ close(): Promise<void> }> {
  const { spec } = n;
  let control: http.Server;
  try {
    control = await startControlServer(
      spec.host,
      spec.controlPort,
      token,
      {
        health: () => healthOf(n),
        metrics: () => metrics.render(),
        partition: (block) => {
          for (const b of block) n.partitioned.add(b);
        },
        heal: () => n.partitioned.clear(),
        admin: async (action, body) => (n.role?.admin ? n.role.admin(action, body) : undefined),
        restart: () => n.onRestart?.(),
      },
      log,
      tls,
    );
  } catch (e) {
    throw new TcError(
      NodeCode.bindFailed,
      `cannot serve control on ${spec.host}:${spec.controlPort}: ${(e as Error).message}`,
      { exit: ExitCode.failure },
    );
  }
  return {
    close: async () => {
      control.closeAllConnections?.();
      await new Promise<void>((r) => control.close(() => r()));
    },
  };
}

export async function startNode(specFile: string, opts: NodeHostOptions): Promise<RunningNode> {
  const { spec, privateKey, token, tls, factory } = await prepare(specFile, opts.roles);
  const logFile = fileSink(path.join(path.dirname(path.resolve(spec.dataDir)), 'node.log'));
  const sinks: LogSink[] = [logFile];
  if (opts.stderr !== false) sinks.push(stderrSink);
  const baseLog = new JsonLogger(sinks, { node: spec.id });
  const metrics = new MetricsRegistry();
  const tap = await startTap(opts.audit, spec, baseLog, metrics);
  const log: Logger = tap ? new TappedLogger(baseLog, tap) : baseLog;
  const abort = new AbortController();
  const node: NodeState = { spec, status: 'starting', role: undefined, partitioned: new Set(), started: Date.now() };
  const restartRequested = new Promise<void>((resolve) => {
    node.onRestart = resolve;
  });
  let reportFailure: (e: Error) => void = () => {};
  const failure = new Promise<Error>((resolve) => {
    reportFailure = resolve;
  });
  const fatal = (e: unknown): void => {
    if (node.status === 'stopping') return;
    node.status = 'stopping';
    logFatal(log, e);
    reportFailure(e instanceof Error ? e : new Error(String(e)));
  };

  metrics.gauge('tclouds_node_up', 'The node host is running', { role: spec.role }).set(1);
  log.info('node starting', { kind: spec.kind, role: spec.role, host: spec.host, ports: spec.ports, pid: process.pid });
  const control = await serveControl(node, token, tls, metrics, log).catch(async (e: unknown) => {
    await logFile.close();
    throw e;
  });
  const ctx: RoleContext = {
    spec,
    log,
    metrics: tap ? new TappedMetrics(metrics, tap) : metrics,
    signal: abort.signal,
    privateKey,
    partitioned: node.partitioned,
    fatal,
    ...(tap ? { audit: (type: string, msg: string) => tap.record(type, msg) } : {}),
  };
  try {
    node.role = await factory(ctx);
  } catch (e) {
    await control.close();
    log.error('role failed to start', { error: (e as Error).message });
    await tap?.close();
    await logFile.close();
    if (isTcError(e)) throw e;
    throw new TcError(NodeCode.roleFailed, `role ${spec.role} failed to start: ${(e as Error).message}`, { cause: e });
  }
  // A role that reported a fatal error while starting keeps the host's 'stopping'.
  if (node.status === 'starting') node.status = 'ok';
  log.info('node ready', { controlPort: spec.controlPort, controlTls: tls !== undefined });

  let stopping: Promise<void> | undefined;
  return {
    spec,
    failure,
    restartRequested,
    stop: () => {
      stopping ??= (async () => {
        node.status = 'stopping';
        log.info('node stopping');
        abort.abort();
        try {
          await node.role?.stop();
        } catch (e) {
          log.error('role stop failed', { error: (e as Error).message });
        }
        await control.close();
        log.info('node stopped');
        await tap?.close();
        await logFile.close();
      })();
      return stopping;
    },
    abandon: () => {
      stopping ??= (async () => {
        abort.abort();
        await control.close();
        await tap?.close();
        await logFile.close();
      })();
      return stopping;
    },
  };
}

/** The node's audit tap, if its spec names a log; one that cannot start costs a warning, never the node. */
async function startTap(
  factory: AuditTapFactory | undefined,
  spec: NodeSpec,
  log: Logger,
  metrics: MetricsRegistry,
): Promise<AuditTap | undefined> {
  if (!factory || !spec.auditLog) return undefined;
  try {
    return await factory(spec, log, metrics);
  } catch (e) {
    log.warn('audit log unavailable; this node records no events', { error: (e as Error).message });
    return undefined;
  }
}

/** The one log line of a fatal error: its code, message and what the failed assertion saw. */
function logFatal(log: Logger, e: unknown): void {
  const err = e as Error & { code?: string; details?: Record<string, unknown> };
  log.error('fatal: stopping the node', {
    code: typeof err?.code === 'string' ? err.code : 'TC000',
    error: String(err?.message ?? e),
    ...(err?.details ? { details: err.details } : {}),
  });
}

function safeHealth(role: RoleInstance): Record<string, unknown> {
  try {
    return role.health();
  } catch (e) {
    return { error: String((e as Error).message) };
  }
}

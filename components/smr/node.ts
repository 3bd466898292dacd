/**
 * The SMR node roles for the node host: `replica`, and `standby` for the second group of a twin quad (the same
 * software; its group is the nodes of its own role).
 *
 * A replica is assembled from four parts:
 *   replica-env.ts     its group, keys and MAC vectors, the core's crypto, the client request check
 *   replica-store.ts   what it keeps on disk (checkpoint, clean-stop state, restart marker)
 *   protocol/core.ts   the pure core, run by replica-driver.ts against the service
 *   replica-wiring.ts  transports, ticks, dispatch, metrics, health, admin and stop
 * Crash-fault components (`faults: crash`, n = 2f+1) run the same core with Byzantine tolerance 0.
 *
 * Durability: with `durability: fsync` (the default) every vote, regency and decision is in the write-ahead log
 * (wal.ts) before any message or reply showing it leaves, so a crash of every replica at once loses nothing
 * acknowledged. With `none`, every checkpoint is written to disk and a clean stop (SIGTERM) also saves the decisions
 * made since, the regency and the votes in progress, but a crash loses what came after the last checkpoint at that
 * replica (replica-store.ts). A restarted replica comes back `recovering` (it will not propose until a new regency
 * is installed).
 *
 * Fault switch: with spec config `faultInjection: true`, POST /admin/fault {"mode": ...} (admin bearer token) turns
 * this replica Byzantine at run time (misbehaviour.ts). Local deployments set it; cloud ones only on request.
 */
import path from 'node:path';
import { isInvariantError } from '../../kernel/assert.js';
import type { PeerSpec } from '../../runtime/node-spec.js';
import type { RoleContext, RoleFactory, RoleInstance } from '../../runtime/role.js';
import { type ReplicaConfig, replicaConfig } from './config.js';
import { Misbehaviour } from './misbehaviour.js';
import type { DurableState } from './protocol/core.js';
import { ReplicaCore } from './protocol/core.js';
import { MAX_PENDING_PER_CLIENT, MIN_REQUEST_TIMEOUT_TICKS } from './protocol/limits.js';
import { emptyOutput, ReplicaDriver } from './replica-driver.js';
import { clientMacCheck, replicaEnv, replicaGroup, requestAuth } from './replica-env.js';
import { ReplicaStore } from './replica-store.js';
import { ReplicaWiring } from './replica-wiring.js';
import { loadService } from './services/load.js';
import type { Service } from './services/service.js';
import { Wal } from './wal.js';
import type { Replayed } from './wal-codec.js';

const replica: RoleFactory = async (ctx: RoleContext): Promise<RoleInstance> => {
  const group = replicaGroup(ctx.spec);
  const config = replicaConfig(ctx.spec.config, group.length);
  const service = await loadService(config.service);
  const { wiring, clientAuth, recovering } = await startReplica(ctx, config, group, service);
  ctx.log.info('replica started', {
    index: ctx.spec.index,
    n: config.n,
    f: config.f,
    faults: config.faults,
    service: config.service,
    clientAuth,
    durability: config.durability,
    recovering,
  });
  return wiring;
};

/**
 * A replica of `group` running `service`, from its parts: the kinds whose nodes are SMR replicas with a service of
 * their own (the log core, the workflow engine) start theirs here too, so they get ordering, durability, recovery
 * and state transfer from this one implementation.
 */
export async function startReplica(
  ctx: RoleContext,
  config: ReplicaConfig,
  group: PeerSpec[],
  service: Service,
): Promise<{ wiring: ReplicaWiring; clientAuth: string; recovering: boolean }> {
  const { spec, log } = ctx;
  const me = spec.index;
  const { verify, clientAuth } = requestAuth(spec, clientMacCheck(ctx, me));
  const env = replicaEnv(ctx, group, verify);
  const store = new ReplicaStore(spec.dataDir, log);
  const core = new ReplicaCore(
    {
      n: config.n,
      f: config.faults === 'crash' ? 0 : config.f,
      me,
      batchSize: config.batchSize,
      checkpointPeriod: config.checkpointPeriod,
      // The core counts time in ticks.
      requestTimeout: Math.max(MIN_REQUEST_TIMEOUT_TICKS, Math.round(config.requestTimeoutMs / config.tickMs)),
      maxPendingPerClient: MAX_PENDING_PER_CLIENT,
      maxPending: config.maxPending,
      recovering: store.recovering,
    },
    env,
  );
  const driver = new ReplicaDriver(core, service, env);
  // The log's writer reports to the wiring, which exists only once the log has been read.
  let wiring: ReplicaWiring | undefined;
  const opened =
    config.durability === 'fsync'
      ? Wal.open(path.join(spec.dataDir, 'wal'), log, {
          durable: () => wiring?.onDurable(),
          failed: (e) => wiring?.durability?.onFailed(e),
        })
      : undefined;
  resumeFromDisk(ctx, store, core, driver, opened?.recovered);
  wiring = new ReplicaWiring(
    ctx,
    config,
    group,
    core,
    driver,
    store,
    new Misbehaviour(me, config.n),
    opened?.wal ?? null,
  );
  await wiring.start();
  return { wiring, clientAuth, recovering: store.recovering };
}

/**
 * At a restart, before any peer or client can talk to the replica: its own last checkpoint, then what its
 * write-ahead log holds (or, without one, what its last clean stop saved; a stop state left by a release without
 * the log is read once too). A saved state that breaks one of the core's invariants (kernel/assert.ts) is reported
 * like any broken invariant (`ctx.fatal`, one log line) and fails the start.
 *
 * A replica restarted from its log has its votes back, but it still comes back `recovering` (no proposing until a
 * new regency): its log holds the proposals it voted for, not the early PROPOSE of the next instance a leader may
 * have sent just before the crash (consensus.ts maybeProposeEarly), so proposing again in that regency could
 * equivocate.
 */
function resumeFromDisk(
  ctx: RoleContext,
  store: ReplicaStore,
  core: ReplicaCore,
  driver: ReplicaDriver,
  logged: Replayed | undefined,
): void {
  const { log } = ctx;
  store.loadCheckpoint((cid, bytes) => {
    const restored = core.restoreLocal(cid, bytes);
    if (!restored) return false;
    driver.restore(restored);
    log.info('restored own checkpoint', { cid: core.lastDecided });
    return true;
  }, logged?.checkpoint);
  const stopped = store.takeStopState();
  const saved: DurableState | undefined = logged?.state ?? stopped;
  if (!saved) return;
  const out = emptyOutput();
  try {
    driver.resume(saved, out);
  } catch (e) {
    if (isInvariantError(e)) ctx.fatal(e);
    throw e;
  }
  log.info(logged ? 'resumed the state in the write-ahead log' : 'resumed the state saved at the last clean stop', {
    replayed: out.executed.length,
    lastDecided: core.lastDecided,
    regency: core.regency,
    votesRestored: core.lastDecided === saved.lastDecided,
  });
}

export const roles: Record<string, RoleFactory> = { replica, standby: replica };

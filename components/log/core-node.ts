/**
 * The `core` role of a log component: an SMR replica (components/smr, BFT-SMaRt style, write-ahead log) whose
 * service is the log (protocol/core-service.ts), plus the replica's own segment persister (persister.ts). It is
 * assembled from the SMR replica's parts exactly as `components/smr/node.ts` does, with the log service in place
 * of a loaded one, so the log core gets every property of the SMR replica (ordering, durability, recovery, state
 * transfer) without a second implementation.
 */
import { createPublicKey } from 'node:crypto';
import path from 'node:path';
import { isInvariantError } from '../../kernel/assert.js';
import type { RoleContext, RoleFactory, RoleInstance } from '../../runtime/role.js';
import { parseNodeConfig } from '../node-config.js';
import { replicaConfig } from '../smr/config.js';
import { Misbehaviour } from '../smr/misbehaviour.js';
import { ReplicaCore } from '../smr/protocol/core.js';
import { MAX_PENDING_PER_CLIENT, MIN_REQUEST_TIMEOUT_TICKS } from '../smr/protocol/limits.js';
import { emptyOutput, ReplicaDriver } from '../smr/replica-driver.js';
import { clientMacCheck, replicaEnv, replicaGroup, requestAuth } from '../smr/replica-env.js';
import { ReplicaStore } from '../smr/replica-store.js';
import { ReplicaWiring } from '../smr/replica-wiring.js';
import { Wal } from '../smr/wal.js';
import type { Replayed } from '../smr/wal-codec.js';
import { DepSkyClient } from '../storage/client.js';
import { defaultWriterId, readSigningKey } from '../storage/keys.js';
import { bucketDrivers } from './buckets.js';
import { LogCode } from './codes.js';
import { LogCoreConfigSchema } from './config.js';
import { SegmentPersister } from './persister.js';
import { LogCoreService } from './protocol/core-service.js';

/** `keys/storage-<node>-writer.key`, next to the node key (stacks/plan-keys.ts puts planned writer keys there). */
export function writerKeyFile(keyFile: string, nodeId: string): string {
  return path.join(path.dirname(keyFile), `storage-${nodeId}-writer.key`);
}

const core: RoleFactory = async (ctx: RoleContext): Promise<RoleInstance> => {
  const { spec, log } = ctx;
  const group = replicaGroup(spec);
  const config = replicaConfig(spec.config, group.length);
  const logConfig = parseNodeConfig(LogCoreConfigSchema, spec.config, {
    code: LogCode.config,
    what: 'log core config',
  });
  const signKey = await readSigningKey(writerKeyFile(spec.keyFile, spec.id));
  const verifyKey = createPublicKey(signKey);
  const storage = new DepSkyClient({
    drivers: bucketDrivers(logConfig),
    f: config.f,
    protocol: 'depsky-a',
    verifyKey,
    signKey,
    writer: defaultWriterId(verifyKey),
  });
  const persister = new SegmentPersister({
    dataDir: spec.dataDir,
    replica: spec.index,
    log: `${spec.stack}/${spec.component}`,
    storage,
    signKey,
    logger: log,
  });
  await persister.start();
  const service = new LogCoreService((s) => persister.enqueue(s), logConfig.segmentEntries);
  const me = spec.index;
  const { verify } = requestAuth(spec, clientMacCheck(ctx, me));
  const env = replicaEnv(ctx, group, verify);
  const store = new ReplicaStore(spec.dataDir, log);
  const replicaCore = new ReplicaCore(
    {
      n: config.n,
      f: config.f,
      me,
      batchSize: config.batchSize,
      checkpointPeriod: config.checkpointPeriod,
      requestTimeout: Math.max(MIN_REQUEST_TIMEOUT_TICKS, Math.round(config.requestTimeoutMs / config.tickMs)),
      maxPendingPerClient: MAX_PENDING_PER_CLIENT,
      maxPending: config.maxPending,
      recovering: store.recovering,
    },
    env,
  );
  const driver = new ReplicaDriver(replicaCore, service, env);
  let wiring: ReplicaWiring | undefined;
  const opened =
    config.durability === 'fsync'
      ? Wal.open(path.join(spec.dataDir, 'wal'), log, {
          durable: () => wiring?.durability?.onDurable(),
          failed: (e) => wiring?.durability?.onFailed(e),
        })
      : undefined;
  resume(ctx, store, replicaCore, driver, opened?.recovered);
  wiring = new ReplicaWiring(
    ctx,
    config,
    group,
    replicaCore,
    driver,
    store,
    new Misbehaviour(me, config.n),
    opened?.wal ?? null,
  );
  await wiring.start();
  log.info('log core replica started', { index: me, n: config.n, f: config.f, entries: service.size });
  const w = wiring;
  return {
    health: () => ({
      ...w.health(),
      entries: service.size,
      segments: service.sealedSegments,
      persisted: persister.persisted,
      persistQueue: persister.queued,
      ...(persister.lastError ? { storageError: persister.lastError } : {}),
    }),
    admin: (action, body) => w.admin(action, body),
    stop: async () => {
      await w.stop();
      await persister.idle();
      await storage.close();
    },
  };
};

/** The SMR replica's restart path (components/smr/node.ts resumeFromDisk): checkpoint, then the write-ahead log. */
function resume(
  ctx: RoleContext,
  store: ReplicaStore,
  core: ReplicaCore,
  driver: ReplicaDriver,
  logged: Replayed | undefined,
): void {
  store.loadCheckpoint((cid, bytes) => {
    const restored = core.restoreLocal(cid, bytes);
    if (!restored) return false;
    driver.restore(restored);
    return true;
  }, logged?.checkpoint);
  const saved = logged?.state ?? store.takeStopState();
  if (!saved) return;
  try {
    driver.resume(saved, emptyOutput());
  } catch (e) {
    if (isInvariantError(e)) ctx.fatal(e);
    throw e;
  }
  ctx.log.info('log core resumed its saved state', { lastDecided: core.lastDecided });
}

export const coreRoles: Record<string, RoleFactory> = { core };

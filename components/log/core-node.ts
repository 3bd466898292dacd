/**
 * The `core` role of a log component: an SMR replica (components/smr, BFT-SMaRt style, write-ahead log) whose
 * service is the log (protocol/core-service.ts), plus the replica's own segment persister (persister.ts). It is
 * started by the SMR's own `startReplica` (components/smr/node.ts) with the log service in place of a loaded one,
 * so the log core gets every property of the SMR replica (ordering, durability, recovery, state transfer) without
 * a second implementation.
 */
import { createPublicKey } from 'node:crypto';
import path from 'node:path';
import type { RoleContext, RoleFactory, RoleInstance } from '../../runtime/role.js';
import { parseNodeConfig } from '../node-config.js';
import { replicaConfig } from '../smr/config.js';
import { startReplica } from '../smr/node.js';
import { replicaGroup } from '../smr/replica-env.js';
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
  const service = new LogCoreService((s) => persister.enqueue(s), logConfig.segmentEntries, logConfig.producers ?? {});
  const { wiring: w } = await startReplica(ctx, config, group, service);
  log.info('log core replica started', { index: spec.index, n: config.n, f: config.f, entries: service.size });
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

export const coreRoles: Record<string, RoleFactory> = { core };

/**
 * The `console` role of a log component: the HTTP API of console-api.ts on the node's `http` port (bound to
 * spec.host: loopback on the local target). Appends go through the core as the SMR client `console-<component>`;
 * reads come from storage through verifyLog, refreshed at most every REFRESH_MS, never from storage unchecked.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { promises as fs } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { readPrivateKey } from '../../runtime/keys.js';
import type { RoleContext, RoleFactory, RoleInstance } from '../../runtime/role.js';
import { parseNodeConfig } from '../node-config.js';
import { SmrClient } from '../smr/client.js';
import { bucketDrivers } from './buckets.js';
import { LogClient } from './client.js';
import { LogCode } from './codes.js';
import { LogConsoleConfigSchema } from './config.js';
import { handleConsole } from './console-api.js';
import type { Entry } from './protocol/entry.js';
import type { TreeHead } from './protocol/segment.js';
import { verifyStored } from './reader.js';
import { checkToken } from './tokens.js';

/** How stale the console's verified view may get before a read refreshes it from storage. */
export const REFRESH_MS = 500;

/** The console's token key: `keys/storage-<component>-console-writer.pub` (plan.ts plans it as an Ed25519 key). */
export function tokenKeyFile(keyFile: string, component: string, which: 'key' | 'pub'): string {
  return path.join(path.dirname(keyFile), `storage-${component}-console-writer.${which}`);
}

async function readPublic(file: string): Promise<KeyObject> {
  return createPublicKey(await fs.readFile(file, 'utf8'));
}

const consoleRole: RoleFactory = async (ctx: RoleContext): Promise<RoleInstance> => {
  const { spec, log } = ctx;
  const cfg = parseNodeConfig(LogConsoleConfigSchema, spec.config, {
    code: LogCode.config,
    what: 'log console config',
  });
  const logName = `${spec.stack}/${spec.component}`;
  const tokenKey = await readPublic(tokenKeyFile(spec.keyFile, spec.component, 'pub'));
  const cores = spec.peers.filter((p) => p.role === 'core').sort((a, b) => a.index - b.index);
  const keys = await Promise.all(
    cores.map((c) => readPublic(path.join(path.dirname(spec.keyFile), `storage-${c.id}-writer.pub`))),
  );
  const smr = new SmrClient({
    stack: spec.stack,
    clientId: cfg.clientId,
    privateKey: await readPrivateKey(path.join(path.dirname(spec.keyFile), `${cfg.clientId}.key`)),
    replicas: cores.map((c) => ({
      id: c.id,
      index: c.index,
      host: c.host,
      port: c.ports.client as number,
      publicKey: c.publicKey,
    })),
    f: cfg.f,
    log,
  });
  // Start the transport now; it keeps dialling replicas that are not up yet.
  await smr.connect(0, 0);
  const core = new LogClient(smr);
  const drivers = bucketDrivers(cfg);
  let view: { entries: readonly Entry[]; head: TreeHead | null; at: number; ok: boolean } = {
    entries: [],
    head: null,
    at: 0,
    ok: true,
  };
  let refreshing: Promise<void> | undefined;
  const refresh = async () => {
    const r = await verifyStored(drivers, { log: logName, n: cores.length, f: cfg.f, keys });
    // Entries up to the first problem verified; the view never shows what did not.
    view = { entries: r.entries, head: r.head, at: Date.now(), ok: r.ok };
    if (!r.ok) log.warn('the stored log does not fully verify', { problems: r.problems.slice(0, 5) });
  };
  const server = http.createServer((req, res) => {
    void handleConsole(
      {
        checkToken: (t) => checkToken(tokenKey, logName, t),
        append: async (entries, onBehalf, seal) => {
          const r = await core.appendBatch(entries, 0, onBehalf);
          if (seal) await core.seal();
          return r;
        },
        verified: async () => {
          if (Date.now() - view.at > REFRESH_MS) {
            refreshing ??= refresh().finally(() => (refreshing = undefined));
            await refreshing;
          }
          return view;
        },
        jurisdictions: cfg.jurisdictions,
      },
      req,
      res,
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(spec.ports.http, spec.host, () => resolve());
  });
  log.info('log console listening', { host: spec.host, port: spec.ports.http, cores: cores.length });
  return {
    health: () => ({ verifiedEntries: view.entries.length, verified: view.ok, verifiedAt: view.at || null }),
    stop: async () => {
      // Idle keep-alive connections would hold close() open until they time out: drop them once it is called.
      const closed = new Promise<void>((r) => server.close(() => r()));
      server.closeAllConnections();
      await closed;
      await core.close();
    },
  };
};

export const consoleRoles: Record<string, RoleFactory> = { console: consoleRole };

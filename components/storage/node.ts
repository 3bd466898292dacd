/**
 * Storage node roles. `gateway`: a mediator-mode TIS that runs the DepSky client for an organisation's clients and
 * serves it over HTTP on `spec.ports.http` (bound to `spec.host`; loopback on the local target), in two dialects:
 * - the S3 REST API (./s3/: Signature V4 with access keys from `tclouds storage credentials`), for every tool
 *   that speaks S3;
 * - the tclouds API below (requests carrying `x-tclouds-client`), authenticated with the client's X25519 key
 *   (./gateway-auth.ts), used by `tclouds storage ... --via-gateway`.
 * The gateway holds the writer signing key, so clients need no DepSky keys at all. Writes of both dialects to one
 * key are ordered by a per-key queue and the key's DepSky lock (./s3/write-order.ts).
 *
 *   GET    /v1/objects            -> {"dataUnits":[...],"incomplete":[...]}
 *   GET    /v1/objects/<du>       -> the verified bytes (header x-tclouds-version)
 *   GET    /v1/stat/<du>          -> {"du","version","protocol","size",...}
 *   PUT    /v1/objects/<du>       -> {"du","version","protocol","size","bytesPerCloud","acked","failed"}
 *   DELETE /v1/objects/<du>       -> {"du","removedFiles","incomplete"}
 * <du> is encodeURIComponent(data unit name). Errors: {"error":{code,message,hint}} with 401 (authentication),
 * 400 (bad request), 403 (TC203), 404 (TC202), 503 (TC201), 500 otherwise.
 *
 * Spec config (from the storage plan): protocol, f, clouds, buckets; on the local target `bucketPaths`
 * (cloud -> directory). Other clouds need `providers` (cloud -> aws|azure|gcp); a cloud deploy adds per cloud the
 * credential source (`credentials`: the VM's identity or a credentials file) and Azure `accounts`
 * (./gateway-drivers.ts); clouds without a source use the SDKs' environment credentials. Writer key: `config.writerKeyFile`, default `storage-<component>-writer.key` next to the node key.
 */
import { createHash, type KeyObject, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, promises as fs } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ExitCode, isTcError, TcError } from '../../kernel/errors.js';
import type { RoleContext, RoleFactory, RoleInstance } from '../../runtime/role.js';
import { DepSkyClient } from './client.js';
import { StorageCode } from './codes.js';
import { parseStorageGatewayConfig, type StorageGatewayConfig } from './config.js';
import { ResilientDriver } from './drivers/resilient.js';
import { EMPTY_SHA256, gatewayKey, macEqual, NonceWindow, requestMac, responseMac } from './gateway-auth.js';
import { gatewayDrivers } from './gateway-drivers.js';
import { defaultWriterId, readSigningKey, readVerifyKey } from './keys.js';
import { checkNameFitsClouds } from './name-limits.js';
import type { S3Gateway } from './s3/context.js';
import { CREDENTIALS_DU, CredentialCache, credentialMaster, parseStore } from './s3/credentials.js';
import { handleS3 } from './s3/server.js';
import { inWriteOrder, KeyedQueue } from './s3/write-order.js';

function configError(message: string): TcError {
  return new TcError(StorageCode.badConfig, `storage gateway: ${message}`, {
    exit: ExitCode.invalid,
    hint: 'the node spec was written by a different tclouds version or by hand; redeploy',
  });
}

const STATUS: Record<string, number> = {
  [StorageCode.notFound]: 404,
  [StorageCode.noQuorum]: 503,
  [StorageCode.wrongKey]: 403,
  [StorageCode.badName]: 400,
  [StorageCode.tooLarge]: 413,
};

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Counters and running totals of one gateway (GET /metrics and its /health). */
function gatewayStats(metrics: RoleContext['metrics']) {
  return {
    counters: {
      requests: metrics.counter('tclouds_storage_gateway_requests_total', 'Authenticated gateway requests'),
      rejected: metrics.counter(
        'tclouds_storage_gateway_rejected_total',
        'Requests refused (authentication or replay)',
      ),
      bytesIn: metrics.counter('tclouds_storage_gateway_bytes_in_total', 'Object bytes received from clients'),
      bytesOut: metrics.counter('tclouds_storage_gateway_bytes_out_total', 'Object bytes sent to clients'),
      s3InFlight: metrics.gauge('tclouds_storage_gateway_s3_in_flight', 'S3 requests being served'),
    },
    /** s3InFlight: S3 requests not finished; one that never finishes holds its memory (a leak to watch for). */
    totals: { puts: 0, gets: 0, bytesIn: 0, bytesOut: 0, s3InFlight: 0 },
  };
}

/** One authenticated request: who sent it, its nonce (echoed in the response MAC) and its spooled body, if any. */
interface Authenticated {
  /** The client id the request authenticated as. */
  client: string;
  key: Buffer;
  nonce: string;
  method: string;
  url: string;
  bodyFile: string | undefined;
}

/** The HTTP side of a gateway: request authentication, body spooling, routes, signed responses. */
class GatewayHttp {
  private readonly nonces = new NonceWindow();
  private readonly keys = new Map<string, Buffer>();
  readonly stats: ReturnType<typeof gatewayStats>;

  constructor(
    private readonly ctx: RoleContext,
    private readonly client: DepSkyClient,
    private readonly spool: string,
    private readonly maxBody: number,
    private readonly order: { queue: KeyedQueue; fresh: () => DepSkyClient },
  ) {
    this.stats = gatewayStats(ctx.metrics);
  }

  /** The pairwise key with a client the spec lists (derived once per client). */
  keyOf(id: string): Buffer | undefined {
    const { spec, privateKey } = this.ctx;
    const pub = spec.clients[id];
    if (!pub) return undefined;
    let k = this.keys.get(id);
    if (!k) {
      k = gatewayKey(privateKey, pub, spec.stack, spec.id, id);
      this.keys.set(id, k);
    }
    return k;
  }

  private tmpFile(): string {
    return path.join(this.spool, `${randomBytes(8).toString('hex')}.tmp`);
  }

  /**
   * Checks the client, time and nonce, spools a PUT body while hashing it, then checks the MAC over the body's
   * digest: the body is used only once the MAC verified. The caller removes `bodyFile`.
   */
  private async authenticate(req: http.IncomingMessage): Promise<Authenticated> {
    const header = (name: string) => String(req.headers[name] ?? '');
    const [id, time, nonce, mac] = ['x-tclouds-client', 'x-tclouds-time', 'x-tclouds-nonce', 'x-tclouds-mac'].map(
      header,
    );
    const key = this.keyOf(id!);
    const method = req.method ?? 'GET';
    const url = req.url ?? '/';
    if (!key || !this.nonces.accept(nonce!, Number(time), Date.now())) {
      this.stats.counters.rejected.inc();
      req.resume();
      throw new HttpError(401, StorageCode.gatewayAuth, 'unknown client, stale time or replayed request');
    }
    let bodyFile: string | undefined;
    let bodySha = EMPTY_SHA256;
    if (method === 'PUT') {
      bodyFile = this.tmpFile();
      const file = bodyFile;
      bodySha = await spoolBody(req, file, this.maxBody).catch(async (e: unknown) => {
        await fs.rm(file, { force: true }); // a body over the limit or a dropped connection leaves no spool file
        throw e;
      });
    } else req.resume();
    if (!macEqual(mac!, requestMac(key, method, url, time!, nonce!, bodySha))) {
      if (bodyFile) await fs.rm(bodyFile, { force: true });
      this.stats.counters.rejected.inc();
      throw new HttpError(401, StorageCode.gatewayAuth, 'request authentication failed');
    }
    this.stats.counters.requests.inc();
    return { client: id!, key, nonce: nonce!, method, url, bodyFile };
  }

  async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const a = await this.authenticate(req);
    try {
      await this.route(a, res);
    } finally {
      if (a.bodyFile) await fs.rm(a.bodyFile, { force: true });
    }
  }

  private async route(a: Authenticated, res: http.ServerResponse): Promise<void> {
    const { method, url } = a;
    const m = /^\/v1\/(objects|stat)(?:\/([^/?]+))?$/.exec(url);
    if (!m) throw new HttpError(404, 'TC208', `no route ${method} ${url}`);
    const du = m[2] === undefined ? undefined : decodeURIComponent(m[2]);
    const json = (status: number, value: unknown) =>
      this.send(res, a.key, a.nonce, status, Buffer.from(JSON.stringify(value)), {
        'content-type': 'application/json',
      });
    if (m[1] === 'stat' && du && method === 'GET') return json(200, await this.client.stat(du));
    if (m[1] !== 'objects') throw new HttpError(404, 'TC208', `no route ${method} ${url}`);
    if (du === undefined && method === 'GET') return json(200, await this.client.ls());
    if (du === undefined) throw new HttpError(405, 'TC208', `${method} needs an object name`);
    checkNameFitsClouds(du, this.client.drivers);
    if (method === 'PUT') {
      const r = await inWriteOrder(this.order.queue, this.order.fresh, du, (c, signal) =>
        c.put(du, { file: a.bodyFile! }, { signal }),
      );
      this.stats.totals.puts++;
      this.stats.totals.bytesIn += r.size;
      this.stats.counters.bytesIn.inc(r.size);
      this.ctx.audit?.(
        'storage.write',
        `client ${a.client} wrote ${du} version ${r.version} (${r.size} bytes, clouds ${r.acked.join(',')})`,
      );
      return json(200, r);
    }
    if (method === 'DELETE') {
      const r = await inWriteOrder(this.order.queue, this.order.fresh, du, (c) => c.rm(du));
      this.ctx.audit?.('storage.delete', `client ${a.client} deleted ${du}`);
      return json(200, r);
    }
    if (method === 'GET') return this.sendObject(a, du, res);
    throw new HttpError(405, 'TC208', `method ${method} not allowed`);
  }

  /** GET of an object: read and verified into the spool, then streamed with its digest and the response MAC. */
  private async sendObject(a: Authenticated, du: string, res: http.ServerResponse): Promise<void> {
    const out = this.tmpFile();
    try {
      const info = await this.client.getToFile(du, out);
      const h = createHash('sha256');
      for await (const c of createReadStream(out)) h.update(c as Buffer);
      const sha = h.digest('hex');
      res.writeHead(200, {
        'content-type': 'application/octet-stream',
        'content-length': String(info.size),
        'x-tclouds-version': info.version,
        'x-tclouds-sha256': sha,
        'x-tclouds-mac': responseMac(a.key, 200, a.nonce, sha),
      });
      await pipeline(createReadStream(out), res);
      this.stats.totals.gets++;
      this.stats.totals.bytesOut += info.size;
      this.stats.counters.bytesOut.inc(info.size);
    } finally {
      await fs.rm(out, { force: true });
    }
  }

  send(
    res: http.ServerResponse,
    key: Buffer | undefined,
    nonce: string,
    status: number,
    body: Buffer,
    headers: Record<string, string>,
  ): void {
    const sha = createHash('sha256').update(body).digest('hex');
    res.writeHead(status, {
      ...headers,
      'content-length': String(body.length),
      'x-tclouds-sha256': sha,
      ...(key ? { 'x-tclouds-mac': responseMac(key, status, nonce, sha) } : {}),
    });
    res.end(body);
  }

  /** A failed request as `{"error":{code,message,hint}}`; signed unless the client was not authenticated. */
  fail(req: http.IncomingMessage, res: http.ServerResponse, e: unknown): void {
    const err =
      e instanceof HttpError
        ? { status: e.status, code: e.code, message: e.message }
        : isTcError(e)
          ? { status: STATUS[e.code] ?? 500, code: e.code, message: e.message, ...(e.hint ? { hint: e.hint } : {}) }
          : { status: 500, code: 'TC000', message: 'internal error' };
    if (err.status >= 500) this.ctx.log.warn('gateway request failed', { code: err.code, message: err.message });
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const { status, ...error } = err;
    const key = status === 401 ? undefined : this.keyOf(String(req.headers['x-tclouds-client'] ?? ''));
    this.send(res, key, String(req.headers['x-tclouds-nonce'] ?? ''), status, Buffer.from(JSON.stringify({ error })), {
      'content-type': 'application/json',
    });
  }
}

/** The S3 side of the gateway (./s3/): the component as a bucket, access keys from the component itself. */
async function s3Gateway(
  ctx: RoleContext,
  cfg: StorageGatewayConfig,
  client: DepSkyClient,
  order: { queue: KeyedQueue; fresh: () => DepSkyClient },
  signKey: KeyObject,
  stats: ReturnType<typeof gatewayStats>,
): Promise<S3Gateway> {
  const { spec } = ctx;
  const spool = path.join(spec.dataDir, 's3-spool');
  const multipartDir = path.join(spec.dataDir, 's3-multipart');
  await fs.rm(spool, { recursive: true, force: true }); // leftovers of a crash are never used again
  for (const d of [spool, multipartDir]) await fs.mkdir(d, { recursive: true, mode: 0o700 });
  const credentials = new CredentialCache(
    async () => {
      try {
        const { bytes } = await client.get(CREDENTIALS_DU);
        return parseStore(bytes);
      } catch (e) {
        if (isTcError(e) && e.code === StorageCode.notFound) return undefined;
        throw e;
      }
    },
    credentialMaster(signKey, spec.component),
  );
  return {
    component: spec.component,
    client,
    fresh: order.fresh,
    queue: order.queue,
    credentials,
    spool,
    multipartDir,
    maxBodyBytes: cfg.maxBodyBytes,
    protocol: cfg.protocol,
    log: ctx.log,
    onBytes: (direction, n) => {
      if (direction === 'in') {
        stats.totals.puts++;
        stats.totals.bytesIn += n;
        stats.counters.bytesIn.inc(n);
      } else {
        stats.totals.gets++;
        stats.totals.bytesOut += n;
        stats.counters.bytesOut.inc(n);
      }
    },
  };
}

/** Writes a request body to `file` (0600) while hashing it; more than `maxBody` bytes is a 413. Returns the digest. */
async function spoolBody(req: http.IncomingMessage, file: string, maxBody: number): Promise<string> {
  const h = createHash('sha256');
  let size = 0;
  const tap = new Transform({
    transform(chunk: Buffer, _e, cb) {
      size += chunk.length;
      if (size > maxBody) cb(new HttpError(413, StorageCode.tooLarge, `body larger than ${maxBody} bytes`));
      else {
        h.update(chunk);
        cb(null, chunk);
      }
    },
  });
  await pipeline(req, tap, createWriteStream(file, { mode: 0o600 }));
  return h.digest('hex');
}

async function gateway(ctx: RoleContext): Promise<RoleInstance> {
  const { spec, log } = ctx;
  const cfg = parseStorageGatewayConfig(spec.config);
  const port = spec.ports.http;
  if (port === undefined) throw configError('spec has no `http` port');
  const keyFile = cfg.writerKeyFile ?? path.join(path.dirname(spec.keyFile), `storage-${spec.component}-writer.key`);
  const signKey = await readSigningKey(keyFile);
  const verifyKey = await readVerifyKey(keyFile);
  // Drivers are wrapped with retries once and shared by the read client and the per-write clients of the S3 API.
  const drivers = (await gatewayDrivers(cfg)).map((d) => new ResilientDriver(d, {}));
  const clientOptions = {
    drivers,
    retry: false as const,
    f: cfg.f,
    protocol: cfg.protocol,
    verifyKey,
    signKey,
    // Gateways share the writer key; the node id keeps their version numbers (and lock files) apart.
    writer: createHash('sha256')
      .update(`${defaultWriterId(verifyKey)}/${spec.id}`)
      .digest('hex')
      .slice(0, 12),
  };
  const client = new DepSkyClient(clientOptions);
  const spool = path.join(spec.dataDir, 'spool');
  await fs.mkdir(spool, { recursive: true, mode: 0o700 });
  // Writes of both APIs to one key share one queue and the key's DepSky lock (./s3/write-order.ts).
  const order = { queue: new KeyedQueue(), fresh: () => new DepSkyClient(clientOptions) };
  const web = new GatewayHttp(ctx, client, spool, cfg.maxBodyBytes, order);
  const s3 = await s3Gateway(ctx, cfg, client, order, signKey, web.stats);
  const server = http.createServer((req, res) => {
    // Requests of the tclouds gateway client carry x-tclouds-client; everything else speaks S3.
    if (req.headers['x-tclouds-client'] === undefined) {
      const { totals, counters } = web.stats;
      counters.s3InFlight.set(++totals.s3InFlight);
      void handleS3(s3, req, res).finally(() => counters.s3InFlight.set(--totals.s3InFlight));
      return;
    }
    web.handle(req, res).catch((e: unknown) => web.fail(req, res, e));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, spec.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  log.info('storage gateway listening', { host: spec.host, port, clouds: cfg.clouds, protocol: cfg.protocol });

  return {
    health: () => ({ protocol: cfg.protocol, clouds: cfg.clouds, f: cfg.f, ...web.stats.totals }),
    stop: async () => {
      server.closeAllConnections?.();
      await new Promise<void>((r) => server.close(() => r()));
      await client.close();
    },
  };
}

export const roles: Record<string, RoleFactory> = { gateway };

/**
 * Loopback stand-ins for what a cloud VM reaches besides its buckets, for the credential tests:
 * - one instance metadata server answering as EC2 IMDSv2, Azure IMDS and the GCE metadata server, issuing
 *   numbered credentials with a chosen lifetime;
 * - a recording HTTP proxy (in front of s3rver: which keys and session token each request was signed with);
 * - a small GCS JSON API (objects in memory) that answers only requests carrying a token the metadata server issued;
 * - Azurite over HTTPS (a self-signed certificate made with openssl) with OAuth on, so bearer tokens are checked;
 * - Google's STS for workload identity federation: it checks the subject token (AWS: a GetCallerIdentity request
 *   SigV4-signed with the keys the metadata server issued, for the right audience; Azure: the metadata server's JWT
 *   for `api://AzureADTokenExchange`) and issues access tokens the GCS stand-in accepts.
 */
import { execFileSync, spawn } from 'node:child_process';
import { createHash, createHmac, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';

function listen(server: http.Server): Promise<string> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`));
  });
}

function closeServer(server: http.Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((r) => server.close(() => r()));
}

async function body(req: http.IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** The S3 keys s3rver accepts (its documented default account; not a secret). */
export const S3RVER_KEYS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

/** An unsigned JWT with the claims Azurite's basic OAuth checks (issuer, storage audience, lifetime). */
function azureJwt(n: number, expSeconds: number, aud = 'https://storage.azure.com'): string {
  const enc = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  const claims = {
    aud,
    iss: 'https://sts.windows.net/00000000-0000-0000-0000-000000000000/',
    iat: now - 60,
    nbf: now - 60,
    exp: expSeconds,
    oid: `standin-${n}`,
  };
  return `${enc({ alg: 'none', typ: 'JWT' })}.${enc(claims)}.`;
}

export interface MetadataStandIn {
  url: string;
  /** Lifetime in seconds of the next credentials issued (per provider). */
  lifetime: { aws: number; azure: number; gcp: number };
  /** Credentials issued so far: AWS session tokens, Azure and GCP access tokens. */
  issued: { aws: string[]; azure: string[]; gcp: string[] };
  /** true: the instance has no role / identity (the services answer 404). */
  noIdentity: boolean;
  /** Requests seen (path and the headers that matter). */
  requests: { method: string; path: string; headers: http.IncomingHttpHeaders }[];
  close(): Promise<void>;
}

const ROLE = 'tclouds-gateway-role';
/** Microsoft's audience of tokens meant for another provider's token exchange. */
const AZURE_EXCHANGE_AUDIENCE = 'api://AzureADTokenExchange';

export async function startMetadataStandIn(): Promise<MetadataStandIn> {
  const imdsSessions = new Set<string>();
  const s: Omit<MetadataStandIn, 'url' | 'close'> = {
    lifetime: { aws: 3600, azure: 3600, gcp: 3600 },
    noIdentity: false,
    issued: { aws: [], azure: [], gcp: [] },
    requests: [],
  };
  const server = http.createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://x');
    s.requests.push({ method: req.method ?? '', path: u.pathname, headers: req.headers });
    const send = (status: number, text: string) => {
      res.writeHead(status, { 'content-type': 'text/plain' });
      res.end(text);
    };
    if (s.noIdentity && !u.pathname.endsWith('/api/token')) return send(404, 'no identity attached');
    // EC2 IMDSv2: a PUT for a session token, then only requests carrying it.
    if (u.pathname === '/latest/api/token' && req.method === 'PUT') {
      if (!req.headers['x-aws-ec2-metadata-token-ttl-seconds']) return send(400, 'missing ttl');
      const t = randomUUID();
      imdsSessions.add(t);
      return send(200, t);
    }
    if (u.pathname.startsWith('/latest/meta-data/iam/security-credentials/')) {
      if (!imdsSessions.has(String(req.headers['x-aws-ec2-metadata-token']))) return send(401, 'no IMDSv2 token');
      const role = u.pathname.slice('/latest/meta-data/iam/security-credentials/'.length);
      if (role === '') return send(200, `${ROLE}\n`);
      if (role !== ROLE) return send(404, 'no such role');
      const token = `aws-session-${s.issued.aws.length + 1}`;
      s.issued.aws.push(token);
      const expiration = new Date(Date.now() + s.lifetime.aws * 1000).toISOString();
      const c = {
        Code: 'Success',
        Type: 'AWS-HMAC',
        AccessKeyId: S3RVER_KEYS.accessKeyId,
        SecretAccessKey: S3RVER_KEYS.secretAccessKey,
        Token: token,
        Expiration: expiration,
      };
      return send(200, JSON.stringify(c));
    }
    // Azure IMDS: managed-identity token for a resource.
    if (u.pathname === '/metadata/identity/oauth2/token') {
      if (req.headers.metadata !== 'true') return send(400, 'Metadata header missing');
      const resource = u.searchParams.get('resource');
      if (resource !== 'https://storage.azure.com/' && resource !== AZURE_EXCHANGE_AUDIENCE) {
        return send(400, 'unexpected resource');
      }
      const exp = Math.floor(Date.now() / 1000) + s.lifetime.azure;
      const aud = resource === AZURE_EXCHANGE_AUDIENCE ? AZURE_EXCHANGE_AUDIENCE : undefined;
      const token = azureJwt(s.issued.azure.length + 1, exp, aud);
      s.issued.azure.push(token);
      return send(
        200,
        JSON.stringify({
          access_token: token,
          expires_on: String(exp),
          resource: 'https://storage.azure.com/',
          token_type: 'Bearer',
        }),
      );
    }
    // GCE metadata server: the default service account's token.
    if (u.pathname === '/computeMetadata/v1/instance/service-accounts/default/token') {
      if (req.headers['metadata-flavor'] !== 'Google') return send(403, 'Metadata-Flavor missing');
      const token = `gcp-token-${s.issued.gcp.length + 1}`;
      s.issued.gcp.push(token);
      return send(200, JSON.stringify({ access_token: token, expires_in: s.lifetime.gcp, token_type: 'Bearer' }));
    }
    send(404, 'not found');
  });
  const url = await listen(server);
  return Object.assign(s, { url, close: () => closeServer(server) });
}

export interface RecordingProxy {
  url: string;
  /** Per request: the access key id it was signed with and its session token. */
  seen: { accessKeyId: string | undefined; sessionToken: string | undefined }[];
  close(): Promise<void>;
}

/** Forwards every request to `target` as is, recording the S3 signing key and session token. */
export async function startRecordingProxy(target: string): Promise<RecordingProxy> {
  const seen: RecordingProxy['seen'] = [];
  const t = new URL(target);
  const server = http.createServer((req, res) => {
    const auth = String(req.headers.authorization ?? '');
    seen.push({
      accessKeyId: /Credential=([^/]+)\//.exec(auth)?.[1],
      sessionToken: req.headers['x-amz-security-token'] as string | undefined,
    });
    const up = http.request(
      { host: t.hostname, port: t.port, method: req.method, path: req.url, headers: req.headers },
      (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      },
    );
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  const url = await listen(server);
  return { url, seen, close: () => closeServer(server) };
}

// CRC32C (Castagnoli), what GCS reports in x-goog-hash and `crc32c`.
const CRC32C_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32c(b: Buffer): string {
  let c = 0xffffffff;
  for (const x of b) c = CRC32C_TABLE[(c ^ x) & 0xff]! ^ (c >>> 8);
  const out = Buffer.alloc(4);
  out.writeUInt32BE((c ^ 0xffffffff) >>> 0);
  return out.toString('base64');
}

export interface GcsStandIn {
  url: string;
  /** Bearer tokens of the requests, in order. */
  tokens: string[];
  objects: Map<string, Buffer>;
  close(): Promise<void>;
}

/** The parts of a `multipart/related` upload: metadata JSON, then the object's bytes. */
function multipart(raw: Buffer, contentType: string): Buffer[] {
  const boundary = /boundary="?([^";]+)"?/.exec(contentType)?.[1];
  if (!boundary) return [];
  const sep = Buffer.from(`--${boundary}`);
  const parts: Buffer[] = [];
  let at = raw.indexOf(sep);
  while (at >= 0) {
    const next = raw.indexOf(sep, at + sep.length);
    if (next < 0) break;
    const part = raw.subarray(at + sep.length, next);
    const headerEnd = part.indexOf('\r\n\r\n');
    if (headerEnd >= 0) parts.push(part.subarray(headerEnd + 4, part.length - 2));
    at = next;
  }
  return parts;
}

/**
 * A GCS JSON API over memory: one bucket per name, answering only tokens `valid()` lists. `beforeBody`, when given,
 * is awaited before a request's body is read (a slow cloud: the client's bytes wait in its own buffers).
 */
export async function startGcsStandIn(valid: () => string[], beforeBody?: () => Promise<void>): Promise<GcsStandIn> {
  const objects = new Map<string, Buffer>();
  const tokens: string[] = [];
  const meta = (bucket: string, name: string, b: Buffer) => ({
    kind: 'storage#object',
    bucket,
    name,
    size: String(b.length),
    md5Hash: createHash('md5').update(b).digest('base64'),
    crc32c: crc32c(b),
    generation: '1',
  });
  const server = http.createServer(async (req, res) => {
    const u = new URL(req.url ?? '/', 'http://x');
    const json = (status: number, o: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(o));
    };
    const token = /^Bearer (.+)$/.exec(String(req.headers.authorization ?? ''))?.[1];
    tokens.push(token ?? '');
    if (!token || !valid().includes(token)) return json(401, { error: { code: 401, message: 'bad token' } });
    await beforeBody?.();
    const raw = await body(req);
    const up = /^\/upload\/storage\/v1\/b\/([^/]+)\/o$/.exec(u.pathname);
    if (up && req.method === 'POST') {
      const name =
        u.searchParams.get('name') ??
        JSON.parse(multipart(raw, String(req.headers['content-type']))[0]?.toString() ?? '{}').name;
      const data = multipart(raw, String(req.headers['content-type']))[1] ?? raw;
      objects.set(`${up[1]}/${name}`, Buffer.from(data));
      return json(200, meta(up[1]!, name, data));
    }
    const obj = /^\/(?:download\/)?storage\/v1\/b\/([^/]+)\/o\/(.+)$/.exec(u.pathname);
    if (obj) {
      const key = `${obj[1]}/${decodeURIComponent(obj[2]!)}`;
      const b = objects.get(key);
      if (req.method === 'DELETE') {
        objects.delete(key);
        return b ? json(204, {}) : json(404, { error: { code: 404, message: 'No such object' } });
      }
      if (!b) return json(404, { error: { code: 404, message: 'No such object' } });
      if (u.searchParams.get('alt') === 'media') {
        const m = meta(obj[1]!, key, b);
        res.writeHead(200, {
          'content-type': 'application/octet-stream',
          'x-goog-hash': `crc32c=${m.crc32c},md5=${m.md5Hash}`,
        });
        return res.end(b);
      }
      return json(200, meta(obj[1]!, decodeURIComponent(obj[2]!), b));
    }
    const list = /^\/storage\/v1\/b\/([^/]+)\/o$/.exec(u.pathname);
    if (list) {
      const prefix = u.searchParams.get('prefix') ?? '';
      const delimiter = u.searchParams.get('delimiter');
      const items: object[] = [];
      const prefixes = new Set<string>();
      for (const [k, b] of objects) {
        if (!k.startsWith(`${list[1]}/`)) continue;
        const name = k.slice(list[1]!.length + 1);
        if (!name.startsWith(prefix)) continue;
        const cut = delimiter ? name.indexOf(delimiter, prefix.length) : -1;
        if (cut >= 0) prefixes.add(name.slice(0, cut + 1));
        else items.push(meta(list[1]!, name, b));
      }
      return json(200, { kind: 'storage#objects', items, prefixes: [...prefixes] });
    }
    if (/^\/storage\/v1\/b\/[^/]+$/.test(u.pathname)) return json(200, { kind: 'storage#bucket' });
    json(404, { error: { code: 404, message: `no route ${req.method} ${u.pathname}` } });
  });
  const url = await listen(server);
  return { url, tokens, objects, close: () => closeServer(server) };
}

export interface AzuriteHttps {
  /** e.g. https://127.0.0.1:PORT */
  url: string;
  caFile: string;
  ca: string;
  stop(): Promise<void>;
}

/** Azurite's blob service over HTTPS with OAuth (basic) on: bearer tokens are checked for issuer, audience, lifetime. */
export async function startAzuriteHttps(dir: string): Promise<AzuriteHttps> {
  const cert = path.join(dir, 'azurite.crt');
  const key = path.join(dir, 'azurite.key');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
      '-keyout',
      key,
      '-out',
      cert,
    ],
    { stdio: 'ignore' },
  );
  const proc = spawn(
    path.resolve('node_modules/.bin/azurite-blob'),
    [
      '--blobHost',
      '127.0.0.1',
      '--blobPort',
      '0',
      '--location',
      path.join(dir, 'azurite'),
      '--silent',
      '--disableTelemetry',
      '--skipApiVersionCheck',
      '--loose',
      '--oauth',
      'basic',
      '--cert',
      cert,
      '--key',
      key,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`Azurite did not start: ${out}`)), 30_000);
    proc.stdout!.on('data', (b: Buffer) => {
      out += b.toString();
      const m = /listens on (https:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    proc.stderr!.on('data', (b: Buffer) => {
      out += b.toString();
    });
    proc.on('exit', (code) => reject(new Error(`Azurite exited with ${code}: ${out}`)));
  });
  return {
    url,
    caFile: cert,
    ca: readFileSync(cert, 'utf8'),
    stop: async () => {
      if (proc.exitCode !== null) return;
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      await exited;
    },
  };
}

export interface StsStandIn {
  /** The token endpoint (`<origin>/v1/token`). */
  url: string;
  /** The audience (pool provider) it accepts. */
  audience: string;
  /** Lifetime in seconds of the next access tokens. */
  lifetime: number;
  /** Access tokens issued so far. */
  issued: string[];
  /** Why each refused exchange was refused. */
  refused: string[];
  close(): Promise<void>;
}

/**
 * Google's STS token exchange for one pool provider `audience`. AWS subject tokens are checked as Google does: the
 * serialized GetCallerIdentity request must carry the audience in a signed header and a valid SigV4 signature by one
 * of the `awsKeys` with a session token in `awsSessions()`; Azure subject tokens must be JWTs from `azureTokens()`
 * with the exchange audience.
 */
export async function startStsStandIn(o: {
  audience: string;
  awsKeys: { accessKeyId: string; secretAccessKey: string };
  awsSessions: () => string[];
  azureTokens: () => string[];
}): Promise<StsStandIn> {
  const s = { audience: o.audience, lifetime: 3600, issued: [] as string[], refused: [] as string[] };
  const check = (f: URLSearchParams): string | undefined => {
    if (f.get('grant_type') !== 'urn:ietf:params:oauth:grant-type:token-exchange') return 'grant_type';
    if (f.get('requested_token_type') !== 'urn:ietf:params:oauth:token-type:access_token') return 'requested type';
    if (f.get('audience') !== s.audience) return 'audience';
    if (!f.get('scope')?.includes('devstorage')) return 'scope';
    const subject = f.get('subject_token') ?? '';
    if (f.get('subject_token_type') === 'urn:ietf:params:aws:token-type:aws4_request') {
      return checkAwsSubject(subject, s.audience, o.awsKeys, o.awsSessions());
    }
    if (f.get('subject_token_type') === 'urn:ietf:params:oauth:token-type:jwt') {
      if (!o.azureTokens().includes(subject)) return 'jwt not issued by the metadata server';
      const claims = JSON.parse(Buffer.from(subject.split('.')[1] ?? '', 'base64url').toString()) as { aud?: string };
      return claims.aud === AZURE_EXCHANGE_AUDIENCE ? undefined : `jwt audience ${claims.aud}`;
    }
    return 'subject_token_type';
  };
  const server = http.createServer(async (req, res) => {
    const form = new URLSearchParams((await body(req)).toString());
    const json = (status: number, v: object) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(v));
    };
    if (req.method !== 'POST' || req.url !== '/v1/token') return json(404, { error: 'not_found' });
    const why = check(form);
    if (why) {
      s.refused.push(why);
      return json(400, { error: 'invalid_grant', error_description: `stand-in refused: ${why}` });
    }
    const token = `sts-token-${s.issued.length + 1}`;
    s.issued.push(token);
    json(200, {
      access_token: token,
      issued_token_type: 'urn:ietf:params:oauth:token-type:access_token',
      token_type: 'Bearer',
      expires_in: s.lifetime,
    });
  });
  const origin = await listen(server);
  return Object.assign(s, { url: `${origin}/v1/token`, close: () => closeServer(server) });
}

/** Google's check of an AWS subject token, written from AWS's SigV4 documentation (not with our signer). */
function checkAwsSubject(
  subject: string,
  audience: string,
  keys: { accessKeyId: string; secretAccessKey: string },
  sessions: string[],
): string | undefined {
  const r = JSON.parse(decodeURIComponent(subject)) as {
    url: string;
    method: string;
    headers: { key: string; value: string }[];
  };
  const u = new URL(r.url);
  if (r.method !== 'POST' || u.hostname !== 'sts.amazonaws.com') return 'not a request to AWS STS';
  if (u.searchParams.get('Action') !== 'GetCallerIdentity') return 'not GetCallerIdentity';
  const h = new Map(r.headers.map((x) => [x.key.toLowerCase(), x.value] as const));
  if (h.get('x-goog-cloud-target-resource') !== audience) return 'target resource';
  if (!sessions.includes(h.get('x-amz-security-token') ?? '')) return 'session token not issued by IMDS';
  const m =
    /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/sts\/aws4_request, SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$/.exec(
      h.get('authorization') ?? '',
    );
  if (!m || m[1] !== keys.accessKeyId) return 'authorization';
  const signedHeaders = m[4]!.split(';');
  for (const need of ['host', 'x-amz-date', 'x-goog-cloud-target-resource']) {
    if (!signedHeaders.includes(need)) return `${need} not signed`;
  }
  const canonical = [
    r.method,
    u.pathname || '/',
    u.search.slice(1),
    signedHeaders.map((k) => `${k}:${h.get(k)}\n`).join(''),
    signedHeaders.join(';'),
    createHash('sha256').digest('hex'),
  ].join('\n');
  const scope = `${m[2]}/${m[3]}/sts/aws4_request`;
  const toSign = `AWS4-HMAC-SHA256\n${h.get('x-amz-date')}\n${scope}\n${createHash('sha256').update(canonical).digest('hex')}`;
  const hmac = (k: string | Buffer, d: string) => createHmac('sha256', k).update(d).digest();
  const key = hmac(hmac(hmac(hmac(`AWS4${keys.secretAccessKey}`, m[2]!), m[3]!), 'sts'), 'aws4_request');
  return createHmac('sha256', key).update(toSign).digest('hex') === m[5] ? undefined : 'signature';
}

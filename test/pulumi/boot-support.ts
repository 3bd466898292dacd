/**
 * Running a rendered cloud-init document as a program, unprivileged, under a throwaway root: its write_files are
 * written under ROOT (decoded as cloud-init decodes them), its runcmd is run with ROOT as the boot script's
 * argument, and a stand-in `systemctl` on PATH runs the unit's ExecStartPre, then its ExecStart in the
 * background, with the unit's absolute paths moved under ROOT. Plus loopback stand-ins for the instance metadata
 * services, the object stores and the secret stores, which check what the real ones check (SigV4 with the role
 * credentials they issued, bearer tokens, the metadata headers).
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { parse } from 'yaml';
import {
  canonicalRequest,
  hexEqual,
  hmacHex,
  parseQuery,
  parseSignedRequest,
  type SignedRequest,
  signingKey,
  stringToSign,
  verifySignature,
} from '../../components/storage/s3/sigv4.js';

export interface CloudInitDoc {
  write_files: { path: string; content: string; permissions?: string; encoding?: string }[];
  runcmd: string[][];
}

export function parseCloudInit(text: string): CloudInitDoc {
  return parse(text) as CloudInitDoc;
}

export function fileContent(f: CloudInitDoc['write_files'][number]): Buffer {
  if (f.encoding === 'b64') return Buffer.from(f.content, 'base64');
  if (f.encoding === 'gz+b64') return gunzipSync(Buffer.from(f.content, 'base64'));
  return Buffer.from(f.content, 'utf8');
}

/** Writes the document's files under `root`; `edit` may change a file's text (boot.json gets the stand-ins). */
export function writeFiles(
  doc: CloudInitDoc,
  root: string,
  edit: (path: string, text: Buffer) => Buffer = (_, t) => t,
): void {
  for (const f of doc.write_files) {
    const file = join(root, f.path);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, edit(f.path, fileContent(f)));
    chmodSync(file, Number.parseInt(f.permissions ?? '0644', 8));
  }
}

const SYSTEMCTL = `#!/bin/sh
# systemctl stand-in: 'enable --now UNIT' runs the unit as systemd does with Restart=on-failure: each ExecStartPre
# in turn (the "+" of a root one dropped: tests run unprivileged), then ExecStart in the background, with the
# unit's paths moved under TCLOUDS_TEST_ROOT. A failing ExecStartPre fails the first start, as systemd's job does.
# When the node exits non-zero (POST /admin/restart exits 75), the unit starts again from its ExecStartPre lines,
# retried until they pass (RestartSec, shortened to half a second). The node's pid is in run/tclouds-node.pid, the unit's loop's
# in run/tclouds-unit.pid; ExecStartPre output after the first start goes to var/log/tclouds-node.log.
set -eu
R="$TCLOUDS_TEST_ROOT"
echo "$*" >> "$R/systemctl.log"
case "$1" in
  daemon-reload) exit 0 ;;
  enable) [ "$2" = --now ] || exit 0 ;;
  *) echo "systemctl stand-in: $1 is not supported" >&2; exit 1 ;;
esac
unit="$R/etc/systemd/system/$3"
moved() {
  sed -e "s#/opt/tclouds#$R/opt/tclouds#g" -e "s#/etc/tclouds#$R/etc/tclouds#g" -e "s#/run/tclouds#$R/run/tclouds#g" \
    -e "s#/usr/local/lib/tclouds-boot#$R/usr/local/lib/tclouds-boot#g"
}
mkdir -p "$R/run/tclouds" "$R/var/log"
chmod 0700 "$R/run/tclouds"
sed -n 's/^ExecStartPre=+\\{0,1\\}//p' "$unit" | moved > "$R/run/unit-pre.sh"
start=$(sed -n 's/^ExecStart=//p' "$unit" | moved)
pre() {
  while IFS= read -r line; do sh -c "$line" < /dev/null || return 1; done < "$R/run/unit-pre.sh"
}
if ! pre; then
  echo "Job for $3 failed because the control process exited with error code." >&2
  exit 1
fi
(
  while :; do
    sh -c "exec $start" < /dev/null &
    echo $! > "$R/run/tclouds-node.pid"
    code=0
    wait $! || code=$?
    [ "$code" -ne 0 ] || exit 0
    echo "tclouds-node.service: main process exited, code $code; starting again"
    until pre; do
      echo "tclouds-node.service: control process exited with error code; starting again"
      sleep 0.5
    done
  done
) >> "$R/var/log/tclouds-node.log" 2>&1 &
echo $! > "$R/run/tclouds-unit.pid"
`;

/** A directory holding the stand-in `systemctl`, to put first on PATH. */
export function standInBin(dir: string): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'systemctl'), SYSTEMCTL, { mode: 0o755 });
  return dir;
}

export interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the document's runcmd (one boot script) under `root`, with the stand-ins on PATH and no proxy. */
export async function runBoot(doc: CloudInitDoc, root: string, bin: string): Promise<Ran> {
  if (doc.runcmd.length !== 1) throw new Error(`expected one runcmd entry, got ${JSON.stringify(doc.runcmd)}`);
  const [cmd, script, ...rest] = doc.runcmd[0]!;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PATH: `${bin}:${process.env.PATH}`,
    TCLOUDS_TEST_ROOT: root,
    no_proxy: '*',
    NO_PROXY: '*',
  };
  // Under vitest NODE_ENV=test, which makes oclif look for TypeScript: a VM has no NODE_ENV.
  delete env.NODE_ENV;
  for (const k of ['http_proxy', 'https_proxy', 'HTTP_PROXY', 'HTTPS_PROXY', 'ALL_PROXY', 'all_proxy']) delete env[k];
  const p = spawn(cmd!, [join(root, script!), ...rest, root], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  p.stdout.on('data', (d) => (stdout += d));
  p.stderr.on('data', (d) => (stderr += d));
  const code = await new Promise<number | null>((resolve) => p.on('close', resolve));
  return { code, stdout, stderr };
}

export const sha256 = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex');

/** The role credentials the AWS stand-in issues (and checks signatures with). */
export const ROLE = {
  name: 'tclouds-node',
  accessKeyId: 'ASIATESTBOOT',
  secret: 'boot-test-secret-key',
  token: 'boot-session-token',
};
const IMDS_TOKEN = 'imds-v2-token';
const GCP_TOKEN = 'gcp-access-token';
/** Managed-identity tokens the Azure stand-in issues, per resource. */
const AZURE_TOKENS: Record<string, string> = {
  'https://vault.azure.net': 'azure-vault-token',
  'https://storage.azure.com/': 'azure-storage-token',
};

export interface StandIns {
  base: string;
  /** Objects by `bucket/key`. */
  objects: Map<string, Buffer>;
  /** Secret values by reference (ARN or Secret Manager name). */
  secrets: Map<string, string>;
  /** References the store refuses. */
  denied: Set<string>;
  /** Requests seen, `METHOD path`, for checks. */
  seen: string[];
  endpoints: Record<string, string>;
  close: () => Promise<void>;
}

async function bodyOf(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

function send(res: ServerResponse, status: number, body: string | Buffer, type = 'application/json'): void {
  res.writeHead(status, { 'content-type': type });
  res.end(body);
}

/**
 * The S3 gateway's parser accepts only service s3; other services (secretsmanager) are parsed here and checked
 * with the same canonical request, key derivation and string to sign.
 */
function parseAnyService(req: IncomingMessage): SignedRequest | undefined {
  const m =
    /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([a-z0-9-]+)\/([a-z0-9]+)\/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/.exec(
      String(req.headers.authorization ?? ''),
    );
  if (!m) return undefined;
  return {
    accessKeyId: m[1]!,
    date: m[2]!,
    region: m[3]!,
    service: m[4]!,
    amzDate: String(req.headers['x-amz-date'] ?? ''),
    signedHeaders: m[5]!.split(';'),
    signature: m[6]!,
    payloadHash: String(req.headers['x-amz-content-sha256'] ?? ''),
  };
}

/** SigV4 as AWS checks it, with the issued role's secret; the session token must be the issued one. */
function awsSigned(req: IncomingMessage, body: Buffer, service: string): string | undefined {
  const [path, query = ''] = (req.url ?? '').split('?');
  const parts = { method: req.method ?? 'GET', path: path!, query, headers: req.headers };
  try {
    const pairs = parseQuery(query);
    const s = service === 's3' ? parseSignedRequest(parts, pairs) : parseAnyService(req);
    if (!s || s.accessKeyId !== ROLE.accessKeyId || s.service !== service) return 'not signed by the role';
    if (req.headers['x-amz-security-token'] !== ROLE.token) return 'wrong session token';
    if (!s.signedHeaders.includes('x-amz-security-token')) return 'session token not signed';
    if (s.payloadHash !== sha256(body)) return 'payload hash does not match the body';
    if (service === 's3') verifySignature(parts, s, pairs, ROLE.secret, Date.now());
    else {
      const key = signingKey(ROLE.secret, s.date, s.region, s.service);
      if (!hexEqual(hmacHex(key, stringToSign(canonicalRequest(parts, s, pairs), s)), s.signature))
        return 'signature does not match';
    }
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}

function aws(s: StandIns, req: IncomingMessage, res: ServerResponse, path: string, body: Buffer) {
  if (
    path === '/imds/latest/api/token' &&
    req.method === 'PUT' &&
    req.headers['x-aws-ec2-metadata-token-ttl-seconds']
  ) {
    return send(res, 200, IMDS_TOKEN, 'text/plain');
  }
  if (path.startsWith('/imds/')) {
    if (req.headers['x-aws-ec2-metadata-token'] !== IMDS_TOKEN) return send(res, 401, '', 'text/plain');
    if (path === '/imds/latest/meta-data/iam/security-credentials/') return send(res, 200, ROLE.name, 'text/plain');
    if (path === `/imds/latest/meta-data/iam/security-credentials/${ROLE.name}`) {
      return send(
        res,
        200,
        JSON.stringify({
          Code: 'Success',
          AccessKeyId: ROLE.accessKeyId,
          SecretAccessKey: ROLE.secret,
          Token: ROLE.token,
        }),
      );
    }
    return send(res, 404, '', 'text/plain');
  }
  if (path.startsWith('/s3/')) {
    const why = awsSigned(req, body, 's3');
    if (why)
      return send(res, 403, `<Error><Code>AccessDenied</Code><Message>${why}</Message></Error>`, 'application/xml');
    const obj = s.objects.get(decodeURIComponent(path.slice('/s3/'.length)));
    return obj
      ? send(res, 200, obj, 'application/octet-stream')
      : send(res, 404, '<Error><Code>NoSuchKey</Code></Error>', 'application/xml');
  }
  // Secrets Manager, JSON 1.1 protocol: refusals are 400 with an exception type, as AWS answers them.
  const why = awsSigned(req, body, 'secretsmanager');
  if (why || req.headers['x-amz-target'] !== 'secretsmanager.GetSecretValue') {
    return send(res, 400, JSON.stringify({ __type: 'UnrecognizedClientException', message: why ?? 'bad target' }));
  }
  const id = (JSON.parse(body.toString()) as { SecretId: string }).SecretId;
  if (s.denied.has(id))
    return send(
      res,
      400,
      JSON.stringify({ __type: 'AccessDeniedException', Message: `not authorized to GetSecretValue on ${id}` }),
    );
  const v = s.secrets.get(id);
  if (v === undefined) return send(res, 400, JSON.stringify({ __type: 'ResourceNotFoundException' }));
  send(res, 200, JSON.stringify({ ARN: id, Name: id.split(':').pop(), SecretString: v, VersionId: 'v1' }));
}

function gcp(s: StandIns, req: IncomingMessage, res: ServerResponse, path: string) {
  if (path === '/gcpmeta/computeMetadata/v1/instance/service-accounts/default/token') {
    if (req.headers['metadata-flavor'] !== 'Google') return send(res, 403, '', 'text/plain');
    return send(res, 200, JSON.stringify({ access_token: GCP_TOKEN, expires_in: 3599, token_type: 'Bearer' }));
  }
  if (req.headers.authorization !== `Bearer ${GCP_TOKEN}`) return send(res, 401, '{"error":{"code":401}}');
  const o = /^\/gcs\/storage\/v1\/b\/([^/]+)\/o\/([^/]+)$/.exec(path);
  if (o) {
    const obj = s.objects.get(`${decodeURIComponent(o[1]!)}/${decodeURIComponent(o[2]!)}`);
    return obj ? send(res, 200, obj, 'application/octet-stream') : send(res, 404, '{"error":{"code":404}}');
  }
  const m = /^\/gsm\/v1\/(projects\/[^/]+\/secrets\/[^/]+)\/versions\/latest:access$/.exec(path);
  if (!m) return send(res, 404, '{"error":{"code":404}}');
  if (s.denied.has(m[1]!)) return send(res, 403, JSON.stringify({ error: { code: 403, status: 'PERMISSION_DENIED' } }));
  const v = s.secrets.get(m[1]!);
  if (v === undefined) return send(res, 404, '{"error":{"code":404}}');
  send(res, 200, JSON.stringify({ name: `${m[1]}/versions/1`, payload: { data: Buffer.from(v).toString('base64') } }));
}

/** Azure: IMDS managed-identity tokens per resource, Blob GET (OAuth needs x-ms-version), Key Vault secrets. */
function azure(s: StandIns, req: IncomingMessage, res: ServerResponse, url: string) {
  const u = new URL(url, 'http://stand-in');
  if (u.pathname === '/azimds/metadata/identity/oauth2/token') {
    const token = AZURE_TOKENS[u.searchParams.get('resource') ?? ''];
    if (req.headers.metadata !== 'true' || !token) return send(res, 400, '{"error":"invalid_request"}');
    return send(res, 200, JSON.stringify({ access_token: token, token_type: 'Bearer', expires_in: '86399' }));
  }
  if (u.pathname.startsWith('/blob/')) {
    if (
      req.headers.authorization !== `Bearer ${AZURE_TOKENS['https://storage.azure.com/']}` ||
      !req.headers['x-ms-version']
    ) {
      return send(res, 403, '<Error><Code>AuthorizationPermissionMismatch</Code></Error>', 'application/xml');
    }
    const obj = s.objects.get(decodeURIComponent(u.pathname.slice('/blob/'.length)));
    return obj ? send(res, 200, obj, 'application/octet-stream') : send(res, 404, '', 'application/xml');
  }
  if (
    req.headers.authorization !== `Bearer ${AZURE_TOKENS['https://vault.azure.net']}` ||
    !u.searchParams.get('api-version')
  ) {
    return send(res, 401, '{"error":{"code":"Unauthorized"}}');
  }
  const name = u.pathname.replace(/^\/kv\/secrets\//, '');
  if (s.denied.has(name))
    return send(res, 403, JSON.stringify({ error: { code: 'Forbidden', message: 'no get permission' } }));
  const v = s.secrets.get(name);
  if (v === undefined) return send(res, 404, JSON.stringify({ error: { code: 'SecretNotFound' } }));
  send(res, 200, JSON.stringify({ value: v, id: `https://demo-vault.vault.azure.net/secrets/${name}/1` }));
}

/** One loopback server standing in for AWS (IMDSv2, S3, Secrets Manager), GCP (metadata, GCS, Secret Manager) and Azure. */
export async function startStandIns(): Promise<StandIns> {
  const s = { objects: new Map(), secrets: new Map(), denied: new Set(), seen: [] } as unknown as StandIns;
  const server: Server = createServer((req, res) => {
    void bodyOf(req).then((body) => {
      const path = (req.url ?? '/').split('?')[0]!;
      s.seen.push(`${req.method} ${path}`);
      if (path.startsWith('/files/')) {
        const f = s.objects.get(path.slice(1));
        return f ? send(res, 200, f, 'application/octet-stream') : send(res, 404, '', 'text/plain');
      }
      if (/^\/(imds|s3|sm)\//.test(path)) return aws(s, req, res, path, body);
      if (/^\/(azimds|blob|kv)\//.test(path)) return azure(s, req, res, req.url ?? '/');
      return gcp(s, req, res, path);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  s.base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  s.endpoints = {
    awsImds: `${s.base}/imds`,
    s3: `${s.base}/s3`,
    secretsManager: `${s.base}/sm`,
    gcpMetadata: `${s.base}/gcpmeta`,
    gcs: `${s.base}/gcs`,
    secretManager: `${s.base}/gsm`,
    azureImds: `${s.base}/azimds`,
    azureBlob: `${s.base}/blob`,
    keyVault: `${s.base}/kv`,
  };
  s.close = () =>
    new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    });
  return s;
}

/** A file of the document's write_files, decoded. */
export function writtenFile(doc: CloudInitDoc, path: string): string {
  const f = doc.write_files.find((w) => w.path === path);
  if (!f) throw new Error(`cloud-init writes no ${path}`);
  return fileContent(f).toString('utf8');
}

export function readJson<T>(file: string): T {
  return JSON.parse(readFileSync(file, 'utf8')) as T;
}

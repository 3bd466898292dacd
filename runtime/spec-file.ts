/**
 * Reading and validating a NodeSpec (runtime/node-spec.ts) for `tclouds node run --spec FILE`.
 * A bad spec is a clear TcError naming the field (exit 3), never a crash later on.
 */
import { promises as fs } from 'node:fs';
import { z } from 'zod';
import { ExitCode, TcError } from '../kernel/errors.js';
import { COMPONENT_KINDS } from '../topology/schema.js';
import { NodeCode } from './codes.js';
import { NODE_SPEC_VERSION, type NodeSpec } from './node-spec.js';

const port = z.int().min(1).max(65535);
const id = z.string().min(1).max(200);
const key = z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'a base64url raw 32-byte X25519 public key');

const PeerSchema = z.object({
  id,
  role: z.string().min(1),
  index: z.int().min(0),
  host: z.string().min(1),
  ports: z.record(z.string(), port),
  publicKey: key,
});

export const NodeSpecSchema = z.object({
  version: z.literal(NODE_SPEC_VERSION),
  stack: z.string().min(1),
  component: z.string().min(1),
  kind: z.enum(COMPONENT_KINDS),
  role: z.string().min(1),
  id,
  index: z.int().min(0),
  cloud: z.string().min(1),
  domain: z.int().min(0),
  host: z.string().min(1),
  ports: z.record(z.string(), port),
  controlPort: port,
  peers: z.array(PeerSchema),
  clients: z.record(z.string(), key),
  // added (Ed25519 client signatures): smr client id -> raw Ed25519 public key; parsed again by the role.
  clientSigners: z
    .record(z.string(), z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'a base64url raw 32-byte Ed25519 public key'))
    .optional(),
  dataDir: z.string().min(1),
  keyFile: z.string().min(1),
  publicKey: key,
  config: z.record(z.string(), z.unknown()),
  adminTokenFile: z.string().min(1),
  // added (control port TLS): the key+certificate file and the certificate's SHA-256 (cloud nodes).
  controlTls: z
    .object({ file: z.string().min(1), sha256: z.string().regex(/^[0-9a-f]{64}$/, 'a lower-case hex SHA-256') })
    .optional(),
  // added (audit events): the log this node records its events in; its producer key is a path, never a key.
  auditLog: z
    .object({
      component: z.string().min(1),
      clientId: id,
      keyFile: z.string().min(1),
      f: z.int().min(0),
      replicas: z.array(PeerSchema).min(1),
    })
    .optional(),
});

export async function loadNodeSpec(file: string): Promise<NodeSpec> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (e) {
    throw new TcError(
      NodeCode.specMissing,
      `cannot read node spec ${file}: ${(e as NodeJS.ErrnoException).code ?? e}`,
      {
        exit: ExitCode.notFound,
        hint: 'specs are written by `tclouds deploy` under .tclouds/<stack>/nodes/<id>/spec.json',
        location: { file },
      },
    );
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new TcError(NodeCode.specInvalid, `node spec ${file} is not valid JSON: ${(e as Error).message}`, {
      exit: ExitCode.invalid,
      location: { file },
    });
  }
  const parsed = NodeSpecSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => ({
      code: NodeCode.specInvalid,
      severity: 'error' as const,
      message: `${i.path.join('.') || '(root)'}: ${i.message}`,
      file,
      path: i.path.join('.'),
    }));
    throw new TcError(NodeCode.specInvalid, `node spec ${file} is invalid: ${problems[0]!.message}`, {
      exit: ExitCode.invalid,
      hint: 'regenerate it with `tclouds deploy`',
      location: { file, path: problems[0]!.path },
      problems,
    });
  }
  const spec = parsed.data as NodeSpec;
  const ids = new Set([spec.id, ...spec.peers.map((p) => p.id)]);
  if (ids.size !== spec.peers.length + 1) {
    throw new TcError(NodeCode.specInvalid, `node spec ${file} lists a peer twice or itself as a peer`, {
      exit: ExitCode.invalid,
      location: { file, path: 'peers' },
    });
  }
  return spec;
}

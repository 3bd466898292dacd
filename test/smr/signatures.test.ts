/**
 * Ed25519 client signatures (the option beside MAC vectors): the request format, the signing keys, and real
 * replicas that verify them. The component with `clientAuth: signature` runs as 4 real `node bin/run.js node run`
 * processes (needs `npx tsc -p tsconfig.build.json`); the default (`mac`) component and the benchmark's unreplicated
 * baseline (bench/unreplicated.ts) run in this process on the same loopback TCP transport.
 */

import type { ChildProcess } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { promises as fs, statSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startUnreplicated } from '../../bench/unreplicated.js';
import { rolesOf } from '../../components/kinds.js';
import { clientFromOutputs, SmrClient } from '../../components/smr/client.js';
import {
  attachAuth,
  decodeBatch,
  decodeRequest,
  encodeBatch,
  encodeRequestBody,
  encodeSignedRequest,
  FLAG_SIGNED,
  SIGNATURE_LEN,
  signedBytes,
} from '../../components/smr/protocol/codec.js';
import { ClientSigners, parseClientAuth, requestVerifier, signRequest } from '../../components/smr/request-auth.js';
import { applyKv, encodeKvOp, type KvOp } from '../../components/smr/services/kv.js';
import { writeJsonAtomic } from '../../kernel/atomic-file.js';
import { TcError } from '../../kernel/errors.js';
import {
  generateNodeKey,
  generateSigningKey,
  readPrivateKey,
  readSigningKey,
  signingPublicKeyFromString,
  signingPublicKeyOf,
  writePrivateKey,
  writeSigningKey,
} from '../../runtime/keys.js';
import type { RunningNode } from '../../runtime/node-host.js';
import type { DeploymentOutputs } from '../../runtime/node-spec.js';
import { runCli } from '../support/cli.js';
import { tempDir } from '../support/tmp.js';
import { type Cluster, freePort, makeCluster, spawnNode, startInProcess, waitHealthy } from './cluster.js';

const op = encodeKvOp({ op: 'put', key: 'k', value: 'v' });

function codeOf(e: unknown): string | undefined {
  return e instanceof TcError ? e.code : undefined;
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error('expected a rejection');
}

const { privateKey, publicKey } = generateSigningKey();
const signers = new ClientSigners({ alice: publicKey });

describe('signed request format', () => {
  it('round-trips: flags bit1 set, no MAC entries, 64-byte signature that verifies', () => {
    const body = encodeRequestBody('alice/s1', 9, true, op, true);
    const req = signRequest(body, privateKey);
    expect(req.length).toBe(body.length + 1 + SIGNATURE_LEN);
    const d = decodeRequest(req)!;
    expect(d).toMatchObject({ client: 'alice/s1', seq: 9, readOnly: true, macCount: 0 });
    expect(d.signature).toHaveLength(SIGNATURE_LEN);
    expect(signedBytes(d)[1]).toBe(FLAG_SIGNED | 1);
    expect(signers.verify('alice', d)).toBe(true);
    expect(signers.verify('bob', d)).toBe(false);
    // A signed request inside a batch stays a signed request.
    const b = decodeBatch(encodeBatch(1, 2, [req, req]))!;
    expect(b.requests.map((r) => signers.verify('alice', r))).toEqual([true, true]);
    // Signing a MAC body sets the flag on the copy: the caller's body is not changed.
    const macBody = encodeRequestBody('alice', 1, false, op);
    const signed = signRequest(macBody, privateKey);
    expect(macBody[1]).toBe(0);
    expect(decodeRequest(signed)!.readOnly).toBe(false);
    expect(signers.verify('alice', decodeRequest(signed)!)).toBe(true);
  });

  it('MAC requests decode exactly as before (no signature field)', () => {
    const body = encodeRequestBody('alice', 3, false, op);
    const d = decodeRequest(attachAuth(body, [new Uint8Array(32).fill(1), new Uint8Array(32).fill(2)]))!;
    expect(d.signature).toBeUndefined();
    expect(d.macCount).toBe(2);
  });

  it('rejects every malformed signed variant and relabelling between MAC and signed', () => {
    const body = encodeRequestBody('alice', 1, false, op, true);
    const good = signRequest(body, privateKey);
    const trailerAt = body.length;
    const variants: [string, Uint8Array][] = [
      ['signature one byte short', good.subarray(0, good.length - 1)],
      ['signature one byte long', Uint8Array.from([...good, 0])],
      ['no trailer at all', good.subarray(0, trailerAt)],
      ['only the zero count', good.subarray(0, trailerAt + 1)],
      ['non-zero count before the signature', Uint8Array.from(good).fill(2, trailerAt, trailerAt + 1)],
      ['two signatures', Uint8Array.from([...good, ...good.subarray(trailerAt + 1)])],
      ['unknown flag bit 3', Uint8Array.from(good).fill(good[1]! | 8, 1, 2)],
      ['flags 255', Uint8Array.from(good).fill(255, 1, 2)],
    ];
    for (const [what, bytes] of variants) expect(decodeRequest(bytes), what).toBeUndefined();
    // Reply-all (bit2) is a known flag, and covered: set on a request signed without it, the request decodes and
    // asks every replica to answer, but its signature no longer verifies.
    const replyAll = decodeRequest(Uint8Array.from(good).fill(good[1]! | 4, 1, 2))!;
    expect(replyAll.replyAll).toBe(true);
    expect(signers.verify('alice', replyAll)).toBe(false);
    // A signed request relabelled as a MAC request (bit1 cleared): the trailer no longer parses (count 0 then
    // 64 bytes), and even a re-framed one would fail its MACs, since the flags byte is covered.
    const relabelled = Uint8Array.from(good);
    relabelled[1] = 0;
    expect(decodeRequest(relabelled)).toBeUndefined();
    // A MAC request relabelled as signed, with any 64 bytes as "signature": decodes, never verifies.
    const macReq = attachAuth(encodeRequestBody('alice', 1, false, op), [new Uint8Array(32), new Uint8Array(32)]);
    const forged = Uint8Array.from(macReq);
    forged[1] = FLAG_SIGNED;
    expect(decodeRequest(forged)).toBeUndefined(); // count 2, 64 bytes: wrong trailer for a signed request
    const asSigned = Uint8Array.from([...encodeRequestBody('alice', 1, false, op, true), 0, ...macReq.slice(-64)]);
    expect(signers.verify('alice', decodeRequest(asSigned)!)).toBe(false);
  });

  it('property: any single changed byte of a signed request fails to decode or to verify', () => {
    const body = encodeRequestBody('alice/x', 77, false, op, true);
    const good = signRequest(body, privateKey);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: good.length - 1 }), fc.integer({ min: 1, max: 255 }), (i, x) => {
        const bad = Uint8Array.from(good);
        bad[i] = bad[i]! ^ x;
        const d = decodeRequest(bad);
        expect(d === undefined || !signers.verify(d.client.split('/')[0]!, d)).toBe(true);
      }),
      { numRuns: 300 },
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        decodeRequest(bytes);
        decodeRequest(Uint8Array.from([1, FLAG_SIGNED, ...bytes]));
      }),
    );
  });
});

describe('signing and the request policy', () => {
  it('encodeSignedRequest refuses a signer that returns the wrong length', () => {
    expect(() => encodeSignedRequest(encodeRequestBody('a', 1, false, op), () => new Uint8Array(10))).toThrow(/64/);
  });

  it('request policy: mac accepts both kinds, signature refuses MAC-only requests (read-only ones too)', () => {
    const macOk = () => true;
    const signedReq = decodeRequest(signRequest(encodeRequestBody('alice/1', 1, false, op), privateKey))!;
    const macReq = decodeRequest(attachAuth(encodeRequestBody('alice/1', 1, true, op), [new Uint8Array(32)]))!;
    const base = (c: string) => c.split('/')[0]!;
    expect(requestVerifier('mac', signers, macOk, base)(signedReq)).toBe(true);
    expect(requestVerifier('mac', signers, macOk, base)(macReq)).toBe(true);
    expect(requestVerifier('signature', signers, macOk, base)(signedReq)).toBe(true);
    expect(requestVerifier('signature', signers, macOk, base)(macReq)).toBe(false);
    // A signed request whose client has no signer key is refused even under `mac` (never falls back to MACs).
    expect(requestVerifier('mac', new ClientSigners({}), macOk, base)(signedReq)).toBe(false);
    expect(parseClientAuth(undefined)).toBe('mac');
    expect(codeOf(rejectSync(() => parseClientAuth('rsa')))).toBe('TC420');
  });
});

function rejectSync(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error('expected a throw');
}

describe('signing keys', () => {
  it('write 0600 PKCS8 PEM, read back, and refuse exposed, wrong-algorithm and malformed keys', async () => {
    const dir = tempDir('tclouds-signkey-');
    const file = path.join(dir, 'keys', 'client-ledger.sign.key');
    const k = generateSigningKey();
    await writeSigningKey(file, k.privateKey);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(await fs.readFile(file, 'utf8')).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    const back = await readSigningKey(file);
    expect(signingPublicKeyOf(back)).toBe(k.publicKey);
    expect(signingPublicKeyOf(signingPublicKeyFromString(k.publicKey))).toBe(k.publicKey);

    await fs.chmod(file, 0o644);
    expect(codeOf(await rejection(readSigningKey(file)))).toBe('TC404');

    // An X25519 key is never accepted as a signing key, nor the other way round.
    const x = path.join(dir, 'x.key');
    await writePrivateKey(x, generateNodeKey().privateKey);
    expect(codeOf(await rejection(readSigningKey(x)))).toBe('TC405');
    const e = path.join(dir, 'e.key');
    await writeSigningKey(e, k.privateKey);
    expect(codeOf(await rejection(readPrivateKey(e)))).toBe('TC401');
    expect(codeOf(await rejection(writeSigningKey(x, generateNodeKey().privateKey)))).toBe('TC402');

    await fs.writeFile(path.join(dir, 'junk.key'), 'not a key', { mode: 0o600 });
    expect(codeOf(await rejection(readSigningKey(path.join(dir, 'junk.key'))))).toBe('TC405');
    expect(codeOf(await rejection(readSigningKey(path.join(dir, 'missing.key'))))).toBe('TC403');
    for (const bad of ['', 'abc', `${k.publicKey}A`, k.publicKey.slice(1), '!'.repeat(43)]) {
      expect(codeOf(rejectSync(() => signingPublicKeyFromString(bad))), bad).toBe('TC405');
    }
    // A spec with a malformed signer key fails when the role starts, with the same code.
    expect(codeOf(rejectSync(() => new ClientSigners({ alice: 'short' })))).toBe('TC405');
  });

  it('a replica refuses to start on a bad policy or signer key (TC420 / TC411), before serving anyone', async () => {
    const c = await makeCluster({ n: 4, clientAuth: 'signature' });
    const { startNode } = await import('../../runtime/node-host.js');
    const variants: [string, (spec: Record<string, unknown>) => void, string][] = [
      ['no signers under clientAuth: signature', (sp) => delete sp.clientSigners, 'TC420'],
      ['unknown clientAuth', (sp) => Object.assign(sp.config as object, { clientAuth: 'rsa' }), 'TC420'],
      // The spec schema checks the key's form first (TC411); ClientSigners' own TC405 is tested above.
      ['malformed signer key', (sp) => Object.assign(sp, { clientSigners: { 'client-ledger': 'short' } }), 'TC411'],
    ];
    for (const [what, mutate, code] of variants) {
      const spec = JSON.parse(await fs.readFile(c.specFiles[0]!, 'utf8')) as Record<string, unknown>;
      mutate(spec);
      const file = path.join(c.stackDir, 'nodes', `bad-${code}.json`);
      await writeJsonAtomic(file, spec);
      const err = await rejection(startNode(file, { stderr: false, roles: rolesOf }));
      expect(codeOf(err), `${what}: ${String(err)}`).toBe(code);
    }
  });

  it('clientFromOutputs: a component that requires signatures but whose outputs lack the signing key is TC435', async () => {
    const c = await makeCluster({ clientAuth: 'signature' });
    const file = path.join(c.stackDir, 'outputs.json');
    const outputs = JSON.parse(await fs.readFile(file, 'utf8')) as DeploymentOutputs;
    const entry = outputs.components[c.component]!.clientKeys['client-ledger']!;
    delete entry.signingKeyFile;
    delete entry.signingPublicKey;
    await writeJsonAtomic(file, outputs);
    const err = await rejection(clientFromOutputs(c.stackDir, c.component));
    expect(codeOf(err)).toBe('TC435');
    expect((err as Error).message).toMatch(/requires signed requests/);
    // Asking for MAC explicitly still builds a (MAC) client; the replicas are the ones that refuse it.
    const mac = await clientFromOutputs(c.stackDir, c.component, { sign: false });
    expect(mac.auth).toBe('mac');
    await mac.close();
    expect(codeOf(rejectSync(() => new SmrClient({ ...mac.opts, sign: true, signingKey: undefined })))).toBe('TC435');
  });
});

/** Runs the ops on one session and checks each result against a sequential model. */
async function checkOps(
  client: SmrClient,
  model: Map<string, string>,
  ops: KvOp[],
): Promise<{ ordered: number; unordered: number }> {
  const s = client.session();
  let ordered = 0;
  let unordered = 0;
  for (const o of ops) {
    const expected = JSON.stringify(applyKv(model, o));
    const r = await s.invoke(encodeKvOp(o), { readOnly: o.op === 'get' });
    expect(new TextDecoder().decode(r.result), JSON.stringify(o)).toBe(expected);
    if (r.ordered) ordered++;
    else unordered++;
  }
  return { ordered, unordered };
}

const OPS: KvOp[] = [
  { op: 'put', key: 'a', value: '1' },
  { op: 'get', key: 'a' },
  { op: 'cas', key: 'a', expected: '1', value: '2' },
  { op: 'cas', key: 'a', expected: '1', value: '3' },
  { op: 'put', key: 'b', value: 'x' },
  { op: 'delete', key: 'b' },
  { op: 'get', key: 'b' },
  { op: 'get', key: 'a' },
];

describe('a component with clientAuth: signature (4 replica processes)', () => {
  let cluster: Cluster;
  const procs: ChildProcess[] = [];
  const model = new Map<string, string>();

  beforeAll(async () => {
    cluster = await makeCluster({ clientAuth: 'signature', config: { requestTimeoutMs: 300 } });
    for (const f of cluster.specFiles) procs.push(spawnNode(f));
    await Promise.all(cluster.specs.map((s) => waitHealthy(s)));
  }, 180_000);
  afterAll(() => {
    for (const p of procs) p.kill('SIGKILL');
  });

  it('a signing client (signing on from the component config) gets ordered and read-only results', async () => {
    const client = await clientFromOutputs(cluster.stackDir, cluster.component, {
      timeoutMs: 60_000,
      retransmitMs: 300,
    });
    try {
      expect(client.auth).toBe('signature');
      expect(await client.connect(4)).toBe(4);
      const r = await checkOps(client, model, [...OPS, ...OPS]);
      expect(r.ordered).toBeGreaterThan(8);
      // Reads went through the read-only fast path: signed read-only requests are accepted too.
      expect(r.unordered).toBeGreaterThan(0);
    } finally {
      await client.close();
    }
  }, 180_000);

  it('the CLI signs without --sign when the component requires it (get, bench), and says so in --json', async () => {
    const sd = ['--stack-dir', cluster.stackDir, '--json'];
    const get = await runCli(['smr', 'get', 'ledger', 'a', ...sd], cluster.dir);
    expect(get.code, get.stderr).toBe(0);
    expect(JSON.parse(get.stdout)).toMatchObject({
      result: { ok: true, value: model.get('a') ?? null },
      auth: 'signature',
    });
    const bench = await runCli(['smr', 'bench', 'ledger', '--seconds', '1', '--clients', '4', ...sd], cluster.dir);
    expect(bench.code, bench.stderr).toBe(0);
    const b = JSON.parse(bench.stdout);
    expect(b).toMatchObject({ component: 'ledger', auth: 'signature', clients: 4 });
    expect(b.ops).toBeGreaterThan(0);
    // The signing key is read from its file; the --json output never carries key material.
    expect(bench.stdout + get.stdout).not.toMatch(/PRIVATE KEY|signingKey/);
  }, 180_000);

  it('refuses a MAC-only client: a read times out with TC432, a write with TC436 (outcome unknown)', async () => {
    const client = await clientFromOutputs(cluster.stackDir, cluster.component, {
      sign: false,
      timeoutMs: 1500,
      readOnlyTimeoutMs: 300,
      retransmitMs: 300,
    });
    try {
      expect(await client.connect(4)).toBe(4);
      const s = client.session();
      const err = await rejection(s.invoke(encodeKvOp({ op: 'put', key: 'a', value: 'MAC' })));
      expect(codeOf(err)).toBe('TC436');
      expect(codeOf(await rejection(s.invoke(encodeKvOp({ op: 'get', key: 'a' }), { readOnly: true })))).toBe('TC432');
    } finally {
      await client.close();
    }
  }, 120_000);

  it('drops requests with a forged signature (a key that is not the registered signer)', async () => {
    const honest = await clientFromOutputs(cluster.stackDir, cluster.component, { timeoutMs: 1500, retransmitMs: 300 });
    const forger = new SmrClient({ ...honest.opts, signingKey: generateKeyPairSync('ed25519').privateKey });
    try {
      expect(await forger.connect(4)).toBe(4);
      const err = await rejection(forger.session().invoke(encodeKvOp({ op: 'put', key: 'a', value: 'FORGED' })));
      expect(codeOf(err)).toBe('TC436');
    } finally {
      await forger.close();
      await honest.close();
    }
    // Nothing forged or MAC-only was executed: the state is what the signing client wrote.
    const check = await clientFromOutputs(cluster.stackDir, cluster.component, { timeoutMs: 60_000 });
    try {
      await check.connect(4);
      await checkOps(check, model, [{ op: 'get', key: 'a' }]);
    } finally {
      await check.close();
    }
  }, 180_000);
});

describe('default clientAuth (mac) replicas and the unreplicated baseline, in process', () => {
  let cluster: Cluster;
  let nodes: RunningNode[] = [];
  let single: RunningNode | undefined;

  beforeAll(async () => {
    // Two client identities: the transport keeps one connection per identity (a second one replaces the first).
    cluster = await makeCluster({ clients: 2 });
    nodes = await startInProcess(cluster);
  }, 120_000);
  afterAll(async () => {
    for (const nd of nodes) await nd.stop();
    await single?.stop();
  });

  it('accept MAC and signed clients side by side (--sign works without clientAuth: signature)', async () => {
    const mac = await clientFromOutputs(cluster.stackDir, cluster.component, { timeoutMs: 60_000 });
    const signed = await clientFromOutputs(cluster.stackDir, cluster.component, {
      timeoutMs: 60_000,
      sign: true,
      clientId: 'client-ledger-1',
    });
    try {
      expect([mac.auth, signed.auth]).toEqual(['mac', 'signature']);
      await mac.connect(4);
      await signed.connect(4);
      const model = new Map<string, string>();
      await checkOps(signed, model, OPS);
      await checkOps(mac, model, OPS);
    } finally {
      await mac.close();
      await signed.close();
    }
  }, 180_000);

  it('the unreplicated baseline checks signatures the same way', async () => {
    const spec = {
      ...cluster.specs[1]!,
      id: 'ledger-unreplicated',
      role: 'unreplicated',
      peers: [],
      controlPort: await freePort(cluster.specs[1]!.host),
      ports: { ...cluster.specs[1]!.ports, client: await freePort(cluster.specs[1]!.host) },
      dataDir: path.join(cluster.stackDir, 'nodes', 'unreplicated', 'data'),
    };
    const specFile = path.join(cluster.stackDir, 'nodes', 'unreplicated.json');
    await writeJsonAtomic(specFile, spec);
    single = await startUnreplicated(specFile);
    const base = await clientFromOutputs(cluster.stackDir, cluster.component, { sign: true });
    const other = await clientFromOutputs(cluster.stackDir, cluster.component, { clientId: 'client-ledger-1' });
    // The good client's write must get through however slow the machine: a generous deadline; the forger's is
    // refused for sure, so a short one (it only bounds how long the refusal takes to show).
    const mk = (from: SmrClient, signingKey = from.opts.signingKey, timeoutMs = 60_000) =>
      new SmrClient({
        ...from.opts,
        sign: true,
        signingKey,
        timeoutMs,
        f: 0,
        replicas: [{ id: spec.id, index: 0, host: spec.host, port: spec.ports.client!, publicKey: spec.publicKey }],
      });
    const good = mk(base);
    // Its own transport identity (client-ledger-1), but signing as nobody registered.
    const forger = mk(other, generateKeyPairSync('ed25519').privateKey, 1500);
    try {
      await good.connect(1);
      await forger.connect(1);
      const r = await good.session().invoke(encodeKvOp({ op: 'put', key: 'u', value: '1' }));
      expect(new TextDecoder().decode(r.result)).toBe(
        JSON.stringify(applyKv(new Map(), { op: 'put', key: 'u', value: '1' })),
      );
      expect(codeOf(await rejection(forger.session().invoke(encodeKvOp({ op: 'put', key: 'u', value: 'F' }))))).toBe(
        'TC436',
      );
    } finally {
      await good.close();
      await forger.close();
      await base.close();
      await other.close();
    }
  }, 120_000);
});

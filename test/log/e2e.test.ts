/**
 * The log component end to end on real processes and real storage: deployed to the local target with the built
 * CLI (4 core replicas, a console, 4 cloud buckets), entries appended and read back, then tampered with as the
 * threat model says: one cloud's copies modified, deleted, reordered, truncated and extended (read correctly from
 * the others); an attacker holding one core replica's current keys rewriting an earlier entry, forging a tree head
 * and replaying an old one; whole segments removed behind a saved head. Each is caught by `log verify` (exit 1,
 * the entry named) or read correctly from the other clouds. Needs `npm run build` first.
 */

import { spawn } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authenticateSegment } from '../../components/log/protocol/authenticate.js';
import { encodeEntry } from '../../components/log/protocol/entry.js';
import { chainNext, genesisChain } from '../../components/log/protocol/forward-integrity.js';
import { MerkleTree } from '../../components/log/protocol/merkle.js';
import { decodeCopy, headChainInput, type SegmentCopy, segmentUnit } from '../../components/log/protocol/segment.js';
import { bin, repo, tempDir } from '../support/cli.js';
import { TEST_STACKS } from '../support/stacks.js';
import { bucketDir, stolenSecret, stolenWriter, tc, until, valueFile } from './e2e-support.js';

const built = existsSync(path.join(repo, 'dist', 'components', 'log', 'core-node.js'));
const STACK = TEST_STACKS.log;
const CLOUDS = ['a', 'b', 'c', 'd'];
const TOPOLOGY = `name: ${STACK}
mode: mediator
clouds:
  a: { provider: local, region: eu-west-1 }
  b: { provider: local, region: eu-central-1 }
  c: { provider: local, region: us-east-1 }
  d: { provider: local, region: us-west-2 }
components:
  audit: { kind: log, f: 1, clouds: [a, b, c, d] }
`;

let dir: string;
let stackDir: string;
const bucket = (cloud: string) => bucketDir(stackDir, STACK, 'audit', cloud);
const verify = async (...extra: string[]) => {
  const r = await tc(['log', 'verify', 'audit', '--json', ...extra], dir);
  return {
    code: r.code,
    out: r.json() as {
      ok: boolean;
      size: number;
      problems: { segment?: number; replica?: number; entry?: number; severity: string; message: string }[];
    },
  };
};
const query = async (...extra: string[]) =>
  (await tc(['log', 'query', 'audit', '--json', ...extra], dir)).json() as {
    entries: { seq: number; msg: string; cloud: string; type: string }[];
    size: number;
    verified: boolean;
  };

describe.skipIf(!built)('log component on real processes and storage', () => {
  beforeAll(async () => {
    dir = await tempDir('log-e2e');
    stackDir = path.join(dir, '.tclouds', STACK);
    await fs.writeFile(path.join(dir, 'tclouds.yaml'), TOPOLOGY);
    const r = await tc(['deploy', '--target', 'local', '--yes', '--json'], dir);
    if (r.code !== 0) throw new Error(`deploy failed (${r.code}):\n${r.stdout}\n${r.stderr}`);
  }, 180_000);
  afterAll(async () => {
    if (dir) await tc(['destroy', '--yes', '--json'], dir);
  }, 120_000);

  it('appends from flags and NDJSON (f+1 replies with sequence numbers), queries, verifies and proves', {
    timeout: 120_000,
  }, async () => {
    const one = (
      await tc(
        [
          'log',
          'append',
          'audit',
          '--cloud',
          'a',
          '--node',
          'web-1',
          '--type',
          'login',
          '--msg',
          'alice logged in',
          '--json',
        ],
        dir,
      )
    ).json();
    // Entry 0 (segment 0) is tclouds' own record of the deploy in beforeAll.
    expect(one).toMatchObject({ appended: 1, first: 1, last: 1, size: 2, sealed: 1 });
    const lines = Array.from({ length: 40 }, (_, i) =>
      JSON.stringify({ cloud: CLOUDS[i % 4], node: `db-${i % 3}`, type: i % 2 ? 'write' : 'read', msg: `row ${i}` }),
    );
    const many = (await tc(['log', 'append', 'audit', '--json'], dir, `${lines.join('\n')}\n`)).json();
    expect(many).toMatchObject({ appended: 40, first: 2, last: 41, size: 42, sealed: 2 });
    const all = await query();
    expect(all.size).toBe(42);
    expect(all.entries.map((e) => e.seq)).toEqual(Array.from({ length: 42 }, (_, i) => i));
    expect(all.entries[0]).toMatchObject({ type: 'tclouds.deploy', cloud: 'local', account: 'client-audit' });
    expect(all.entries[0]?.msg).toMatch(new RegExp(`^deploy of stack ${STACK} to local: .* \\(by .+@.+\\)$`));
    const writesInB = await query('--cloud', 'b', '--type', 'write');
    expect(writesInB.entries.map((e) => e.msg)).toEqual([1, 5, 9, 13, 17, 21, 25, 29, 33, 37].map((i) => `row ${i}`));
    expect((await query('--text', 'ALICE')).entries.map((e) => e.seq)).toEqual([1]);
    const v = await verify();
    expect(v.code).toBe(0);
    expect(v.out).toMatchObject({ ok: true, size: 42, segments: 3 });
    const inc = (await tc(['log', 'proof', 'audit', '--inclusion', '17', '--json'], dir)).json();
    expect(inc).toMatchObject({ type: 'inclusion', index: 17, size: 42, verified: true });
    const con = (await tc(['log', 'proof', 'audit', '--consistency', '1', '--json'], dir)).json();
    expect(con).toMatchObject({ type: 'consistency', first: 1, size: 42, verified: true });
    const file = path.join(dir, 'export.ndjson');
    const exp = (await tc(['log', 'export', 'audit', '--out', file, '--json'], dir)).json();
    expect(exp).toMatchObject({ entries: 42, head: { size: 42 }, out: file });
    const exported = (await fs.readFile(file, 'utf8')).trim().split('\n');
    expect(exported).toHaveLength(43);
    expect(JSON.parse(exported[2] as string)).toMatchObject({ seq: 2, msg: 'row 0' });
    expect(JSON.parse(exported[42] as string)).toMatchObject({ treeHead: { size: 42, segment: 2 } });
    const noProof = await tc(['log', 'proof', 'audit', '--inclusion', '42', '--json'], dir);
    expect(noProof.json()).toMatchObject({ error: { code: 'TC455', message: expect.stringContaining('entry 42') } });
    const bad = await tc(['log', 'append', 'audit', '--json'], dir, '{"cloud":"a","node":"x","type":"t"}\n');
    expect(bad.code).toBe(3);
    expect(bad.json()).toMatchObject({ error: { code: 'TC451', message: expect.stringContaining('stdin line 1') } });
  });

  it('follows new entries with tail -f until interrupted', { timeout: 120_000 }, async () => {
    const child = spawn(
      process.execPath,
      [bin, 'log', 'tail', 'audit', '-f', '-n', '1', '--interval', '200', '--json'],
      {
        cwd: dir,
        env: { ...process.env, NO_COLOR: '1' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    const exited = new Promise<number | null>((res) => child.on('close', (code) => res(code)));
    await until('the last entry', async () => (out.includes('"row 39"') ? true : undefined));
    const r = await tc(
      ['log', 'append', 'audit', '--cloud', 'd', '--node', 'n', '--type', 'tail', '--msg', 'followed', '--no-wait'],
      dir,
    );
    expect(r.code).toBe(0);
    await until('the followed entry', async () => (out.includes('"followed"') ? true : undefined));
    child.kill('SIGINT');
    expect(await exited).toBe(0);
    const seen = out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { seq: number; msg: string });
    expect(seen.map((e) => [e.seq, e.msg])).toEqual([
      [41, 'row 39'],
      [42, 'followed'],
    ]);
  });

  it('reads correctly what one cloud modified, deleted, reordered, truncated or extended', {
    timeout: 120_000,
  }, async () => {
    const a = bucket('a');
    // modify an entry in replica 0's copy of segment 1, reorder replica 1's, truncate replica 2's, extend replica 3's
    const edit = async (du: string, change: (c: SegmentCopy) => void) => {
      const file = await valueFile(a, du);
      const copy = decodeCopy(await fs.readFile(file)) as SegmentCopy;
      change(copy);
      await fs.writeFile(file, JSON.stringify(copy));
    };
    await edit(segmentUnit(2, 0), (c) => {
      c.entries[4] = c.entries[4]!.replace('row 3', 'row 333');
    });
    await edit(segmentUnit(2, 1), (c) => {
      c.entries.reverse();
    });
    await edit(segmentUnit(2, 3), (c) => {
      c.entries.push(
        encodeEntry({ seq: 42, time: 0, cloud: 'a', node: 'x', account: 'client-audit', type: 't', msg: 'invented' }),
      );
    });
    const f2 = await valueFile(a, segmentUnit(2, 2));
    await fs.truncate(f2, 100);
    // and delete segment 0 from cloud a altogether
    for (let r = 0; r < 4; r++) await fs.rm(path.join(a, segmentUnit(0, r)), { recursive: true });
    const v = await verify();
    expect(v.code).toBe(0);
    expect(v.out).toMatchObject({ ok: true, size: 43 });
    const q = await query();
    expect(q.entries.slice(1, 42).map((e) => e.msg)).toEqual([
      'alice logged in',
      ...Array.from({ length: 40 }, (_, i) => `row ${i}`),
    ]);
  });

  it("catches an attacker holding one core replica's current keys rewriting an earlier entry", {
    timeout: 120_000,
  }, async () => {
    const writer = await stolenWriter(stackDir, STACK, 'audit', 3, CLOUDS);
    const stolen = await stolenSecret(stackDir, 'audit', 3);
    expect(stolen.index).toBe(5); // segments 0..3 sealed: it holds A_5, not A_1 (segment 0's)
    const du = segmentUnit(0, 3);
    const original = (await writer.get(du)).bytes;
    const copy = decodeCopy(original) as SegmentCopy;
    // Rewrite entry 0 and rebuild a consistent tree and chain for it, then sign and MAC with what it holds.
    copy.entries[0] = encodeEntry({ ...JSON.parse(copy.entries[0]!), msg: 'deploy by nobody' });
    const t = new MerkleTree();
    for (const e of copy.entries) t.append(Buffer.from(e));
    const partial = { size: 1, root: t.root().toString('hex'), time: copy.head.time, segment: 0 };
    const head = { ...partial, chain: chainNext(genesisChain(), headChainInput(partial)).toString('hex') };
    const { readSigningKey } = await import('../../components/storage/keys.js');
    const signKey = await readSigningKey(path.join(stackDir, 'keys', 'storage-audit-core-3-writer.key'));
    const forged = authenticateSegment(
      { segment: 0, first: 0, entries: copy.entries, head },
      { replica: 3, log: `${STACK}/audit`, secret: stolen.secret, signKey },
    );
    await writer.put(du, Buffer.from(JSON.stringify(forged)));
    const v = await verify();
    expect(v.code).toBe(1);
    expect(v.out.ok).toBe(false);
    const p = v.out.problems.find((x) => x.severity === 'error');
    expect(p).toMatchObject({ segment: 0, replica: 3, entry: 0 });
    expect(p?.message).toContain('forward-integrity MAC does not check');
    const human = await tc(['log', 'verify', 'audit'], dir);
    expect(human.code).toBe(1);
    expect(human.stderr).toMatch(/TC453.*at entry 0/);
    // What f+1 honest replicas stored still reads.
    expect((await query()).entries[0]?.msg).toMatch(/^deploy of stack/);
    await writer.put(du, original);
    expect((await verify()).code).toBe(0);
    await writer.close();
  });

  it('catches a forged tree head and a replayed old one, naming the entries', { timeout: 120_000 }, async () => {
    const writer = await stolenWriter(stackDir, STACK, 'audit', 2, CLOUDS);
    const { readSigningKey } = await import('../../components/storage/keys.js');
    const signKey = await readSigningKey(path.join(stackDir, 'keys', 'storage-audit-core-2-writer.key'));
    const stolen = await stolenSecret(stackDir, 'audit', 2);
    const seg1 = decodeCopy((await writer.get(segmentUnit(2, 2))).bytes) as SegmentCopy;
    // Forge: a segment 2 with an invented entry and a head over it, vouched for by this one replica only.
    const invented = encodeEntry({
      seq: 43,
      time: seg1.head.time + 1,
      cloud: 'a',
      node: 'web-1',
      account: 'client-audit',
      type: 'login',
      msg: 'mallory logged in',
    });
    const forged = authenticateSegment(
      { segment: 4, first: 43, entries: [invented], head: { ...seg1.head, size: 44, segment: 4 } },
      { replica: 2, log: `${STACK}/audit`, secret: stolen.secret, signKey },
    );
    await writer.put(segmentUnit(4, 2), Buffer.from(JSON.stringify(forged)));
    let v = await verify();
    expect(v.code).toBe(1);
    expect(v.out.problems.find((x) => x.severity === 'error')).toMatchObject({ segment: 4, entry: 43 });
    expect(v.out.size).toBe(43);
    await writer.rm(segmentUnit(4, 2));
    // Replay: segment 0's (validly signed) copy stored again as segment 1.
    const original = (await writer.get(segmentUnit(1, 2))).bytes;
    await writer.put(segmentUnit(1, 2), (await writer.get(segmentUnit(0, 2))).bytes);
    v = await verify();
    expect(v.code).toBe(1);
    const p = v.out.problems.find((x) => x.severity === 'error');
    expect(p).toMatchObject({ segment: 1, replica: 2 });
    expect(p?.message).toContain('moved or replayed');
    await writer.put(segmentUnit(1, 2), original);
    expect((await verify()).code).toBe(0);
    await writer.close();
  });

  it('catches whole segments removed from every cloud against a saved tree head', { timeout: 120_000 }, async () => {
    const head = path.join(dir, 'head.json');
    expect((await verify('--save-head', head)).code).toBe(0);
    for (const cloud of CLOUDS)
      for (let r = 0; r < 4; r++)
        for (const k of [1, 2, 3])
          await fs.rm(path.join(bucket(cloud), segmentUnit(k, r)), { recursive: true, force: true });
    const plain = await verify();
    expect(plain.out).toMatchObject({ ok: true, size: 1 });
    const core = await verify('--core');
    expect(core.code).toBe(1);
    expect(core.out.problems.find((p) => p.severity === 'error')).toMatchObject({
      entry: 1,
      message: expect.stringContaining('entries 1..42 are missing from storage'),
    });
    const since = await verify('--since', head);
    expect(since.code).toBe(1);
    expect(since.out.problems[0]).toMatchObject({
      entry: 1,
      message: expect.stringContaining('entries 1..42 were removed'),
    });
  });

  it('keeps appending after the tampering: the core and its keys moved on', { timeout: 120_000 }, async () => {
    // --no-wait: storage no longer verifies past entry 0 (segment 1 is gone), so waiting for it would fail.
    const r = (
      await tc(
        [
          'log',
          'append',
          'audit',
          '--cloud',
          'b',
          '--node',
          'n',
          '--type',
          't',
          '--msg',
          'later',
          '--no-wait',
          '--json',
        ],
        dir,
      )
    ).json();
    expect(r).toMatchObject({ first: 43, sealed: 4 });
    await until('segment 4 stored', async () =>
      (await stolenSecret(stackDir, 'audit', 0)).index === 6 ? true : undefined,
    );
  });
});

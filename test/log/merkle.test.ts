/**
 * The Merkle tree against RFC 9162's definition: roots by the recursive MTH, the Certificate Transparency test
 * vectors, every inclusion and consistency proof for small trees, and proofs that must fail.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Frontier } from '../../components/log/protocol/frontier.js';
import {
  EMPTY_ROOT,
  leafHash,
  leafHashOfText,
  MerkleTree,
  nodeHash,
  verifyConsistency,
  verifyInclusion,
} from '../../components/log/protocol/merkle.js';

/** RFC 9162 2.1.1, written as the RFC says it. */
function mth(leaves: readonly Uint8Array[]): Buffer {
  if (leaves.length === 0) return createHash('sha256').digest();
  if (leaves.length === 1) return leafHash(leaves[0] as Uint8Array);
  let k = 1;
  while (k * 2 < leaves.length) k *= 2;
  return nodeHash(mth(leaves.slice(0, k)), mth(leaves.slice(k)));
}

const data = (i: number) => Buffer.from(`entry ${i}`);

// The leaves of Certificate Transparency's Merkle tree tests (merkle_tree_test.cc), and the roots they list.
const CT_LEAVES = [
  '',
  '00',
  '10',
  '2021',
  '3031',
  '40414243',
  '5051525354555657',
  '606162636465666768696a6b6c6d6e6f',
].map((h) => Buffer.from(h, 'hex'));
const CT_ROOTS = [
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
];

describe('Merkle tree (RFC 9162)', () => {
  it('matches the Certificate Transparency test vectors', () => {
    const t = new MerkleTree();
    CT_LEAVES.forEach((l, i) => {
      t.append(l);
      expect(t.root().toString('hex')).toBe(CT_ROOTS[i]);
    });
    expect(new MerkleTree().root()).toEqual(EMPTY_ROOT);
  });

  it('has the recursive MTH root at every size, for the tree, for earlier sizes and for the frontier', () => {
    const leaves = Array.from({ length: 70 }, (_, i) => data(i));
    const t = new MerkleTree();
    const f = new Frontier();
    leaves.forEach((l, i) => {
      t.append(l);
      f.append(l);
      const want = mth(leaves.slice(0, i + 1));
      expect(t.root()).toEqual(want);
      expect(f.root()).toEqual(want);
      expect(Frontier.from(f.toJSON()).root()).toEqual(want);
    });
    for (let s = 1; s <= 70; s++) expect(t.root(s)).toEqual(mth(leaves.slice(0, s)));
  });

  it('gives inclusion proofs that verify for every entry of every size, and fail for another entry', () => {
    const t = new MerkleTree();
    for (let i = 0; i < 40; i++) t.append(data(i));
    for (let size = 1; size <= 40; size++) {
      const root = t.root(size);
      for (let i = 0; i < size; i++) {
        const proof = t.inclusionProof(i, size);
        expect(verifyInclusion(t.leaf(i), i, size, proof, root)).toBe(true);
        if (size > 1) expect(verifyInclusion(t.leaf((i + 1) % size), i, size, proof, root)).toBe(false);
      }
      expect(verifyInclusion(t.leaf(0), size, size, [], root)).toBe(false);
    }
  });

  it('gives consistency proofs that verify for every pair of sizes, and fail for a rewritten history', () => {
    const t = new MerkleTree();
    for (let i = 0; i < 40; i++) t.append(data(i));
    const other = new MerkleTree();
    for (let i = 0; i < 40; i++) other.append(i === 3 ? Buffer.from('rewritten') : data(i));
    for (let second = 1; second <= 40; second++) {
      for (let first = 1; first <= second; first++) {
        const proof = t.consistencyProof(first, second);
        expect(verifyConsistency(first, second, t.root(first), t.root(second), proof)).toBe(true);
        if (first > 3 && first < second) {
          expect(verifyConsistency(first, second, other.root(first), t.root(second), proof)).toBe(false);
        }
      }
    }
  });

  it('hashes an entry given as text exactly as its UTF-8 bytes', () => {
    for (const text of ['', '{"msg":"x"}', 'é ✓ 日本 \u0000 \ud83d\ude00']) {
      expect(leafHashOfText(text)).toEqual(leafHash(Buffer.from(text, 'utf8')));
    }
  });

  it('refuses a proof with a flipped hash', () => {
    const t = new MerkleTree();
    for (let i = 0; i < 1000; i++) t.append(data(i));
    const proof = t.inclusionProof(517);
    const bad = proof.map((p, i) => (i === 3 ? Buffer.from(p.map((b) => b ^ 1)) : p));
    expect(verifyInclusion(t.leaf(517), 517, 1000, proof, t.root())).toBe(true);
    expect(verifyInclusion(t.leaf(517), 517, 1000, bad, t.root())).toBe(false);
    const c = t.consistencyProof(300, 1000);
    expect(verifyConsistency(300, 1000, t.root(300), t.root(), c.slice(1))).toBe(false);
  });
});

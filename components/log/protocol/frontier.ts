/**
 * The right edge of an append-only RFC 9162 tree: one hash per complete subtree (as many as 1 bits in the size).
 * It is all the core keeps of the tree: enough to append and to compute the root, small enough for every
 * checkpoint. Pure.
 */
import { EMPTY_ROOT, leafHash, leafHashOfText, nodeHash } from './merkle.js';

export class Frontier {
  /** Subtree hashes, largest (leftmost) first; sizes follow from the binary digits of `size`. */
  private hashes: Buffer[] = [];
  size = 0;

  appendLeafHash(h: Buffer): void {
    this.hashes.push(h);
    this.size++;
    // Each trailing 1 bit of the new size (after the lowest) is a pair of equal subtrees to merge.
    for (let s = this.size; s % 2 === 0; s /= 2) {
      const right = this.hashes.pop() as Buffer;
      const left = this.hashes.pop() as Buffer;
      this.hashes.push(nodeHash(left, right));
    }
  }

  append(entry: Uint8Array): Buffer {
    const h = leafHash(entry);
    this.appendLeafHash(h);
    return h;
  }

  appendText(entry: string): Buffer {
    const h = leafHashOfText(entry);
    this.appendLeafHash(h);
    return h;
  }

  root(): Buffer {
    if (this.hashes.length === 0) return EMPTY_ROOT;
    let r = this.hashes[this.hashes.length - 1] as Buffer;
    for (let i = this.hashes.length - 2; i >= 0; i--) r = nodeHash(this.hashes[i] as Buffer, r);
    return r;
  }

  /** The subtree hashes, largest first (copies). */
  edge(): Buffer[] {
    return this.hashes.map((h) => Buffer.from(h));
  }

  toJSON(): { size: number; hashes: string[] } {
    return { size: this.size, hashes: this.hashes.map((h) => h.toString('hex')) };
  }

  static from(o: { size: number; hashes: string[] }): Frontier {
    const f = new Frontier();
    f.size = o.size;
    f.hashes = o.hashes.map((h) => Buffer.from(h, 'hex'));
    return f;
  }
}

import { Flags } from '@oclif/core';
import { TcCommand } from '../../cli/base-command.js';
import { deploymentOf, logComponentArg, logFlags, readVerified } from '../../cli/log-command.js';
import { LogCode } from '../../components/log/codes.js';
import { encodeEntry } from '../../components/log/protocol/entry.js';
import { leafHash, verifyConsistency, verifyInclusion } from '../../components/log/protocol/merkle.js';
import { ExitCode, TcError } from '../../kernel/errors.js';

export interface ProofOutput {
  component: string;
  type: 'inclusion' | 'consistency';
  /** inclusion: the entry's index and leaf hash. */
  index?: number;
  leaf?: string;
  /** consistency: the first tree size and root. */
  first?: number;
  firstRoot?: string;
  size: number;
  root: string;
  proof: string[];
  verified: boolean;
}

export default class LogProof extends TcCommand {
  static override summary = 'Inclusion proof of one entry, or consistency proof between two tree sizes (RFC 9162)';
  static override description =
    'Proofs are built from the verified log in storage, in the RFC 9162 (Certificate Transparency v2) form: hashes ' +
    'as hex, leaf hash SHA-256(0x00 || entry), node hash SHA-256(0x01 || left || right). Anyone can check them ' +
    'without a key; this command checks each one before printing it. The tree size defaults to the whole verified log.\n\n' +
    'With --json prints {"component","type","index","leaf"|"first","firstRoot","size","root","proof":[hex],"verified"}.';
  static override examples = [
    '<%= config.bin %> log proof audit --inclusion 41',
    '<%= config.bin %> log proof audit --consistency 100 --size 250 --json',
  ];
  static override args = { component: logComponentArg };
  static override flags = {
    ...logFlags,
    inclusion: Flags.integer({
      min: 0,
      description: 'sequence number of the entry to prove',
      exclusive: ['consistency'],
    }),
    consistency: Flags.integer({ min: 0, description: 'size of the earlier tree (prove it is a prefix)' }),
    size: Flags.integer({ min: 1, description: 'tree size to prove against (default: the whole verified log)' }),
  };

  async run(): Promise<ProofOutput> {
    const { args, flags } = await this.parse(LogProof);
    if (flags.inclusion === undefined && flags.consistency === undefined) {
      throw new TcError(LogCode.badProof, 'say which proof: --inclusion SEQ or --consistency SIZE', {
        exit: ExitCode.usage,
      });
    }
    const d = await deploymentOf(flags, args.component);
    const r = await readVerified(d);
    const size = flags.size ?? r.size;
    if (size > r.size || size === 0) {
      throw new TcError(
        LogCode.badProof,
        `tree size ${size} is not available: the verified log has ${r.size} entries`,
        { exit: ExitCode.invalid },
      );
    }
    const root = r.tree.root(size);
    const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
    let out: ProofOutput;
    if (flags.inclusion !== undefined) {
      const index = flags.inclusion;
      if (index >= size)
        throw new TcError(LogCode.badProof, `entry ${index} is not in a tree of ${size} entries`, {
          exit: ExitCode.invalid,
        });
      const proof = r.tree.inclusionProof(index, size);
      const leaf = leafHash(new TextEncoder().encode(encodeEntry(r.entries[index]!)));
      const verified = verifyInclusion(leaf, index, size, proof, root);
      out = {
        component: args.component,
        type: 'inclusion',
        index,
        leaf: hex(leaf),
        size,
        root: hex(root),
        proof: proof.map(hex),
        verified,
      };
    } else {
      const first = flags.consistency as number;
      if (first > size)
        throw new TcError(LogCode.badProof, `cannot prove size ${first} is a prefix of the smaller size ${size}`, {
          exit: ExitCode.invalid,
        });
      const proof = r.tree.consistencyProof(first, size);
      const firstRoot = r.tree.root(first);
      const verified = verifyConsistency(first, size, firstRoot, root, proof);
      out = {
        component: args.component,
        type: 'consistency',
        first,
        firstRoot: hex(firstRoot),
        size,
        root: hex(root),
        proof: proof.map(hex),
        verified,
      };
    }
    this.log(
      `${out.type} proof, tree size ${size}, root ${out.root}: ${out.verified ? 'verified' : 'DOES NOT VERIFY'}`,
    );
    for (const p of out.proof) this.log(`  ${p}`);
    if (!out.verified)
      throw new TcError(LogCode.badProof, 'the proof built from storage does not verify', { exit: ExitCode.failure });
    return out;
  }
}

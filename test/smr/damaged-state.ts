/**
 * Stop states (stop-state.ts) that only a bug could have written, with a valid checksum: what a replica takes back
 * at start from them breaks one of its core's invariants, so tests can drive a real replica into a failed
 * assertion without any hook in the node software.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { DurableState } from '../../components/smr/protocol/core.js';
import { newInstance } from '../../components/smr/protocol/instance.js';
import { encodeStopState } from '../../components/smr/stop-state.js';

/** A decision whose value does not decode as a batch: replaying it at start fails "a decided value decodes". */
export function undecodableDecision(): DurableState {
  return {
    lastDecided: 0,
    decisions: [{ cid: 0, value: new Uint8Array([9, 9, 9]) }],
    lastProof: null,
    regency: 0,
    inst: newInstance(1),
  };
}

/**
 * Instance 0 in progress with WRITEs from replicas 0..4 in regencies 0..3, in a group of 4: taken back at start,
 * it fails "a regency never has more voters than replicas" at the first vote the replica records while serving.
 */
export function overfullVotes(): DurableState {
  const inst = newInstance(0);
  for (let reg = 0; reg < 4; reg++) inst.writes.set(reg, new Map([0, 1, 2, 3, 4].map((r) => [r, 'h'])));
  return { lastDecided: -1, decisions: [], lastProof: null, regency: 0, inst };
}

/** Leaves `state` where a replica's next start takes it back (a restart: the start marker is there too). */
export function leaveStopState(dataDir: string, state: DurableState): void {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  writeFileSync(path.join(dataDir, 'replica.started'), 'test\n', { mode: 0o600 });
  writeFileSync(path.join(dataDir, 'stopped.bin'), encodeStopState(state), { mode: 0o600 });
}

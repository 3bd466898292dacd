/**
 * The chaos journal, `<stackDir>/chaos.json`: every fault chaos injected and has not undone yet, so that
 * `chaos resume` / `chaos heal` with no target undo all of it, status can say why a node is down, and a
 * later partition does not forget an earlier one. Written atomically; destroy removes it with the stack.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { writeJsonAtomic } from '../kernel/atomic-file.js';

export interface CorruptionRecord {
  /** Absolute path of the corrupted copy. */
  file: string;
  /** Absolute path of the saved original. */
  backup: string;
  /** SHA-256 of the corrupted bytes: heal restores only if the copy was not rewritten since. */
  corruptedSha256: string;
  at: string;
}

export interface ChaosJournal {
  version: 1;
  killed: string[];
  paused: string[];
  /** Blocked peers per node id (what POST /admin/partition was told). */
  partitions: Record<string, string[]>;
  corrupted: CorruptionRecord[];
  /**
   * Misbehaviour mode per node id (`chaos byzantine`). May be stale: a node the supervisor restarted comes back
   * correct, so heal treats a node that is down or already correct as healed.
   */
  byzantine: Record<string, string>;
}

export const journalFile = (stackDir: string) => path.join(stackDir, 'chaos.json');

export function emptyJournal(): ChaosJournal {
  return { version: 1, killed: [], paused: [], partitions: {}, corrupted: [], byzantine: {} };
}

export async function readJournal(stackDir: string): Promise<ChaosJournal> {
  const text = await fs.readFile(journalFile(stackDir), 'utf8').catch(() => null);
  if (text === null) return emptyJournal();
  try {
    const j = JSON.parse(text) as Partial<ChaosJournal>;
    return { ...emptyJournal(), ...j, version: 1 };
  } catch {
    // A damaged journal must not block healing: start from empty (heal then acts on every node).
    return emptyJournal();
  }
}

export async function writeJournal(stackDir: string, j: ChaosJournal): Promise<void> {
  await writeJsonAtomic(journalFile(stackDir), j);
}

export function addUnique(list: string[], ids: readonly string[]): string[] {
  return [...new Set([...list, ...ids])].sort();
}

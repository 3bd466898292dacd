/**
 * The local realizer's records: `state.json` (what was deployed; written by deploy under the lock) and
 * `supervisor.json` (what runs right now; written only by the supervisor process). Two files with one
 * writer each, so the supervisor and a deploy never overwrite each other's view. Both are written atomically.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { writeJsonAtomic } from '../../kernel/atomic-file.js';
import { TcError } from '../../kernel/errors.js';
import { readRecordText, unreadableState } from '../../runtime/outputs-file.js';
import { DeployCode } from '../codes.js';
import { stackPaths } from './paths.js';

export const LOCAL_STATE_VERSION = 1;

export interface LocalNodeState {
  component: string;
  kind: string;
  role: string;
  index: number;
  cloud: string;
  domain: number;
  host: string;
  ports: Record<string, number>;
  controlPort: number;
  specFile: string;
  /** SHA-256 of spec.json: a changed spec means the node is restarted on (re)deploy. */
  specHash: string;
}

export interface LocalBucketState {
  component: string;
  cloud: string;
  name: string;
  /** Absolute directory. */
  path: string;
}

export interface LocalState {
  version: typeof LOCAL_STATE_VERSION;
  stack: string;
  topologyFile: string;
  planDigest: string;
  /** Nodes the supervisor must keep running, by id. */
  nodes: Record<string, LocalNodeState>;
  buckets: LocalBucketState[];
  /** Directories outside stackDir that this deployment created (local clouds with `path:`), removed by destroy. */
  externalDirs: string[];
}

export type NodeRunState = 'starting' | 'running' | 'backoff' | 'held' | 'stopped' | 'failed';

export interface SupervisedNode {
  pid: number | null;
  state: NodeRunState;
  specHash: string;
  restarts: number;
  startedAt?: string;
  healthy?: boolean;
  paused?: boolean;
  lastExit?: { code: number | null; signal: string | null; at: string };
}

export interface SupervisorStatus {
  version: 1;
  pid: number;
  startedAt: string;
  updatedAt: string;
  nodes: Record<string, SupervisedNode>;
}

/** What to do about a damaged state.json: deploy rebuilds it, and nothing that runs is touched meanwhile. */
export const REBUILD_STATE_HINT =
  'run `tclouds deploy` with the same topology: it rebuilds state.json from the node specs and keeps running nodes';

async function readJson<T>(file: string): Promise<T | null> {
  const text = await readRecordText(file, REBUILD_STATE_HINT);
  if (text === null) return null;
  try {
    const value = JSON.parse(text) as T | null;
    if (value === null || typeof value !== 'object') throw new Error('not an object');
    return value;
  } catch (e) {
    throw unreadableState(file, `is not valid JSON (${(e as Error).message})`, REBUILD_STATE_HINT);
  }
}

export async function readState(stackDir: string): Promise<LocalState | null> {
  const s = await readJson<LocalState>(stackPaths(stackDir).state);
  if (s && s.version !== LOCAL_STATE_VERSION) {
    throw new TcError(
      DeployCode.badState,
      `state.json of ${stackDir} has version ${String(s.version)}, expected ${LOCAL_STATE_VERSION}`,
      {
        hint: 'it was written by another tclouds release; destroy the deployment with that release',
      },
    );
  }
  return s;
}

export async function writeState(stackDir: string, state: LocalState): Promise<void> {
  await writeJsonAtomic(stackPaths(stackDir).state, state, { mode: 0o644 });
}

export async function readSupervisorStatus(stackDir: string): Promise<SupervisorStatus | null> {
  return readJson<SupervisorStatus>(stackPaths(stackDir).supervisorStatus).catch(() => null);
}

/** True when `pid` is a live process (zombies count as gone). */
export function pidAlive(pid: number | null | undefined): boolean {
  if (!pid || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  if (procState(pid) !== 'Z') return true;
  // A zombie thread-group leader can still have live threads that hold the process's files (and so its
  // listening sockets) until they finish exiting: only a zombie without other threads is really gone.
  try {
    return readdirSync(`/proc/${pid}/task`).length > 1;
  } catch {
    return false;
  }
}

/** Linux process state letter (R, S, T, Z...) from /proc, or undefined elsewhere. */
export function procState(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const after = stat.slice(stat.lastIndexOf(')') + 2);
    return after[0];
  } catch {
    return undefined;
  }
}

/** Command line of a process (Linux), to make sure a pid from a file still is the process we started. */
export function procCmdline(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
  } catch {
    return undefined;
  }
}

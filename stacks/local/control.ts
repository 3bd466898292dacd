/**
 * Control of a local deployment's processes, for the realizer (start/stop the supervisor) and for chaos and
 * status: readLocalState, killNode, pauseNode, resumeNode, restartNode.
 *
 * Chaos state lives in marker files next to each node (`nodes/<id>/hold`, `nodes/<id>/paused`), which the
 * supervisor reads before every (re)start: a held node is never restarted until restartNode or a deploy.
 * Every pid taken from a file is checked against /proc/<pid>/cmdline before it is signalled, so a recycled
 * pid of an unrelated process is never touched.
 */
import { spawn } from 'node:child_process';
import { closeSync, promises as fs, openSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { ExitCode, TcError } from '../../kernel/errors.js';
import { DeployCode } from '../codes.js';
import { stackPaths, supervisorMain } from './paths.js';
import {
  type LocalNodeState,
  type LocalState,
  type NodeRunState,
  pidAlive,
  procCmdline,
  readState,
  readSupervisorStatus,
  type SupervisorStatus,
} from './state.js';

export interface LocalNodeView extends LocalNodeState {
  id: string;
  pid: number | null;
  run: NodeRunState;
  held: boolean;
  paused: boolean;
  restarts: number;
  healthy: boolean;
}

export interface LocalStateView {
  state: LocalState;
  supervisor: { pid: number | null; alive: boolean };
  nodes: LocalNodeView[];
}

/** The deployed nodes with what runs now. null when the stack has no local deployment. */
export async function readLocalState(stackDir: string): Promise<LocalStateView | null> {
  const state = await readState(stackDir);
  if (!state) return null;
  const sup = await readSupervisorStatus(stackDir);
  const p = stackPaths(stackDir);
  const supAlive = sup ? isSupervisor(sup.pid, stackDir) : false;
  const nodes: LocalNodeView[] = [];
  for (const [id, n] of Object.entries(state.nodes)) {
    const s = sup?.nodes[id];
    const pid = s?.pid && isNodeProcess(s.pid, n.specFile) ? s.pid : null;
    nodes.push({
      id,
      ...n,
      pid,
      run: pid
        ? (s?.state ?? 'running')
        : s?.state === 'held'
          ? 'held'
          : supAlive
            ? (s?.state ?? 'starting')
            : 'stopped',
      held: await exists(p.hold(id)),
      paused: await exists(p.paused(id)),
      restarts: s?.restarts ?? 0,
      healthy: Boolean(pid && s?.healthy),
    });
  }
  return { state, supervisor: { pid: sup?.pid ?? null, alive: supAlive }, nodes };
}

/** SIGKILL a node. `hold: true` keeps it down (the supervisor will not restart it) until restartNode or deploy. */
export async function killNode(stackDir: string, id: string, opts: { hold?: boolean } = { hold: true }): Promise<void> {
  const node = await nodeOf(stackDir, id);
  const p = stackPaths(stackDir);
  if (opts.hold !== false) await fs.writeFile(p.hold(id), `${new Date().toISOString()}\n`);
  await fs.rm(p.paused(id), { force: true });
  if (node.pid) {
    signal(node.pid, 'SIGKILL', id);
    await waitGone(node.pid, 5000);
  }
  await pokeSupervisor(stackDir);
}

/** SIGSTOP: the process stays, stops answering (a "slow" or frozen node). The supervisor does not restart it. */
export async function pauseNode(stackDir: string, id: string): Promise<void> {
  const node = await nodeOf(stackDir, id);
  if (!node.pid) {
    throw new TcError(DeployCode.controlFailed, `node ${id} is not running (${node.run})`, {
      hint: `start it with \`tclouds chaos\` restart or redeploy`,
    });
  }
  await fs.writeFile(stackPaths(stackDir).paused(id), `${new Date().toISOString()}\n`);
  signal(node.pid, 'SIGSTOP', id);
}

/** SIGCONT a paused node. */
export async function resumeNode(stackDir: string, id: string): Promise<void> {
  const node = await nodeOf(stackDir, id);
  await fs.rm(stackPaths(stackDir).paused(id), { force: true });
  if (node.pid) signal(node.pid, 'SIGCONT', id);
}

/**
 * Start a node again: clears hold and pause, kills the running process if any, and waits (up to 15 s) until
 * the supervisor runs a new process for it. Returns the new pid.
 */
export async function restartNode(stackDir: string, id: string): Promise<{ pid: number }> {
  const node = await nodeOf(stackDir, id);
  const p = stackPaths(stackDir);
  await fs.rm(p.hold(id), { force: true });
  await fs.rm(p.paused(id), { force: true });
  if (node.pid) {
    try {
      process.kill(node.pid, 'SIGCONT');
    } catch {}
    signal(node.pid, 'SIGKILL', id);
    await waitGone(node.pid, 5000);
  }
  await ensureSupervisor(stackDir);
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    const view = await readLocalState(stackDir);
    const now = view?.nodes.find((n) => n.id === id);
    if (now?.pid && now.pid !== node.pid) return { pid: now.pid };
    await sleep(100);
  }
  throw new TcError(DeployCode.controlFailed, `node ${id} did not start again within 15 s`, {
    hint: `see ${path.relative(process.cwd(), p.consoleLog(id)) || p.consoleLog(id)} and supervisor.log`,
  });
}

// ---- supervisor lifecycle (used by the realizer) ----

/** Start the stack's supervisor if it is not running, else make it reread state.json. Returns its pid. */
export async function ensureSupervisor(stackDir: string): Promise<number> {
  const sup = await readSupervisorStatus(stackDir);
  if (sup && isSupervisor(sup.pid, stackDir)) {
    process.kill(sup.pid, 'SIGHUP');
    return sup.pid;
  }
  const p = stackPaths(stackDir);
  const log = openSync(p.supervisorLog, 'a', 0o644);
  try {
    const child = spawn(process.execPath, [supervisorMain(), stackDir], {
      detached: true,
      stdio: ['ignore', log, log],
      env: { ...process.env, PULUMI_SKIP_UPDATE_CHECK: '1' },
    });
    child.unref();
    if (!child.pid) throw new TcError(DeployCode.controlFailed, 'cannot start the node supervisor');
    // Wait until it has written its first status, so callers can rely on supervisor.json.
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      const s = await readSupervisorStatus(stackDir);
      if (s?.pid === child.pid) return child.pid;
      if (!pidAlive(child.pid)) break;
      await sleep(50);
    }
    throw new TcError(DeployCode.controlFailed, 'the node supervisor did not start', {
      hint: `see ${p.supervisorLog}`,
    });
  } finally {
    closeSync(log);
  }
}

async function pokeSupervisor(stackDir: string): Promise<void> {
  const sup = await readSupervisorStatus(stackDir);
  if (sup && isSupervisor(sup.pid, stackDir)) process.kill(sup.pid, 'SIGHUP');
}

/**
 * Stop the supervisor (it stops its nodes) and then make sure no node process of this stack survives:
 * every process whose command line runs a spec of this stack is killed (orphans of a SIGKILLed supervisor too).
 * Returns the pids that were stopped.
 */
export async function stopAll(stackDir: string): Promise<number[]> {
  const stopped: number[] = [];
  const sup: SupervisorStatus | null = await readSupervisorStatus(stackDir);
  if (sup && isSupervisor(sup.pid, stackDir)) {
    process.kill(sup.pid, 'SIGTERM');
    if (!(await waitGone(sup.pid, 15_000))) process.kill(sup.pid, 'SIGKILL');
    await waitGone(sup.pid, 2000);
    stopped.push(sup.pid);
  }
  for (const pid of nodeProcessesOf(stackDir)) {
    try {
      process.kill(pid, 'SIGCONT');
      process.kill(pid, 'SIGKILL');
    } catch {}
    await waitGone(pid, 2000);
    stopped.push(pid);
  }
  return stopped;
}

/** Pids of live processes running `node run --spec <stackDir>/nodes/...` (Linux /proc scan). */
export function nodeProcessesOf(stackDir: string): number[] {
  const marker = `${path.join(stackDir, 'nodes')}${path.sep}`;
  const out: number[] = [];
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return out;
  }
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    const pid = Number(e);
    if (pid === process.pid) continue;
    const cmd = procCmdline(pid);
    if (cmd?.includes('--spec') && cmd.includes(marker) && pidAlive(pid)) out.push(pid);
  }
  return out;
}

export function isSupervisor(pid: number | null | undefined, stackDir: string): boolean {
  if (!pid || !pidAlive(pid)) return false;
  const cmd = procCmdline(pid);
  // Without /proc (not Linux) trust the live pid.
  return cmd === undefined || (cmd.includes('supervisor-main') && cmd.includes(stackDir));
}

function isNodeProcess(pid: number, specFile: string): boolean {
  if (!pidAlive(pid)) return false;
  const cmd = procCmdline(pid);
  return cmd === undefined || cmd.includes(specFile);
}

async function nodeOf(stackDir: string, id: string): Promise<LocalNodeView> {
  const view = await readLocalState(stackDir);
  if (!view) {
    throw new TcError(DeployCode.noDeployment, `no local deployment in ${stackDir}`, {
      exit: ExitCode.notFound,
      hint: 'deploy first: tclouds deploy --target local',
    });
  }
  const node = view.nodes.find((n) => n.id === id);
  if (!node) {
    throw new TcError(DeployCode.unknownNode, `no node ${id} in this deployment`, {
      exit: ExitCode.notFound,
      hint: `nodes: ${view.nodes.map((n) => n.id).join(', ') || '(none)'}`,
    });
  }
  return node;
}

function signal(pid: number, sig: NodeJS.Signals, id: string): void {
  try {
    process.kill(pid, sig);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ESRCH') return;
    throw new TcError(
      DeployCode.controlFailed,
      `cannot send ${sig} to node ${id} (pid ${pid}): ${(e as Error).message}`,
    );
  }
}

export async function waitGone(pid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (!pidAlive(pid)) return true;
    await sleep(25);
  }
  return !pidAlive(pid);
}

async function exists(file: string): Promise<boolean> {
  return fs.access(file).then(
    () => true,
    () => false,
  );
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * The per-stack supervisor of the local target: one detached process per deployed stack that starts the
 * `tclouds node run --spec FILE` processes listed in state.json, restarts them when they exit (exponential
 * backoff), health-checks them (GET /health) and stops them on destroy.
 *
 * Why a detached supervisor rather than "start at deploy, restart on the next deploy": the local target stands
 * in for a cloud, where a VM's systemd restarts a crashed node without anyone running tclouds. Chaos and the
 * reliability suite kill nodes long after `deploy` has returned and expect the deployment to heal itself
 * unless a node is held down on purpose; only a process that outlives `deploy` can do that.
 *
 * Rules:
 * - desired state = state.json (written by deploy under the lock); reread on SIGHUP and every second;
 * - a node held down by chaos (`nodes/<id>/hold`) is never (re)started; a paused node (SIGSTOP) is not restarted
 *   either: restarts happen only when a process exits, never because health checks fail;
 * - a node whose spec changed is stopped (SIGTERM, then SIGKILL after 5 s) and started again;
 * - SIGTERM (destroy): stop every node, write the final status, exit 0. No nodes left in state.json: exit.
 * supervisor.json (written atomically, only here) tells deploy, status and chaos what runs.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, existsSync, openSync } from 'node:fs';
import { writeJsonAtomic } from '../../kernel/atomic-file.js';
import { probeHealth } from './health.js';
import { nodeHostCommand, stackPaths } from './paths.js';
import { type LocalState, readState, type SupervisedNode, type SupervisorStatus } from './state.js';

const STOP_GRACE_MS = 5000;
const BACKOFF_MIN_MS = 250;
const BACKOFF_MAX_MS = 30_000;
/** A node that ran this long is considered healthy again: its next crash restarts without delay. */
const STABLE_MS = 30_000;
const TICK_MS = 1000;
const HEALTH_EVERY_MS = 2000;

interface Child {
  id: string;
  proc: ChildProcess;
  specHash: string;
  startedAt: number;
  stopping: boolean;
  exited: Promise<void>;
}

export class Supervisor {
  private readonly paths: ReturnType<typeof stackPaths>;
  private readonly children = new Map<string, Child>();
  private readonly status: SupervisorStatus;
  private readonly nextStart = new Map<string, number>();
  private readonly failures = new Map<string, number>();
  private desired: LocalState | null = null;
  private stopping = false;
  private reconciling: Promise<void> | null = null;
  private again = false;
  private timer: NodeJS.Timeout | undefined;
  private lastHealth = 0;
  private readonly nodeCmd = nodeHostCommand();

  constructor(private readonly stackDir: string) {
    this.paths = stackPaths(stackDir);
    const now = new Date().toISOString();
    this.status = { version: 1, pid: process.pid, startedAt: now, updatedAt: now, nodes: {} };
  }

  async run(): Promise<void> {
    process.on('SIGHUP', () => void this.reconcile());
    const done = new Promise<void>((resolve) => {
      const stop = () => void this.shutdown().then(resolve);
      process.on('SIGTERM', stop);
      process.on('SIGINT', stop);
      this.onEmpty = stop;
    });
    await this.reconcile();
    this.timer = setInterval(() => void this.reconcile(), TICK_MS);
    await done;
  }

  private onEmpty: () => void = () => {};

  /** Serialized: one reconcile at a time, and one more if asked during a run. */
  reconcile(): Promise<void> {
    if (this.reconciling) {
      this.again = true;
      return this.reconciling;
    }
    this.reconciling = (async () => {
      do {
        this.again = false;
        await this.reconcileOnce().catch((e) => this.logLine(`reconcile failed: ${(e as Error).message}`));
      } while (this.again && !this.stopping);
      this.reconciling = null;
    })();
    return this.reconciling;
  }

  private async reconcileOnce(): Promise<void> {
    if (this.stopping) return;
    this.desired = await readState(this.stackDir).catch(() => this.desired);
    const wanted = this.desired?.nodes ?? {};
    if (!existsSync(this.paths.state) || Object.keys(wanted).length === 0) {
      this.onEmpty();
      return;
    }
    // Stop nodes no longer wanted, or whose spec changed.
    for (const [id, child] of this.children) {
      const want = wanted[id];
      if (!want || want.specHash !== child.specHash) {
        await this.stopChild(child);
        if (!want) delete this.status.nodes[id];
      }
    }
    const now = Date.now();
    for (const [id, want] of Object.entries(wanted)) {
      const entry = this.entry(id, want.specHash);
      entry.paused = existsSync(this.paths.paused(id));
      if (existsSync(this.paths.hold(id))) {
        // Held down by chaos: make sure it stays down.
        const child = this.children.get(id);
        if (child) await this.stopChild(child, 'SIGKILL');
        entry.state = 'held';
        entry.pid = null;
        entry.healthy = false;
        continue;
      }
      if (this.children.has(id)) continue;
      if (now < (this.nextStart.get(id) ?? 0)) {
        entry.state = 'backoff';
        continue;
      }
      this.start(id, want.specFile, want.specHash);
    }
    if (now - this.lastHealth >= HEALTH_EVERY_MS) {
      this.lastHealth = now;
      await this.checkHealth(wanted);
    }
    await this.writeStatus();
  }

  private entry(id: string, specHash: string): SupervisedNode {
    let e = this.status.nodes[id];
    if (!e) {
      e = { pid: null, state: 'stopped', specHash, restarts: 0 };
      this.status.nodes[id] = e;
    }
    return e;
  }

  private start(id: string, specFile: string, specHash: string): void {
    const [cmd, ...args] = this.nodeCmd as [string, ...string[]];
    const out = openSync(this.paths.consoleLog(id), 'a', 0o644);
    let proc: ChildProcess;
    try {
      proc = spawn(cmd, [...args, '--spec', specFile], {
        stdio: ['ignore', out, out],
        env: { ...process.env, PULUMI_SKIP_UPDATE_CHECK: '1' },
      });
    } finally {
      closeSync(out);
    }
    const entry = this.entry(id, specHash);
    entry.pid = proc.pid ?? null;
    entry.state = 'starting';
    entry.specHash = specHash;
    entry.startedAt = new Date().toISOString();
    entry.healthy = false;
    const child: Child = {
      id,
      proc,
      specHash,
      startedAt: Date.now(),
      stopping: false,
      exited: new Promise((resolve) => {
        proc.once('exit', (code, signal) => {
          this.onExit(child, code, signal);
          resolve();
        });
        proc.once('error', (e) => {
          // A process that could not be spawned emits no 'exit': treat it as one that exited at once.
          this.logLine(`${id}: spawn failed: ${e.message}`);
          if (this.children.get(id) === child) {
            this.onExit(child, null, null);
            resolve();
          }
        });
      }),
    };
    this.children.set(id, child);
  }

  private onExit(child: Child, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.children.get(child.id) === child) this.children.delete(child.id);
    const entry = this.status.nodes[child.id];
    if (!entry) return;
    entry.pid = null;
    entry.healthy = false;
    entry.lastExit = { code, signal, at: new Date().toISOString() };
    if (child.stopping || this.stopping) {
      entry.state = 'stopped';
    } else if (existsSync(this.paths.hold(child.id))) {
      entry.state = 'held';
    } else {
      // Crashed: restart with exponential backoff; a node that had run for a while starts over at the minimum.
      const ranFor = Date.now() - child.startedAt;
      const k = ranFor >= STABLE_MS ? 0 : (this.failures.get(child.id) ?? 0) + 1;
      this.failures.set(child.id, k);
      const delay = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** Math.max(0, k - 1));
      this.nextStart.set(child.id, Date.now() + delay);
      entry.restarts += 1;
      entry.state = 'backoff';
      this.logLine(`${child.id}: exited (code ${code}, signal ${signal}); restart in ${delay} ms`);
      setTimeout(() => void this.reconcile(), delay + 10).unref();
    }
    void this.writeStatus();
  }

  private async stopChild(child: Child, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    child.stopping = true;
    const pid = child.proc.pid;
    if (pid !== undefined) {
      // A paused (SIGSTOP) process cannot act on SIGTERM: continue it first.
      try {
        process.kill(pid, 'SIGCONT');
      } catch {}
      try {
        process.kill(pid, signal);
      } catch {}
    }
    const timeout = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), STOP_GRACE_MS).unref());
    if ((await Promise.race([child.exited.then(() => 'exited' as const), timeout])) === 'timeout') {
      try {
        if (pid !== undefined) process.kill(pid, 'SIGKILL');
      } catch {}
      await child.exited;
    }
    this.children.delete(child.id);
  }

  private async checkHealth(wanted: LocalState['nodes']): Promise<void> {
    await Promise.all(
      [...this.children.values()].map(async (child) => {
        const want = wanted[child.id];
        const entry = this.status.nodes[child.id];
        if (!want || !entry || entry.paused) {
          if (entry) entry.healthy = false;
          return;
        }
        const probe = await probeHealth(want.host, want.controlPort, 800);
        entry.healthy = probe.ok;
        if (probe.ok && entry.state === 'starting') entry.state = 'running';
        if (probe.ok && Date.now() - child.startedAt >= STABLE_MS) this.failures.set(child.id, 0);
      }),
    );
  }

  private async writeStatus(): Promise<void> {
    this.status.updatedAt = new Date().toISOString();
    await writeJsonAtomic(this.paths.supervisorStatus, this.status).catch(() => {});
  }

  private async shutdown(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    if (this.timer) clearInterval(this.timer);
    if (this.reconciling) await this.reconciling.catch(() => {});
    await Promise.all([...this.children.values()].map((c) => this.stopChild(c)));
    for (const e of Object.values(this.status.nodes)) {
      e.pid = null;
      e.state = 'stopped';
      e.healthy = false;
    }
    if (existsSync(this.stackDir)) await this.writeStatus();
  }

  private logLine(msg: string): void {
    process.stderr.write(`${JSON.stringify({ at: new Date().toISOString(), msg })}\n`);
  }
}

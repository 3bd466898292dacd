/**
 * The reliability suite drives the built CLI (`node bin/run.js ...`, compiled with
 * `npx tsc -p tsconfig.build.json`) in a temp directory, as a user would.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { bin, type CliRun, repo, runCli } from '../support/cli.js';

export { bin, repo, tempDir } from '../support/cli.js';

export type Run = CliRun;

export function tc(
  args: string[],
  cwd: string,
  opts: { timeoutMs?: number; env?: Record<string, string> } = {},
): Promise<Run> {
  // The deadline is for a hung CLI only: generous, since a start alone can take seconds on a loaded machine.
  return runCli(args, cwd, { env: opts.env, timeoutMs: opts.timeoutMs ?? 180_000 });
}

/** Run and parse the one JSON document a --json command prints; fail with the output when it is not JSON. */
export async function tcJson<T = Record<string, unknown>>(
  args: string[],
  cwd: string,
  timeoutMs?: number,
): Promise<T & { _code: number | null }> {
  const r = await tc([...args, '--json'], cwd, timeoutMs === undefined ? {} : { timeoutMs });
  try {
    return { ...(JSON.parse(r.stdout) as T), _code: r.code };
  } catch {
    throw new Error(`tclouds ${args.join(' ')} --json: exit ${r.code}, not JSON:\n${r.stdout}\n${r.stderr}`);
  }
}

/** Which parts of the product are built (other areas land in parallel): the suite skips what is missing. */
export function built(): { deploy: boolean; nodeHost: boolean; smr: boolean; storage: boolean; status: boolean } {
  const has = (p: string) => existsSync(path.join(repo, 'dist', 'commands', p));
  return {
    deploy: has('deploy.js') && has('destroy.js'),
    nodeHost: has('node/run.js'),
    smr: has('smr/invoke.js') && existsSync(path.join(repo, 'dist', 'components', 'smr', 'node.js')),
    storage: has('storage/put.js') && has('storage/get.js'),
    status: has('status.js') && has('chaos/kill.js'),
  };
}

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  const stat = (() => {
    try {
      return readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      return '';
    }
  })();
  return !stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Poll `fn` until it returns a truthy value or the time is up (then return the last value). */
export async function until<T>(fn: () => Promise<T>, timeoutMs: number, everyMs = 300): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = await fn();
  while (!last && Date.now() < deadline) {
    await sleep(everyMs);
    last = await fn();
  }
  return last;
}

/**
 * `tclouds status --watch --json` running for the whole suite, as a user would keep it open: one JSON
 * document per line, the latest kept. Cheaper than a CLI start per look on a loaded 2-core machine.
 */
export class StatusWatch<T> {
  private child: ChildProcess;
  private buf = '';
  private docs: T[] = [];
  private waiters: (() => void)[] = [];

  constructor(cwd: string, intervalMs = 300) {
    this.child = spawn(process.execPath, [bin, 'status', '--watch', '--json', '--interval', String(intervalMs)], {
      cwd,
      env: { ...process.env, NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    this.child.stdout!.on('data', (d: Buffer) => {
      this.buf += d.toString();
      const lines = this.buf.split('\n');
      this.buf = lines.pop() ?? '';
      for (const l of lines) {
        if (!l.startsWith('{')) continue;
        this.docs.push(JSON.parse(l) as T);
      }
      for (const w of this.waiters.splice(0)) w();
    });
  }

  /** The first report that arrives after now and satisfies `pred` (null on timeout). */
  async next(pred: (doc: T) => boolean = () => true, timeoutMs = 60_000): Promise<T | null> {
    const deadline = Date.now() + timeoutMs;
    let seen = this.docs.length;
    while (Date.now() < deadline) {
      await new Promise<void>((r) => {
        const t = setTimeout(r, Math.max(1, deadline - Date.now()));
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
      // Only documents produced after the call: an older one may predate the fault just injected.
      for (; seen < this.docs.length; seen++) if (pred(this.docs[seen]!)) return this.docs[seen]!;
      seen = this.docs.length;
    }
    return null;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const closed = new Promise((r) => this.child.on('close', r));
    this.child.kill('SIGINT');
    await closed;
  }
}
